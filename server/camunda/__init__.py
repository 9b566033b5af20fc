"""A Camunda 7 compatible REST subset under /engine-rest, so that Camunda Modeler's Deploy and
Start buttons and existing Camunda 7 clients and external-task workers work against Process Café.

Its shapes are Camunda's, not ours, so it is plain Flask and not part of the OpenAPI document.
"""

from __future__ import annotations

from flask import Flask

from . import (  # noqa: F401 - routes
    definitions,
    deployments,
    external_tasks,
    history,
    instances,
    messages,
    task_variables,
    tasks,
)
from .blueprint import bp


def register_camunda_api(app: Flask) -> None:
    app.register_blueprint(bp)

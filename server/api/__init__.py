"""The native REST API under /api/v1, documented by OpenAPI generated from these modules."""

from __future__ import annotations

from flask import Flask, request, send_from_directory
from flask_smorest import Api
from swagger_ui_bundle import swagger_ui_path

from ..auth import current_principal
from . import (
    atom,
    channels,
    definitions,
    deployments,
    feed,
    instances,
    media,
    messages,
    reviews,
    signals,
    tasks,
    users,
)
from .limits import register_input_limits
from .openapi import CafeApi


def register_api(app: Flask) -> Api:
    app.config.setdefault("API_TITLE", "Process Café")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("OPENAPI_SWAGGER_UI_PATH", "/docs")
    # Swagger UI's files come from a Python package and are served here, so the page works offline.
    app.config.setdefault("OPENAPI_SWAGGER_UI_URL", "/api/v1/docs/assets/")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "Deploy BPMN diagrams, run processes, work on tasks."},
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "basic": {"type": "http", "scheme": "basic"},
        }},
        "security": [{"bearer": []}, {"basic": []}],
    })
    api = CafeApi(app)
    register_authentication(app)
    register_input_limits(app)
    app.add_url_rule("/api/v1/docs/assets/<path:filename>", "swagger_ui_assets",
                     lambda filename: send_from_directory(swagger_ui_path, filename))
    for module in (deployments, definitions, instances, tasks, messages, signals, users, channels, reviews, media):
        api.register_blueprint(module.blp)
    for module in (feed, atom):
        api.register_blueprint(module.blp)
    return api


# Every native API view needs a caller. They call `current_principal()` themselves, but only after
# flask-smorest has parsed and validated their arguments, so an anonymous request was answered 422
# (naming required fields) or 404 (a malformed id) instead of 401, and its body was parsed for
# nobody. The caller is authenticated first, before any input check. Not here: the OpenAPI
# document and Swagger UI (public), and the Atom feeds (public items for anonymous readers).
AUTHENTICATED_BLUEPRINTS = frozenset(module.blp.name for module in (
    deployments, definitions, instances, tasks, messages, signals, users, channels, reviews, media, feed))


def register_authentication(app: Flask) -> None:
    @app.before_request
    def authenticate_api_caller() -> None:
        if request.blueprint in AUTHENTICATED_BLUEPRINTS and request.method != "OPTIONS":
            current_principal()

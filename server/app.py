"""The application factory."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, jsonify

from . import api
from .camunda import register_camunda_api
from .config import Settings
from .context import Cafe
from .db import Database
from .jobs.runner import JobRunner
from .problems import register_problem_handlers
from .services import service_calls
from .services.specs import SpecCache
from .services.store import EngineSettings, InstanceStore
from .social import outbox
from .social.credentials import Vault
from .social.media_store import FileMediaStore
from .web import register_web

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app. The schema must be current (`processcafe db upgrade`); the job runner is
    started by whoever serves the app, not here, so tests and WSGI imports stay side-effect free."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        JSON_SORT_KEYS=False,
    )
    db = Database(settings.database_url)
    store = InstanceStore(SpecCache(), EngineSettings(settings.script_time_limit, settings.step_budget))
    vault = Vault.from_environment(Path(settings.data_dir))
    media = FileMediaStore(Path(settings.data_dir) / "media")
    runner = JobRunner(db, store, vault, media, public_url=settings.public_url,
                       poll_interval=settings.job_poll_interval)
    service_calls.register_dispatcher("social.", outbox.dispatch)
    app.extensions["processcafe"] = Cafe(settings=settings, db=db, store=store, runner=runner, vault=vault,
                                         media=media)
    api.register_api(app)
    register_problem_handlers(app)  # after flask-smorest, which installs its own JSON handler
    register_web(app)  # the web task list at /; its blueprint answers its own errors as HTML pages
    register_camunda_api(app)  # /engine-rest: Camunda Modeler and Camunda 7 clients

    @app.get("/health")
    def health():
        return jsonify(status="ok")

    return app

"""The application factory."""

from __future__ import annotations

import logging

from flask import Flask, jsonify

from . import api
from .config import Settings
from .context import Cafe
from .db import Database
from .jobs.runner import JobRunner
from .problems import register_problem_handlers
from .services.specs import SpecCache
from .services.store import EngineSettings, InstanceStore

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
    runner = JobRunner(db, store, poll_interval=settings.job_poll_interval)
    app.extensions["processcafe"] = Cafe(settings=settings, db=db, store=store, runner=runner)
    api.register_api(app)
    register_problem_handlers(app)  # after flask-smorest, which installs its own JSON handler

    @app.get("/health")
    def health():
        return jsonify(status="ok")

    return app

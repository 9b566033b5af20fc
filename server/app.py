"""The application factory."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from . import api, metrics
from .camunda import register_camunda_api
from .config import Settings
from .context import Cafe
from .db import Database
from .health import register_health
from .jobs.runner import JobRunner
from .problems import register_problem_handlers
from .services import service_calls
from .services.specs import SpecCache
from .services.store import EngineSettings, InstanceStore
from .social import channels, outbox, reviews
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
    media = FileMediaStore(Path(settings.data_dir) / "media", max_pixels=settings.max_image_pixels)
    runner = JobRunner(db, store, vault, media, public_url=settings.public_url,
                       poll_interval=settings.job_poll_interval)
    service_calls.register_dispatcher("social.", outbox.dispatch)
    service_calls.register_closer("social.", reviews.close)  # a step left without its decision
    channels.use_outbound_proxy(settings.outbound_proxy)  # connectors' HTTP: through it, or direct
    if settings.job_runner == "celery":  # scaled out: jobs written by a commit go to the broker after it
        from .jobs.celery_app import CelerySender
        from .jobs.dispatch import Dispatcher

        if not settings.broker_url:
            raise ValueError("PROCESSCAFE_JOB_RUNNER=celery needs BROKER_URL (redis://... or amqp://...)")
        Dispatcher(db, CelerySender(settings.broker_url, settings.celery_queue)).install()
    app.extensions["processcafe"] = Cafe(settings=settings, db=db, store=store, runner=runner, vault=vault,
                                         media=media)
    metrics.instrument(app)  # first, so that its timer starts before any other request hook
    register_health(app)  # /health, /health/live, /health/ready: no authentication, no secrets
    api.register_api(app)
    register_problem_handlers(app)  # after flask-smorest, which installs its own JSON handler
    register_web(app)  # the web task list at /; its blueprint answers its own errors as HTML pages
    register_camunda_api(app)  # /engine-rest: Camunda Modeler and Camunda 7 clients
    return app

"""Health endpoints for load balancers and orchestrators; no authentication, no secrets.

- `/health/live`: the process answers (restart it when it does not);
- `/health/ready`: it can do useful work: the database answers and its schema is the one this code
  expects (take it out of rotation when not: 503). In the scaled-out mode the broker is checked
  too, but an unreachable broker only makes the server "degraded" (still 200): every server shares
  the broker, so failing readiness would take them all out of rotation at once, while they keep
  serving and the workers' sweepers send the jobs that waited once it is back.
Answers name the checks and say ok or what is wrong in general words; never a URL, a host or an
error text (those can carry credentials).
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from sqlalchemy import text

from .jobs.broker import transport_options
from .migrations import is_current

log = logging.getLogger(__name__)


def database_check(db) -> str:
    try:
        with db.read() as session:
            session.execute(text("SELECT 1"))
    except Exception as err:
        log.warning("readiness: database unreachable: %s", type(err).__name__)
        return "unreachable"
    try:
        return "ok" if is_current(db.engine) else "schema is not at the newest migration"
    except Exception as err:
        log.warning("readiness: schema check failed: %s", type(err).__name__)
        return "schema unknown"


def broker_check(broker_url: str, timeout: float = 2.0) -> str:
    from kombu import Connection  # only the scaled-out mode needs kombu at all

    try:
        with Connection(broker_url, connect_timeout=timeout,
                        transport_options=transport_options(broker_url, timeout)) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as err:
        log.warning("readiness: broker unreachable: %s", type(err).__name__)
        return "unreachable"
    return "ok"


def register_health(app: Flask) -> None:
    cafe = app.extensions["processcafe"]

    @app.get("/health")
    def health():
        return jsonify(status="ok")

    @app.get("/health/live")
    def live():
        return jsonify(status="ok")

    @app.get("/health/ready")
    def ready():
        checks = {"database": database_check(cafe.db)}
        if cafe.settings.job_runner == "celery":
            checks["broker"] = broker_check(cafe.settings.broker_url) if cafe.settings.broker_url else "not configured"
        ready = checks["database"] == "ok"
        status = "not ready" if not ready else "ready" if all(v == "ok" for v in checks.values()) else "degraded"
        return jsonify(status=status, checks=checks), 200 if ready else 503

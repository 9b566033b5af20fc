"""Health and metrics endpoints: unauthenticated, useful, and saying nothing sensitive."""

from __future__ import annotations

import dataclasses

from server.app import create_app
from tests.api.engine_support import diagram


def test_liveness_and_readiness_need_no_login(anonymous_api):
    assert anonymous_api.get("/health/live").status_code == 200
    response = anonymous_api.get("/health/ready")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"database": "ok"}}


def test_degraded_without_a_broker_and_without_saying_where_it_is(settings):
    """An unreachable broker is shared by every server: readiness stays 200 ("degraded"), or a load
    balancer would take them all out of rotation while they still serve."""
    secret = "s3cret-broker-password"
    app = create_app(dataclasses.replace(settings, job_runner="celery",
                                         broker_url=f"redis://cafe:{secret}@127.0.0.1:1/0"))
    try:
        response = app.test_client().get("/health/ready")
        assert response.status_code == 200 and response.get_json()["status"] == "degraded"
        assert response.get_json()["checks"] == {"database": "ok", "broker": "unreachable"}
        assert secret not in response.get_data(as_text=True) and "127.0.0.1" not in response.get_data(as_text=True)
    finally:
        app.extensions["processcafe"].db.dispose()


def test_metrics_count_requests_and_read_state_from_the_database(admin_api, anonymous_api):
    admin_api.deploy(diagram("timer_catch.bpmn"))
    admin_api.start("timer_catch")
    admin_api.get("/api/v1/process-instances")
    response = anonymous_api.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    text = response.get_data(as_text=True)
    assert 'processcafe_http_requests_total{method="GET",route="/api/v1/process-instances",status="200"}' in text
    assert "processcafe_http_request_duration_seconds_bucket" in text
    assert 'processcafe_instances{status="waiting"} 1.0' in text
    assert 'processcafe_jobs_scheduled{kind="timer"} 1.0' in text
    assert "processcafe_open_tasks 0.0" in text
    # no credentials: route labels are patterns (a route may be named .../password: the metrics
    # are per process, so they carry the routes of earlier tests too)
    assert "Bearer" not in text and admin_api.token not in text and "password-admin" not in text
    assert 'route="/api/v1/users/<username>/password"' in text or "/password" not in text


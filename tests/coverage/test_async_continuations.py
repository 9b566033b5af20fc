"""Camunda's asyncBefore/asyncAfter through the native API with the coverage diagram: each request
that reaches a boundary answers with the instance running, and the job runner goes on."""

from __future__ import annotations

from tests.coverage.support import complete, completed_elements, deploy, get_instance, history, run_jobs, start


def test_async_continuations_camunda(admin_api, cafe):
    deploy(admin_api, "async_continuations_camunda.bpmn")
    lines = [{"price": 2.5, "qty": 2}, {"price": 1.0, "qty": 3}]
    instance = start(admin_api, "cov_async_camunda", {"lines": lines})
    assert instance["status"] == "running" and instance["tasks"] == []
    assert completed_elements(admin_api, instance["id"]) == []

    run_jobs(cafe)
    waiting = get_instance(admin_api, instance["id"])
    assert waiting["status"] == "waiting" and waiting["variables"]["quote"] == 8.0
    completed = complete(admin_api, instance["id"], "approve")
    assert completed["status"] == "running" and "booked" not in completed["variables"]

    run_jobs(cafe)
    done = get_instance(admin_api, instance["id"])
    assert done["status"] == "completed" and done["variables"]["booked"] == 8.0
    assert completed_elements(admin_api, instance["id"]) == ["start", "quote", "book", "end"]
    assert [e["bpmn_id"] for e in history(admin_api, instance["id"]) if e["kind"] == "task_completed"] == ["approve"]

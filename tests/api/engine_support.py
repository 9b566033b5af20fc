"""Helpers shared by the API tests of the engine capabilities (timers, messages, incidents, tasks)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import run_jobs

ENGINE_DIAGRAMS = Path(__file__).resolve().parent.parent / "diagrams" / "engine"


def diagram(name: str) -> Path:
    return ENGINE_DIAGRAMS / name


def get_instance(api, instance_id: str) -> dict:
    response = api.get(f"/api/v1/process-instances/{instance_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def history(api, instance_id: str) -> list[dict]:
    response = api.get(f"/api/v1/process-instances/{instance_id}/history?limit=5000")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def kinds(api, instance_id: str) -> list[str]:
    return [event["kind"] for event in history(api, instance_id)]


def completed_elements(api, instance_id: str) -> list[str]:
    return [e["bpmn_id"] for e in history(api, instance_id) if e["kind"] == "activity_completed"]


def poll(cafe, api, instance_id: str, until, timeout: float = 5.0, interval: float = 0.05) -> dict:
    """Run due jobs until `until(instance)` holds (or fail after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        run_jobs(cafe)
        instance = get_instance(api, instance_id)
        if until(instance):
            return instance
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {timeout} s; instance: {instance}")
        time.sleep(interval)


def problem(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.get_json())
    assert response.headers["Content-Type"] == "application/problem+json"
    return response.get_json()

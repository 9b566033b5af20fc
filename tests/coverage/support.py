"""Helpers for the coverage tests: deploy diagrams from tests/diagrams/coverage, act on instances
through the native API, and read back what happened."""

from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import select

from server.models import Job
from tests.api.engine_support import completed_elements, get_instance, history, kinds, poll, problem
from tests.conftest import run_jobs

COVERAGE = Path(__file__).resolve().parent.parent / "diagrams" / "coverage"

__all__ = ["COVERAGE", "completed_elements", "complete", "deploy", "get_instance", "history", "kinds",
           "open_task", "poll", "problem", "run_jobs", "send", "start", "timer_jobs"]


def deploy(api, *names: str, expect: int = 201, **form) -> dict:
    """Deploy coverage diagrams in one upload; `form` adds form fields (e.g. run_non_executable)."""
    data = {"file": [(io.BytesIO((COVERAGE / n).read_bytes()), n) for n in names], **form}
    response = api.post("/api/v1/deployments", data=data, content_type="multipart/form-data")
    assert response.status_code in (expect, 200) if expect == 201 else response.status_code == expect, \
        (response.status_code, response.get_json())
    return response.get_json()


def start(api, key: str, variables: dict | None = None, **extra) -> dict:
    return api.start(key, variables, **extra)


def open_task(api, instance_id: str, bpmn_id: str) -> dict:
    tasks = [t for t in get_instance(api, instance_id)["tasks"] if t["bpmn_id"] == bpmn_id]
    assert tasks, f"no open task {bpmn_id!r} in {get_instance(api, instance_id)}"
    return tasks[0]


def complete(api, instance_id: str, bpmn_id: str, variables: dict | None = None) -> dict:
    """Complete the open task `bpmn_id` of an instance; returns the instance afterwards."""
    task = open_task(api, instance_id, bpmn_id)
    response = api.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": variables or {}})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def send(api, name: str, **body) -> dict:
    response = api.post("/api/v1/messages", json={"name": name, **body})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def timer_jobs(cafe, instance_id: str | None = None, kind: str = "timer") -> list[Job]:
    with cafe.db.read() as session:
        query = select(Job).where(Job.kind == kind)
        if instance_id is not None:
            query = query.where(Job.instance_id == instance_id)
        return list(session.scalars(query.order_by(Job.id)))

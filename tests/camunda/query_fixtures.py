"""Instances for the query tests of /engine-rest: four running instances whose tasks, variables,
tenants and definitions differ, so that each filter matches some of them and not the others."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

DATE = "%Y-%m-%dT%H:%M:%S.%f%z"


def camunda_date(moment: datetime) -> str:
    """Camunda's query date format, milliseconds and offset, `+` escaped for a query string."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}%2B0000"


@dataclass
class World:
    ids: dict[str, str]  # label (i1..i4) -> instance id
    labels: dict[str, str]  # instance id -> label
    deployments: dict[str, str]  # "plain", "tenant", "review" -> deployment id
    between: str  # a query date after i1 started and before i2 did
    deployed_between: str  # after order_review was deployed, before task_mix was


def _deploy(camunda, name: str, **kwargs) -> dict:
    response = camunda.deploy(name, **kwargs)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _start(camunda, definition_id: str, business_key: str, variables: dict) -> str:
    typed = {name: {"value": value} for name, value in variables.items()}
    response = camunda.post(f"/process-definition/{definition_id}/start",
                            json={"businessKey": business_key, "variables": typed})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["id"]


@pytest.fixture
def world(camunda) -> World:
    """i1..i3: task_mix (Approve invoice for `accounting`, priority 80, due `due`; Check stock for
    rita; Ship order assigned to `shipper`, priority 20), i3 of tenant t1; i4: order_review (Review
    order for `reviewers`)."""
    review = _deploy(camunda, "order_review.bpmn")
    time.sleep(0.01)
    deployed_between = camunda_date(datetime.now(timezone.utc))
    time.sleep(0.01)
    plain = _deploy(camunda, "task_mix.bpmn")
    tenant = _deploy(camunda, "task_mix.bpmn", tenant="t1")
    plain_def = next(iter(plain["deployedProcessDefinitions"].values()))["id"]
    tenant_def = next(iter(tenant["deployedProcessDefinitions"].values()))["id"]
    review_def = next(iter(review["deployedProcessDefinitions"].values()))["id"]
    ids = {"i1": _start(camunda, plain_def, "order-1", {
        "orderId": "A-1", "amount": 10, "due": "2026-03-01T10:00:00.000+0000", "shipper": "otto"})}
    time.sleep(0.01)
    between = camunda_date(datetime.now(timezone.utc))
    time.sleep(0.01)
    ids["i2"] = _start(camunda, plain_def, "order-2", {
        "orderId": "B-2", "amount": 50, "due": "2026-01-15T10:00:00.000+0000", "shipper": "anna"})
    ids["i3"] = _start(camunda, tenant_def, "ORDER-3", {
        "orderId": "C-3", "amount": 30, "due": "2026-06-01T10:00:00.000+0000", "shipper": "zed"})
    ids["i4"] = _start(camunda, review_def, "review-4", {"orderId": "D-4"})
    return World(ids, {v: k for k, v in ids.items()},
                 {"plain": plain["id"], "tenant": tenant["id"], "review": review["id"]}, between, deployed_between)

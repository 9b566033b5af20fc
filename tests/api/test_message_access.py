"""Messages and signals from plain users reach only the instances they may see (server/access.py):
before, any signed-in user could set variables on any waiting instance by naming its message."""

from __future__ import annotations

import base64
from pathlib import Path

from tests.api.engine_support import diagram, get_instance, problem

CAMUNDA = Path(__file__).resolve().parent.parent / "diagrams" / "camunda"


def test_a_users_message_reaches_only_instances_they_may_see(admin_api, user_api):
    admin_api.deploy(diagram("message_catch_camunda.bpmn"))
    ann, mallory = user_api("ann"), user_api("mallory")
    own = ann.start("payment_camunda", {"customer": "ann"}, business_key="order-1")

    body = problem(mallory.post("/api/v1/messages", json={
        "name": "payment_received", "business_key": "order-1", "variables": {"amount": 1}}), 404)
    assert "no instance is waiting" in body["detail"]
    problem(mallory.post("/api/v1/messages", json={"name": "payment_received", "instance_id": own["id"]}), 404)
    assert get_instance(admin_api, own["id"])["status"] == "waiting"
    assert "amount" not in get_instance(admin_api, own["id"])["variables"]

    [item] = ann.post("/api/v1/messages", json={"name": "payment_received", "business_key": "order-1",
                                                "variables": {"amount": 150}}).get_json()["items"]
    assert item == {"instance_id": own["id"], "started": False, "status": "completed"}


def test_a_users_message_still_starts_processes(admin_api, user_api):
    admin_api.deploy(diagram("message_start.bpmn"))
    response = user_api("ann").post("/api/v1/messages", json={"name": "order_placed", "variables": {"quantity": 1}})
    assert response.status_code == 200, response.get_json()
    [item] = response.get_json()["items"]
    assert item["started"] is True
    assert get_instance(admin_api, item["instance_id"])["started_by"] == "ann"


def test_a_users_signal_reaches_only_instances_they_may_see(admin_api, user_api):
    admin_api.deploy(CAMUNDA / "signals.bpmn")
    ann, mallory = user_api("ann"), user_api("mallory")
    anns = ann.start("wait_for_alert")
    admins = admin_api.start("wait_for_alert")

    items = mallory.post("/api/v1/signals", json={"name": "AlertRaised", "variables": {"x": 1}}).get_json()["items"]
    assert [i["started"] for i in items] == [True]  # only the signal start event
    assert get_instance(admin_api, anns["id"])["status"] == "waiting"
    assert get_instance(admin_api, admins["id"])["status"] == "waiting"

    items = ann.post("/api/v1/signals", json={"name": "AlertRaised"}).get_json()["items"]
    assert {i["instance_id"] for i in items if not i["started"]} == {anns["id"]}
    assert get_instance(admin_api, admins["id"])["status"] == "waiting"

    items = admin_api.post("/api/v1/signals", json={"name": "AlertRaised"}).get_json()["items"]
    assert {i["instance_id"] for i in items if not i["started"]} == {admins["id"]}


def test_the_camunda_api_applies_the_same_rule(admin_api, user_api, cafe):
    admin_api.deploy(diagram("message_catch_camunda.bpmn"))
    ann = user_api("ann")
    own = ann.start("payment_camunda", {"customer": "ann"}, business_key="order-2")
    user_api("mallory")
    mallory = {"Authorization": "Basic " + base64.b64encode(b"mallory:password-mallory").decode()}
    response = admin_api.client.post("/engine-rest/message", headers=mallory, json={
        "messageName": "payment_received", "businessKey": "order-2"})
    assert response.status_code == 400  # Camunda's MismatchingMessageCorrelationException
    assert get_instance(admin_api, own["id"])["status"] == "waiting"

"""The event rows of the "Supported BPMN elements" table in README.md, through the native API:
timer, message, signal, error, escalation, conditional and terminate events, message flows
between pools, and the refusal of compensation."""

from __future__ import annotations

import io
import time

from tests.coverage.support import (
    COVERAGE,
    complete,
    completed_elements,
    deploy,
    get_instance,
    history,
    poll,
    problem,
    run_jobs,
    send,
    start,
    timer_jobs,
)

# -- events ---------------------------------------------------------------------------------------

def test_timer_start_event(admin_api, cafe):
    deploy(admin_api, "timer_start.bpmn")
    [job] = timer_jobs(cafe, kind="timer_start")
    assert job.instance_id is None and job.payload["bpmn_id"] == "every_second"

    def started():
        return admin_api.get("/api/v1/process-instances?definition_key=cov_timer_start").get_json()["items"]

    deadline = time.monotonic() + 6
    while len(started()) < 2 and time.monotonic() < deadline:
        run_jobs(cafe)
        time.sleep(0.1)
    instances = started()
    assert len(instances) == 2  # R2: two firings, then the cycle is over
    assert all(i["status"] == "waiting" for i in instances)
    assert timer_jobs(cafe, kind="timer_start") == []
    first = get_instance(admin_api, instances[0]["id"])
    assert [t["bpmn_id"] for t in first["tasks"]] == ["look"]

    deploy(admin_api, "timer_start_date.bpmn")
    jobs = {j.payload["bpmn_id"]: j for j in timer_jobs(cafe, kind="timer_start")}
    assert set(jobs) == {"in_an_hour", "at_new_year"}
    assert jobs["at_new_year"].due_at.year == 2001
    run_jobs(cafe)  # the date is long past: it fires now, once; the duration waits an hour
    [instance] = admin_api.get("/api/v1/process-instances?definition_key=cov_timer_start_date").get_json()["items"]
    assert instance["status"] == "completed"
    assert [j.payload["bpmn_id"] for j in timer_jobs(cafe, kind="timer_start")] == ["in_an_hour"]


def test_timer_start_events_belong_to_the_latest_version(admin_api, cafe):
    deploy(admin_api, "timer_start_date.bpmn")
    run_jobs(cafe)
    [first] = timer_jobs(cafe, kind="timer_start")
    changed = (COVERAGE / "timer_start_date.bpmn").read_bytes().replace(b'"PT1H"', b'"PT2H"')
    response = admin_api.post("/api/v1/deployments", content_type="multipart/form-data",
                              data={"file": [(io.BytesIO(changed), "timer_start_date.bpmn")]})
    assert response.status_code == 201
    new_id = response.get_json()["new_definitions"][0]
    jobs = timer_jobs(cafe, kind="timer_start")
    assert {j.payload["definition_id"] for j in jobs} == {new_id}
    assert first.id not in {j.id for j in jobs}


def test_timer_events(admin_api, cafe):
    deploy(admin_api, "timer_events.bpmn")
    reminded = start(admin_api, "cov_timer_events", {"pause": "PT0.1S", "remind_every": "PT1S",
                                                     "deadline": "PT1H"})
    assert reminded["status"] == "waiting" and reminded["tasks"] == []
    now = poll(cafe, admin_api, reminded["id"], lambda i: completed_elements(admin_api, i["id"]).count("remind") >= 2)
    assert [t["bpmn_id"] for t in now["tasks"]] == ["answer"]  # a reminder does not interrupt
    done = complete(admin_api, reminded["id"], "answer")
    assert done["status"] == "completed" and done["variables"]["outcome"] == "answered"
    assert timer_jobs(cafe, reminded["id"]) == []

    expired = start(admin_api, "cov_timer_events", {"pause": "PT0S", "remind_every": "PT1H", "deadline": "PT0.2S"})
    [task] = expired["tasks"]
    done = poll(cafe, admin_api, expired["id"], lambda i: i["status"] == "completed")
    assert done["variables"]["outcome"] == "expired" and done["tasks"] == []
    assert admin_api.post(f"/api/v1/tasks/{task['id']}/complete", json={}).status_code == 409


def test_message_events(admin_api):
    deploy(admin_api, "message_events.bpmn")
    [started] = send(admin_api, "order_placed", business_key="o-1", variables={"item": "tea"})["items"]
    assert started["started"] is True and started["status"] == "waiting"
    send(admin_api, "order_paid", business_key="o-1", variables={"amount": 12})
    instance = get_instance(admin_api, started["instance_id"])
    assert [t["bpmn_id"] for t in instance["tasks"]] == ["ship"]
    send(admin_api, "order_updated", business_key="o-1", variables={"note": "gift wrap"})
    instance = get_instance(admin_api, started["instance_id"])
    assert "note_update" in completed_elements(admin_api, started["instance_id"])
    assert [t["bpmn_id"] for t in instance["tasks"]] == ["ship"]
    assert complete(admin_api, started["instance_id"], "ship")["variables"]["outcome"] == "shipped"

    [other] = send(admin_api, "order_placed", business_key="o-2")["items"]
    send(admin_api, "order_paid", business_key="o-2")
    send(admin_api, "order_cancelled", business_key="o-2")
    cancelled = get_instance(admin_api, other["instance_id"])
    assert cancelled["status"] == "completed" and cancelled["variables"]["outcome"] == "refunded"
    assert cancelled["tasks"] == []


def test_message_flows_between_pools(admin_api, cafe):
    deployed = deploy(admin_api, "collaboration.bpmn")
    assert sorted(d["key"] for d in deployed["definitions"]) == ["cov_customer", "cov_shop"]
    customer = start(admin_api, "cov_customer", {"item": "tea"}, business_key="cart-9")
    assert customer["status"] == "waiting"
    run_jobs(cafe)  # the send task's message starts the shop process
    [shop] = admin_api.get("/api/v1/process-instances?definition_key=cov_shop").get_json()["items"]
    assert shop["business_key"] == "cart-9"
    shop = get_instance(admin_api, shop["id"])
    [accept] = shop["tasks"]
    assert accept["lane"] == "sales" and accept["candidate_groups"] == ["sales"]
    assert shop["variables"]["item"] == "tea"  # plain diagrams send the sender's data
    complete(admin_api, shop["id"], "accept", {"accepted_by": "ann"})
    [pack] = get_instance(admin_api, shop["id"])["tasks"]
    assert pack["lane"] == "warehouse" and pack["candidate_groups"] == ["warehouse"]
    assert complete(admin_api, shop["id"], "pack")["status"] == "completed"
    run_jobs(cafe)  # the message end event's confirmation reaches the waiting customer
    done = get_instance(admin_api, customer["id"])
    assert done["status"] == "completed" and done["variables"]["accepted_by"] == "ann"
    received = [e for e in history(admin_api, customer["id"]) if e["kind"] == "message_received"]
    assert received[0]["data"]["from_instance"] == shop["id"]


def test_message_throw_with_correlation(admin_api, cafe):
    deploy(admin_api, "message_throw_spiff.bpmn")
    first = start(admin_api, "cov_requester", {"request_id": "r-1", "item": "teapot"})
    second = start(admin_api, "cov_requester", {"request_id": "r-2", "item": "cup"})
    run_jobs(cafe)  # two requests start two quoters; their answers go to the matching requester
    run_jobs(cafe)
    assert get_instance(admin_api, first["id"])["variables"]["quote"] == {"request_id": "r-1", "price": 60}
    assert get_instance(admin_api, second["id"])["variables"]["quote"] == {"request_id": "r-2", "price": 30}


def test_signal_events(admin_api):
    deploy(admin_api, "signal_events.bpmn")
    started = admin_api.post("/api/v1/signals", json={"name": "store_opened"}).get_json()["items"]
    [instance] = [d for d in started if d["started"]]
    instance_id = instance["instance_id"]
    assert [t["bpmn_id"] for t in get_instance(admin_api, instance_id)["tasks"]] == ["serve"]
    admin_api.post("/api/v1/signals", json={"name": "price_change"})
    assert "relabel" in completed_elements(admin_api, instance_id)
    assert [t["bpmn_id"] for t in get_instance(admin_api, instance_id)["tasks"]] == ["serve"]
    assert complete(admin_api, instance_id, "serve")["status"] == "waiting"
    admin_api.post("/api/v1/signals", json={"name": "closing"})
    assert get_instance(admin_api, instance_id)["status"] == "completed"


def test_error_events(admin_api):
    deploy(admin_api, "error_events.bpmn")
    assert start(admin_api, "cov_error_events", {"stock": 3})["variables"]["outcome"] == "shipped"
    assert start(admin_api, "cov_error_events", {"stock": 0})["variables"]["outcome"] == "backordered"


def test_error_propagates_out_of_a_call_activity(admin_api):
    deploy(admin_api, "error_callee.bpmn")
    deploy(admin_api, "error_caller.bpmn")
    paid = start(admin_api, "cov_error_caller")
    assert complete(admin_api, paid["id"], "charge", {"card_ok": True})["variables"]["outcome"] == "paid"
    declined = start(admin_api, "cov_error_caller")
    done = complete(admin_api, declined["id"], "charge", {"card_ok": False})
    assert done["status"] == "completed" and done["variables"]["outcome"] == "declined"


def test_escalation_propagates_out_of_a_call_activity(admin_api):
    deploy(admin_api, "escalation_callee.bpmn")
    deploy(admin_api, "escalation_caller.bpmn")
    late = start(admin_api, "cov_escalation_caller")
    assert sorted(t["bpmn_id"] for t in late["tasks"]) == ["apologise", "deliver"]  # non-interrupting
    complete(admin_api, late["id"], "apologise")
    done = complete(admin_api, late["id"], "deliver", {"done": True})
    assert done["status"] == "completed" and done["variables"]["outcome"] == "delivered"

    given_up = start(admin_api, "cov_escalation_caller")
    complete(admin_api, given_up["id"], "apologise")
    done = complete(admin_api, given_up["id"], "deliver", {"done": False})
    assert done["status"] == "completed" and done["variables"]["outcome"] == "refunded"


def test_conditional_events(admin_api):
    deploy(admin_api, "conditional_events.bpmn")
    instance = start(admin_api, "cov_conditional", {"stock": 0, "cancelled": False})
    assert instance["status"] == "waiting" and instance["tasks"] == []
    patched = admin_api.patch(f"/api/v1/process-instances/{instance['id']}/variables", json={"set": {"stock": 5}})
    assert patched.status_code == 200
    assert [t["bpmn_id"] for t in get_instance(admin_api, instance["id"])["tasks"]] == ["pick"]
    admin_api.patch(f"/api/v1/process-instances/{instance['id']}/variables", json={"set": {"cancelled": True}})
    done = get_instance(admin_api, instance["id"])
    assert done["status"] == "completed" and done["variables"]["outcome"] == "cancelled" and done["tasks"] == []


def test_terminate_end_event(admin_api):
    deploy(admin_api, "terminate_end.bpmn")
    instance = start(admin_api, "cov_terminate")
    assert sorted(t["bpmn_id"] for t in instance["tasks"]) == ["decide", "wait_forever"]
    done = complete(admin_api, instance["id"], "decide")
    assert done["status"] == "completed" and done["tasks"] == []
    assert "end" not in completed_elements(admin_api, instance["id"])


def test_compensation_is_refused_with_its_place(admin_api):
    body = problem(admin_api.post("/api/v1/deployments", content_type="multipart/form-data", data={
        "file": [(io.BytesIO((COVERAGE / "compensation.bpmn").read_bytes()), "compensation.bpmn")]}), 422)
    found = {(p["element_id"], p["line"]) for p in body["problems"]}
    assert {("undo_booking", 9), ("cancel_booking", 10), ("compensate", 11)} <= found
    assert all("compensation" in p["reason"] for p in body["problems"])


UNANSWERED = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:message id="m" name="nobody_listens"/>
  <bpmn:process id="lonely_sender" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:endEvent id="send"><bpmn:messageEventDefinition messageRef="m"/></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="send"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_a_message_nobody_waits_for_is_retried_later(admin_api, cafe):
    admin_api.post("/api/v1/deployments", content_type="multipart/form-data",
                   data={"file": [(io.BytesIO(UNANSWERED), "lonely.bpmn")]})
    sender = start(admin_api, "lonely_sender")
    assert sender["status"] == "completed"
    run_jobs(cafe)
    [job] = timer_jobs(cafe, kind="message_throw")
    assert job.status == "pending" and job.attempts == 1 and "nobody_listens" in job.last_error
    assert job.payload["name"] == "nobody_listens" and job.instance_id == sender["id"]

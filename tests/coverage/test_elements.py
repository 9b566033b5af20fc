"""One test per row of the "Supported BPMN elements" table in README.md, through the native API.

Each test deploys its diagram from tests/diagrams/coverage/ (the README links the same files) and
drives an instance through the element it covers.
"""

from __future__ import annotations

import io
import time

from sqlalchemy import select

from server.models import Job
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
)


def timer_jobs(cafe, instance_id: str | None = None, kind: str = "timer") -> list[Job]:
    with cafe.db.read() as session:
        query = select(Job).where(Job.kind == kind)
        if instance_id is not None:
            query = query.where(Job.instance_id == instance_id)
        return list(session.scalars(query.order_by(Job.id)))


# -- tasks -----------------------------------------------------------------------------------------

def test_user_task(admin_api):
    deploy(admin_api, "user_task_camunda.bpmn")
    instance = start(admin_api, "cov_user_camunda")
    [task] = instance["tasks"]
    assert task["candidate_groups"] == ["approvers"] and task["priority"] == 70
    detail = admin_api.get(f"/api/v1/tasks/{task['id']}").get_json()
    assert [f["id"] for f in detail["form"]["fields"]] == ["approved"]
    done = complete(admin_api, instance["id"], "approve", {"approved": True})
    assert done["status"] == "completed"
    assert completed_elements(admin_api, instance["id"])[-1] == "end_yes"

    deploy(admin_api, "user_task_spiff.bpmn")
    instance = start(admin_api, "cov_user_spiff", {"order_id": 7})
    assert instance["variables"]["asked"] is True
    done = complete(admin_api, instance["id"], "approve", {"approved": False})
    assert done["variables"]["result"] == "rejected"


def test_manual_task(admin_api):
    deploy(admin_api, "manual_task.bpmn")
    instance = start(admin_api, "cov_manual")
    [task] = instance["tasks"]
    assert task["bpmn_id"] == "pack" and task["type"] == "ManualTask"
    assert complete(admin_api, instance["id"], "pack")["status"] == "completed"


def test_script_task(admin_api):
    deploy(admin_api, "script_task.bpmn")
    lines = [{"price": 2.5, "qty": 2}, {"price": 1, "qty": 3}]
    instance = start(admin_api, "cov_script_plain", {"lines": lines})
    assert instance["status"] == "completed"
    assert instance["variables"]["label"] == "2 lines, 8.00 EUR"

    deploy(admin_api, "script_task_spiff.bpmn")
    instance = start(admin_api, "cov_script_spiff", {"increment": 5})
    assert instance["variables"]["value"] == 15 and instance["variables"]["doubled"] == 30


def test_service_task(admin_api, cafe):
    from server.services import service_calls

    deploy(admin_api, "service_task_plain.bpmn")
    assert start(admin_api, "cov_service_plain")["variables"]["notified"] is True

    deploy(admin_api, "service_task_camunda.bpmn")
    instance = start(admin_api, "cov_service_camunda", {"price": 21})
    assert instance["status"] == "waiting"
    with cafe.db.transaction() as session:
        [call] = service_calls.pending_for_instance(session, instance["id"])
        assert call.operator == "external:billing" and call.params == {"amount": 42}
        service_calls.finish(session, cafe.store, call, {"invoice_no": "INV-1"})
    assert get_instance(admin_api, instance["id"])["variables"]["invoice"] == "INV-1"

    cafe.store.services["demo.double"] = lambda task, params: params["value"] * 2
    deploy(admin_api, "service_task_spiff.bpmn")
    assert start(admin_api, "cov_service_spiff", {"number": 20})["variables"]["doubled"] == 42


def test_business_rule_task(admin_api):
    deploy(admin_api, "business_rule_camunda.bpmn", "discount.dmn")
    instance = start(admin_api, "cov_rule_camunda", {"category": "gold", "amount": 150})
    assert instance["status"] == "completed" and instance["variables"]["discount"] == 15
    deploy(admin_api, "business_rule_spiff.bpmn", "discount.dmn")
    instance = start(admin_api, "cov_rule_spiff", {"category": "gold", "amount": 50})
    assert instance["variables"]["discount"] == 5
    instance = start(admin_api, "cov_rule_spiff", {"category": "silver", "amount": 500})
    assert instance["variables"]["discount"] == 0


# -- gateways --------------------------------------------------------------------------------------

def test_exclusive_gateway(admin_api):
    deploy(admin_api, "exclusive_gateway_camunda.bpmn")
    sizes = {amount: start(admin_api, "cov_xor_camunda", {"amount": amount})["variables"]["size"]
             for amount in (5000, 500, 5)}
    assert sizes == {5000: "big", 500: "medium", 5: "small"}
    deploy(admin_api, "exclusive_gateway_plain.bpmn")
    assert start(admin_api, "cov_xor_plain", {"amount": 5000, "urgent": False})["variables"]["size"] == "big"
    assert start(admin_api, "cov_xor_plain", {"amount": 5000, "urgent": True})["variables"]["size"] == "small"


def test_inclusive_gateway(admin_api):
    deploy(admin_api, "inclusive_gateway.bpmn")
    both = start(admin_api, "cov_inclusive", {"wanted": ["ship", "invoice"]})
    assert sorted(t["bpmn_id"] for t in both["tasks"]) == ["invoice", "ship"]
    assert complete(admin_api, both["id"], "ship")["status"] == "waiting"
    assert complete(admin_api, both["id"], "invoice")["status"] == "completed"
    one = start(admin_api, "cov_inclusive", {"wanted": ["invoice"]})
    assert [t["bpmn_id"] for t in one["tasks"]] == ["invoice"]
    assert complete(admin_api, one["id"], "invoice")["status"] == "completed"
    none = start(admin_api, "cov_inclusive", {"wanted": []})
    assert none["status"] == "completed" and none["variables"]["noted"] is True


def test_parallel_gateway(admin_api):
    deploy(admin_api, "parallel_gateway.bpmn")
    instance = start(admin_api, "cov_parallel")
    assert sorted(t["bpmn_id"] for t in instance["tasks"]) == ["label", "pack"]
    assert instance["variables"]["logged"] is True
    assert complete(admin_api, instance["id"], "label", {"printed": True})["status"] == "waiting"
    done = complete(admin_api, instance["id"], "pack", {"packed": True})
    assert done["status"] == "completed"
    assert done["variables"]["printed"] is True and done["variables"]["packed"] is True


def test_event_based_gateway(admin_api, cafe):
    deploy(admin_api, "event_based_gateway.bpmn")
    by_message = start(admin_api, "cov_event_gateway", {"patience": "PT1H"})
    assert by_message["status"] == "waiting"
    send(admin_api, "answer", instance_id=by_message["id"], variables={"answer": 42})
    done = get_instance(admin_api, by_message["id"])
    assert done["status"] == "completed" and done["variables"]["outcome"] == "answered"
    assert not timer_jobs(cafe, by_message["id"])

    by_timer = start(admin_api, "cov_event_gateway", {"patience": "PT0.2S"})
    done = poll(cafe, admin_api, by_timer["id"], lambda i: i["status"] == "completed")
    assert done["variables"]["outcome"] == "timed out"
    assert admin_api.post("/api/v1/messages", json={"name": "answer", "instance_id": by_timer["id"]}
                          ).status_code == 404


# -- sub-processes and call activities ----------------------------------------------------------------

def test_embedded_subprocess(admin_api):
    deploy(admin_api, "embedded_subprocess.bpmn")
    instance = start(admin_api, "cov_embedded", {"order": ["a", "b", "c"]})
    assert [t["bpmn_id"] for t in instance["tasks"]] == ["check"]
    done = complete(admin_api, instance["id"], "check", {"checker": "ann"})
    assert done["status"] == "completed" and done["variables"]["summary"] == "3 items, checked by ann"
    assert "prepare" in completed_elements(admin_api, instance["id"])


def test_event_subprocess(admin_api):
    deploy(admin_api, "event_subprocess.bpmn")
    instance = start(admin_api, "cov_event_subprocess")
    send(admin_api, "note", instance_id=instance["id"], variables={"note": "first"})
    send(admin_api, "note", instance_id=instance["id"], variables={"note": "second"})
    now = get_instance(admin_api, instance["id"])
    assert now["status"] == "waiting" and [t["bpmn_id"] for t in now["tasks"]] == ["review"]
    assert completed_elements(admin_api, instance["id"]).count("record") == 2
    done = complete(admin_api, instance["id"], "review", {"withdraw": True})
    assert done["status"] == "completed" and done["variables"]["cleaned_up"] is True
    assert "end" not in completed_elements(admin_api, instance["id"])

    aborted = start(admin_api, "cov_event_subprocess")
    [task] = aborted["tasks"]
    send(admin_api, "abort", instance_id=aborted["id"], variables={"reason": "customer left"})
    done = get_instance(admin_api, aborted["id"])
    assert done["status"] == "completed" and done["tasks"] == []
    assert done["variables"]["aborted"] == "customer left"
    assert admin_api.post(f"/api/v1/tasks/{task['id']}/complete", json={}).status_code == 409


def test_call_activity_across_deployments(admin_api):
    deploy(admin_api, "call_callee_camunda.bpmn")
    caller = deploy(admin_api, "call_caller_camunda.bpmn")
    assert [d["key"] for d in caller["definitions"]] == ["cov_caller_camunda"]
    instance = start(admin_api, "cov_caller_camunda", {"amount": 7, "base_qty": 2, "private": "x"})
    [task] = instance["tasks"]
    assert task["bpmn_id"] == "confirm" and task["candidate_groups"] == ["pricing"]
    done = complete(admin_api, instance["id"], "confirm")
    assert done["status"] == "completed"
    variables = done["variables"]
    assert variables["order_total"] == 21 and variables["label"] == "Total: 21"
    assert "scratch" not in variables and "total" not in variables and variables["private"] == "x"

    deploy(admin_api, "call_callee_spiff.bpmn")
    deploy(admin_api, "call_caller_spiff.bpmn")
    done = start(admin_api, "cov_caller_spiff", {"price": 10, "note": "kept"})
    assert done["status"] == "completed"
    assert done["variables"]["invoice"] == "12.00" and done["variables"]["note"] == "kept"
    assert "scratch" not in done["variables"]


def test_call_activity_needs_its_called_process(admin_api):
    response = admin_api.post("/api/v1/deployments", content_type="multipart/form-data", data={
        "file": [(io.BytesIO((COVERAGE / "call_caller_spiff.bpmn").read_bytes()), "call_caller_spiff.bpmn")]})
    body = problem(response, 422)
    assert "cov_callee_spiff" in body["detail"]


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
    reminded = start(admin_api, "cov_timer_events", {"pause": "PT0.1S", "remind_every": "PT0.3S",
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


# -- loops, data, participants ----------------------------------------------------------------------

def test_multi_instance_camunda(admin_api):
    deploy(admin_api, "multi_instance_camunda.bpmn")
    instance = start(admin_api, "cov_mi_camunda", {"reviewers": ["ann", "bob", "cy"], "lines": ["a", "b"],
                                                   "vetoed": False})
    assert sorted(t["assignee"] for t in instance["tasks"]) == ["ann", "bob", "cy"]
    by_assignee = {t["assignee"]: t["id"] for t in instance["tasks"]}
    admin_api.post(f"/api/v1/tasks/{by_assignee['ann']}/complete", json={"variables": {"vetoed": False}})
    done = admin_api.post(f"/api/v1/tasks/{by_assignee['bob']}/complete",
                          json={"variables": {"vetoed": True}}).get_json()
    assert done["status"] == "completed" and done["tasks"] == []  # the veto ends the review early
    assert done["variables"]["lines"] == ["A", "B"]


def test_multi_instance_spiff(admin_api):
    deploy(admin_api, "multi_instance_spiff.bpmn")
    instance = start(admin_api, "cov_mi_spiff", {"numbers": [1, 2, 3], "enough": False})
    assert instance["variables"]["squares"] == [1, 4, 9]
    votes = [t["id"] for t in instance["tasks"]]
    assert len(votes) == 3
    admin_api.post(f"/api/v1/tasks/{votes[0]}/complete", json={"variables": {"enough": False}})
    done = admin_api.post(f"/api/v1/tasks/{votes[1]}/complete", json={"variables": {"enough": True}}).get_json()
    assert done["status"] == "completed"


def test_standard_loop(admin_api):
    deploy(admin_api, "standard_loop.bpmn")
    instance = start(admin_api, "cov_loop", {"attempts": 0, "target": 3})
    assert instance["variables"]["attempts"] == 3
    assert complete(admin_api, instance["id"], "polish", {"done": False})["status"] == "waiting"
    assert complete(admin_api, instance["id"], "polish", {"done": True})["status"] == "completed"
    polished = [e for e in history(admin_api, instance["id"]) if e["kind"] == "task_completed"]
    assert [e["bpmn_id"] for e in polished] == ["polish", "polish"]


def test_data_objects(admin_api):
    deploy(admin_api, "data_objects.bpmn")
    instance = start(admin_api, "cov_data_objects", {"amount": 4})
    assert "invoice" not in instance["variables"]  # a data object lives beside the task data
    done = complete(admin_api, instance["id"], "check")
    assert done["variables"]["summary"] == "INV-7: 8"


def test_link_events(admin_api):
    deploy(admin_api, "link_events.bpmn")
    instance = start(admin_api, "cov_links")
    assert [t["bpmn_id"] for t in instance["tasks"]] == ["pack"] and instance["variables"]["ordered"] is True
    assert complete(admin_api, instance["id"], "pack")["status"] == "completed"


def test_implicit_parallel_split(admin_api):
    deploy(admin_api, "implicit_split.bpmn")
    instance = start(admin_api, "cov_implicit_split")
    assert sorted(t["bpmn_id"] for t in instance["tasks"]) == ["bill", "pack"]
    complete(admin_api, instance["id"], "pack")
    assert complete(admin_api, instance["id"], "bill")["status"] == "completed"

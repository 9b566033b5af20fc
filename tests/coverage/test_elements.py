"""One test per row of the "Supported BPMN elements" table in README.md, through the native API.

Each test deploys its diagram from tests/diagrams/coverage/ (the README links the same files) and
drives an instance through the element it covers.
"""

from __future__ import annotations

import io

from tests.coverage.support import (
    COVERAGE,
    complete,
    completed_elements,
    deploy,
    get_instance,
    history,
    poll,
    problem,
    send,
    start,
    timer_jobs,
)

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

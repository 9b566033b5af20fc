"""Diagrams that deployed and then failed once an instance ran (found by deploying mutated
diagrams on PostgreSQL): each is now refused at deploy time with its element and line, or its
instance gets an incident while the server serves on. Before, each was a 500, a hang or an
instance nothing could complete or delete."""

from __future__ import annotations

import pytest

from tests.api.engine_support import problem
from tests.api.test_script_escapes import deploy, script_diagram
from tests.conftest import DIAGRAMS

HOSTILE = DIAGRAMS / "hostile"


@pytest.mark.parametrize(("name", "element", "reason"), [
    ("long_id.bpmn", "a" * 80 + "...", "the id is longer than 255 characters"),
    ("task_name_long.bpmn", "u", "the name is longer than 255 characters"),
    ("assignee_long.bpmn", "u", "camunda:assignee names someone longer than 120 characters"),
    ("priority_huge.bpmn", "u", "camunda:priority '99999999999999999999' is not a whole number"),
    ("self_loop.bpmn", None, "back to itself"),
    ("gateway_no_outgoing.bpmn", "g", "the gateway has no outgoing sequence flow"),
    ("signal_empty.bpmn", None, "has no name to wait for"),
    ("timedate_pt.bpmn", "b", "the timer value 'PT' is not an ISO 8601"),
    ("process_id_space.bpmn", "order approval", "is not an XML name"),
])
def test_diagrams_that_would_fail_when_run_are_refused_at_deploy(admin_api, name, element, reason):
    body = problem(admin_api.deploy(HOSTILE / name, expect=None), 422)
    assert any(reason in p["reason"] and (element is None or p["element_id"] == element) and p["line"]
               for p in body["problems"]), body["problems"]
    assert admin_api.get("/api/v1/process-definitions").get_json()["items"] == []


def test_a_loop_cardinality_of_a_billion_is_an_incident_not_a_full_memory(admin_api):
    admin_api.deploy(HOSTILE / "mi_cardinality.bpmn")
    started = admin_api.start("mi_cardinality", {"n": 10**9})
    assert started["status"] == "error"
    [incident] = started["incidents"]
    assert incident["bpmn_id"] == "u" and "from 0 to 10000" in incident["message"]
    assert admin_api.start("mi_cardinality", {"n": 3})["status"] == "waiting"


def test_a_multi_instance_collection_beyond_the_cap_is_an_incident(admin_api):
    admin_api.deploy(HOSTILE / "mi_collection.bpmn")
    started = admin_api.start("mi_collection", {"items": ["x"] * 10_001})
    assert started["status"] == "error"
    [incident] = started["incidents"]
    assert incident["bpmn_id"] == "u" and "holds 10001 items" in incident["message"], incident
    assert admin_api.get(f"/api/v1/tasks?instance_id={started['id']}").get_json()["items"] == []
    ok = admin_api.start("mi_collection", {"items": ["ann", "bob", "cy"]})
    assert ok["status"] == "waiting" and sorted(t["assignee"] for t in ok["tasks"]) == ["ann", "bob", "cy"]


def test_a_sequential_collection_a_script_built_is_capped_too(admin_api):
    admin_api.deploy(HOSTILE / "mi_collection.bpmn")
    started = admin_api.start("mi_collection_built", {"n": 20_000})
    assert started["status"] == "error"
    assert started["incidents"][0]["bpmn_id"] == "each", started["incidents"]
    done = admin_api.start("mi_collection_built", {"n": 5})
    assert done["status"] == "completed" and done["variables"]["lines"] == [1, 2, 3, 4, 5], done["variables"]


def test_a_process_calling_itself_stops_at_the_call_depth_limit(admin_api):
    admin_api.deploy(HOSTILE / "self_call.bpmn")
    started = admin_api.start("f12_rec_self")
    assert started["status"] == "error"
    assert "nest deeper than 25 levels" in started["incidents"][0]["message"]
    deleted = admin_api.delete(f"/api/v1/process-instances/{started['id']}")
    assert deleted.status_code == 200, deleted.get_json()


def test_a_timer_cycle_expression_of_the_wrong_type_is_an_incident_on_completion(admin_api):
    admin_api.deploy(HOSTILE / "timecycle_int.bpmn")
    started = admin_api.start("f05_cycle_int", {"x": 1})
    assert started["status"] == "error" and "1 is a number" in started["incidents"][0]["message"]
    [task] = started["tasks"]  # the other branch's user task is still open
    done = admin_api.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {}})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "error" and done.get_json()["incidents"]


def test_a_decision_output_json_cannot_hold_is_an_incident(admin_api):
    admin_api.deploy(HOSTILE / "dmn_nan.bpmn", HOSTILE / "dmn_nan.dmn")
    started = admin_api.start("dmn_nan", {"category": "gold", "amount": 150})
    assert started["status"] == "error"
    [incident] = started["incidents"]
    assert incident["bpmn_id"] == "decide_discount" and "JSON" in incident["message"]


@pytest.mark.parametrize(("script", "reason"), [
    ("x = 'a\\ud800'", "U+D800"),
    ("x = 'a' * (9 * 2**20)", "bytes of JSON"),
])
def test_script_values_text_columns_or_reads_cannot_bear_are_incidents(admin_api, script, reason):
    """A lone surrogate broke the instance's web page; a 79 MB list made every read take seconds."""
    assert deploy(admin_api, "odd_value", script_diagram("odd_value", script)).status_code == 201
    started = admin_api.start("odd_value")
    assert started["status"] == "error" and reason in started["incidents"][0]["message"]


def test_migrating_an_instance_failed_inside_a_call_activity_is_refused_not_a_500(admin_api, tmp_path):
    """Started without the variable its call activity maps in, the instance is in error with a
    call activity that never started its process; SpiffWorkflow cannot re-predict that state."""
    coverage = DIAGRAMS / "coverage"
    admin_api.deploy(coverage / "call_callee_camunda.bpmn")
    admin_api.deploy(coverage / "call_caller_camunda.bpmn")
    started = admin_api.start("cov_caller_camunda", {"amount": 10})
    assert started["status"] == "error"
    renamed = tmp_path / "call_caller_camunda.bpmn"
    renamed.write_text((coverage / "call_caller_camunda.bpmn").read_text().replace(
        'name="Order (caller)"', 'name="Order (caller) v2"'))
    [definition] = admin_api.deploy(renamed).get_json()["definitions"]
    response = admin_api.post(f"/api/v1/process-instances/{started['id']}/migrate",
                              json={"definition_id": definition["id"]})
    assert response.status_code == 409 and "cannot be moved" in response.get_json()["detail"], response.get_json()

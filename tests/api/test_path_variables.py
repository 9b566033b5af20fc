"""Variables set on a path that ends on its own (a non-interrupting boundary event's or event
sub-process's) are the instance's variables, as in Camunda: shown while the main task is open, and
still there when the instance completes. SpiffWorkflow keeps data per path and dropped them.

Conflict rule (bpmn/catch_events.keep_finished_path): a variable an open task holds shows the open
task's value; among ended paths the last to end wins; the completed instance ends with the same.
"""

from __future__ import annotations

import io

from tests.api.engine_support import get_instance
from tests.api.test_message_events import send

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs_{key}"
                  targetNamespace="http://processcafe.test/paths">
  <bpmn:message id="m_poke" name="{key}_poke"/>
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:scriptTask id="init"><bpmn:script>status = "new"</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="work"/>
    <bpmn:userTask id="check"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="init"/>
    <bpmn:sequenceFlow id="f1" sourceRef="init" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="check"/>
    <bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="end"/>
"""
TAIL = """  </bpmn:process>
</bpmn:definitions>
"""
SCRIPT = 'reminded = True\nstatus = "reminded"'

BOUNDARY = HEAD + f"""    <bpmn:boundaryEvent id="poked" attachedToRef="work" cancelActivity="false">
      <bpmn:messageEventDefinition messageRef="m_poke"/>
    </bpmn:boundaryEvent>
    <bpmn:scriptTask id="remind"><bpmn:script>{SCRIPT}</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end_remind"/>
    <bpmn:sequenceFlow id="r1" sourceRef="poked" targetRef="remind"/>
    <bpmn:sequenceFlow id="r2" sourceRef="remind" targetRef="end_remind"/>
""" + TAIL

EVENT_SUBPROCESS = HEAD + f"""    <bpmn:subProcess id="on_poke" triggeredByEvent="true">
      <bpmn:startEvent id="poked" isInterrupting="false">
        <bpmn:messageEventDefinition messageRef="m_poke"/>
      </bpmn:startEvent>
      <bpmn:scriptTask id="remind"><bpmn:script>{SCRIPT}</bpmn:script></bpmn:scriptTask>
      <bpmn:endEvent id="end_remind"/>
      <bpmn:sequenceFlow id="e1" sourceRef="poked" targetRef="remind"/>
      <bpmn:sequenceFlow id="e2" sourceRef="remind" targetRef="end_remind"/>
    </bpmn:subProcess>
""" + TAIL


def deploy(api, template: str, key: str) -> None:
    xml = template.replace("{key}", key).encode()
    response = api.post("/api/v1/deployments", data={"file": [(io.BytesIO(xml), f"{key}.bpmn")]},
                        content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()


def complete(api, instance_id: str, bpmn_id: str, variables: dict | None = None) -> dict:
    [task] = [t for t in get_instance(api, instance_id)["tasks"] if t["bpmn_id"] == bpmn_id]
    response = api.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": variables or {}})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def poke(api, key: str, business_key: str, variables: dict) -> None:
    response = send(api, f"{key}_poke", business_key=business_key, variables=variables)
    assert response.status_code == 200, response.get_json()


def run_through(api, template: str, key: str) -> None:
    deploy(api, template, key)
    started = api.start(key, business_key=f"{key}-1")
    poke(api, key, f"{key}-1", {"note": "hurry"})

    shown = get_instance(api, started["id"])
    assert [t["bpmn_id"] for t in shown["tasks"]] == ["work"]
    assert shown["variables"]["reminded"] is True  # set on the ended path: missing before
    assert shown["variables"]["note"] == "hurry"
    assert shown["variables"]["status"] == "new"  # the open task holds status: its value is shown

    complete(api, started["id"], "work", {"done": 1})
    shown = get_instance(api, started["id"])
    assert shown["variables"]["reminded"] is True and shown["variables"]["done"] == 1

    finished = complete(api, started["id"], "check")
    assert finished["status"] == "completed"
    assert finished["variables"]["reminded"] is True  # the final variables keep them too
    assert finished["variables"]["status"] == "new" and finished["variables"]["done"] == 1
    assert get_instance(api, started["id"])["variables"] == finished["variables"]


def test_a_non_interrupting_boundary_path_sets_instance_variables(admin_api):
    run_through(admin_api, BOUNDARY, "nib")


def test_a_non_interrupting_event_sub_process_sets_instance_variables(admin_api):
    run_through(admin_api, EVENT_SUBPROCESS, "nesp")


def test_the_later_ended_path_wins_and_a_deleted_variable_stays_deleted(admin_api):
    deploy(admin_api, BOUNDARY, "twice")
    started = admin_api.start("twice", business_key="t-1")
    poke(admin_api, "twice", "t-1", {"note": "first", "only_first": 1})
    poke(admin_api, "twice", "t-1", {"note": "second"})
    variables = get_instance(admin_api, started["id"])["variables"]
    assert variables["note"] == "second" and variables["only_first"] == 1

    url = f"/api/v1/process-instances/{started['id']}/variables"
    response = admin_api.patch(url, json={"set": {}, "delete": ["only_first", "reminded"]})
    assert response.status_code == 200, response.get_json()
    assert "only_first" not in response.get_json() and "reminded" not in response.get_json()
    finished = complete(admin_api, started["id"], "work")
    finished = complete(admin_api, started["id"], "check")
    assert "only_first" not in finished["variables"] and "reminded" not in finished["variables"]

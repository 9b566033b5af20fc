"""Camunda's transaction boundaries (`camunda:asyncBefore`, `camunda:asyncAfter`) through the API:
the request that reaches a boundary answers with the instance still running, the job runner runs
on from there, each activity runs once and shows once in the history, and a failure beyond the
boundary is an incident of the job, not of the request."""

from __future__ import annotations

import io

from tests.api.engine_support import completed_elements, get_instance, history
from tests.conftest import run_jobs

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_{key}"
                  targetNamespace="http://processcafe.test/async">
  <bpmn:process id="{key}" isExecutable="true">
"""
TAIL = """  </bpmn:process>
</bpmn:definitions>
"""


def camunda_diagram(key: str, body: str) -> bytes:
    return (HEAD.format(key=key) + body + TAIL).encode()


def script(element_id: str, code: str, attributes: str = "") -> str:
    return (f'<bpmn:scriptTask id="{element_id}" scriptFormat="python" {attributes}>'
            f"<bpmn:script>{code}</bpmn:script></bpmn:scriptTask>\n")


def flows(*pairs: tuple[str, str]) -> str:
    return "".join(f'<bpmn:sequenceFlow id="f{n}" sourceRef="{a}" targetRef="{b}"/>\n'
                   for n, (a, b) in enumerate(pairs))


def deploy(api, key: str, body: str) -> None:
    content = camunda_diagram(key, body)
    response = api.post("/api/v1/deployments", data={"file": [(io.BytesIO(content), f"{key}.bpmn")]},
                        content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()


def run_one_round(cafe) -> int:
    return cafe.runner.run_due()


SLOW_STEP = (script("prepare", "prepared = True")
             + script("slow", "slow_runs = slow_runs + 1", 'camunda:asyncBefore="true"')
             + '<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>\n'
             + flows(("start", "prepare"), ("prepare", "slow"), ("slow", "end")))


def test_the_start_request_stops_before_an_async_before_script_and_the_job_runs_it(admin_api, cafe):
    deploy(admin_api, "async_slow", SLOW_STEP)
    started = admin_api.start("async_slow", {"slow_runs": 0})
    assert started["status"] == "running"
    assert started["variables"]["prepared"] is True  # what comes before the boundary ran
    assert started["variables"]["slow_runs"] == 0
    assert completed_elements(admin_api, started["id"]) == ["start", "prepare"]

    run_jobs(cafe)
    done = get_instance(admin_api, started["id"])
    assert done["status"] == "completed"
    assert done["variables"]["slow_runs"] == 1
    assert completed_elements(admin_api, started["id"]) == ["start", "prepare", "slow", "end"]


def test_async_before_false_is_no_boundary(admin_api):
    deploy(admin_api, "async_false", SLOW_STEP.replace('camunda:asyncBefore="true"', 'camunda:asyncBefore="false"'))
    assert admin_api.start("async_false", {"slow_runs": 0})["status"] == "completed"


def test_a_start_event_with_async_before_makes_the_start_request_return_at_once(admin_api, cafe):
    body = ('<bpmn:startEvent id="start" camunda:asyncBefore="true"/><bpmn:endEvent id="end"/>\n'
            + script("work", "worked = True") + flows(("start", "work"), ("work", "end")))
    deploy(admin_api, "async_start", body)
    started = admin_api.start("async_start", {"order": 7})
    assert started["status"] == "running"
    assert "worked" not in started["variables"] and started["variables"]["order"] == 7
    assert completed_elements(admin_api, started["id"]) == []

    run_jobs(cafe)
    done = get_instance(admin_api, started["id"])
    assert done["status"] == "completed" and done["variables"]["worked"] is True
    assert completed_elements(admin_api, started["id"]) == ["start", "work", "end"]


def test_async_after_saves_the_activity_before_what_follows_runs(admin_api, cafe):
    body = (script("first", "first_runs = first_runs + 1", 'camunda:asyncAfter="true"')
            + script("second", "second_runs = second_runs + 1")
            + '<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>\n'
            + flows(("start", "first"), ("first", "second"), ("second", "end")))
    deploy(admin_api, "async_after", body)
    started = admin_api.start("async_after", {"first_runs": 0, "second_runs": 0})
    assert started["status"] == "running"
    assert started["variables"]["first_runs"] == 1 and started["variables"]["second_runs"] == 0
    assert completed_elements(admin_api, started["id"]) == ["start", "first"]

    run_jobs(cafe)
    done = get_instance(admin_api, started["id"])
    assert done["status"] == "completed"
    assert (done["variables"]["first_runs"], done["variables"]["second_runs"]) == (1, 1)
    assert completed_elements(admin_api, started["id"]) == ["start", "first", "second", "end"]


def test_completing_a_user_task_with_async_after_returns_before_the_next_step(admin_api, cafe):
    body = ('<bpmn:userTask id="approve" camunda:asyncAfter="true"/>\n'
            + script("book", "booked = booked + 1")
            + '<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>\n'
            + flows(("start", "approve"), ("approve", "book"), ("book", "end")))
    deploy(admin_api, "async_after_user", body)
    started = admin_api.start("async_after_user", {"booked": 0})
    [task] = started["tasks"]
    response = admin_api.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {"ok": True}})
    assert response.status_code == 200, response.get_json()
    answered = get_instance(admin_api, started["id"])
    assert answered["status"] == "running" and answered["variables"]["booked"] == 0
    assert answered["tasks"] == []

    run_jobs(cafe)
    done = get_instance(admin_api, started["id"])
    assert done["status"] == "completed" and done["variables"]["booked"] == 1
    assert completed_elements(admin_api, started["id"]).count("book") == 1


def test_each_of_several_boundaries_in_a_row_takes_one_job_and_runs_once(admin_api, cafe):
    body = (script("a", "runs = runs + ['a']", 'camunda:asyncBefore="true"')
            + script("b", "runs = runs + ['b']", 'camunda:asyncBefore="true" camunda:asyncAfter="true"')
            + script("c", "runs = runs + ['c']", 'camunda:asyncBefore="true"')
            + '<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>\n'
            + flows(("start", "a"), ("a", "b"), ("b", "c"), ("c", "end")))
    deploy(admin_api, "async_chain", body)
    started = admin_api.start("async_chain", {"runs": []})
    seen = [get_instance(admin_api, started["id"])["variables"]["runs"]]
    for _ in range(10):
        if not run_one_round(cafe):
            break
        seen.append(get_instance(admin_api, started["id"])["variables"]["runs"])
    # one job per boundary: before a, before b, after b, before c
    assert seen == [[], ["a"], ["a", "b"], ["a", "b"], ["a", "b", "c"]]
    assert get_instance(admin_api, started["id"])["status"] == "completed"
    assert completed_elements(admin_api, started["id"]) == ["start", "a", "b", "c", "end"]


def test_a_boundary_inside_a_loop_runs_once_per_round(admin_api, cafe):
    body = ('<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>\n'
            + script("count", "rounds = rounds + 1", 'camunda:asyncBefore="true"')
            + '<bpmn:exclusiveGateway id="again" default="f_done"/>\n'
            + flows(("start", "count"), ("count", "again"))
            + '<bpmn:sequenceFlow id="f_loop" sourceRef="again" targetRef="count">'
              "<bpmn:conditionExpression>${rounds &lt; 3}</bpmn:conditionExpression></bpmn:sequenceFlow>\n"
            + '<bpmn:sequenceFlow id="f_done" sourceRef="again" targetRef="end"/>\n')
    deploy(admin_api, "async_loop", body)
    started = admin_api.start("async_loop", {"rounds": 0})
    assert started["status"] == "running" and started["variables"]["rounds"] == 0
    run_jobs(cafe)
    done = get_instance(admin_api, started["id"])
    assert done["status"] == "completed" and done["variables"]["rounds"] == 3
    assert completed_elements(admin_api, started["id"]).count("count") == 3


def test_boundaries_in_parallel_branches_run_each_branch_once(admin_api, cafe):
    body = ('<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>\n'
            '<bpmn:parallelGateway id="fork"/><bpmn:parallelGateway id="join"/>\n'
            + script("left", "left_done = True", 'camunda:asyncBefore="true"')
            + script("right", "right_done = True", 'camunda:asyncBefore="true" camunda:asyncAfter="true"')
            + flows(("start", "fork"), ("fork", "left"), ("fork", "right"), ("left", "join"), ("right", "join"),
                    ("join", "end")))
    deploy(admin_api, "async_parallel", body)
    started = admin_api.start("async_parallel", {})
    assert started["status"] == "running"
    run_jobs(cafe)
    done = get_instance(admin_api, started["id"])
    assert done["status"] == "completed"
    assert done["variables"]["left_done"] is True and done["variables"]["right_done"] is True
    elements = completed_elements(admin_api, started["id"])
    assert elements.count("left") == elements.count("right") == elements.count("end") == 1


def test_only_the_job_passes_a_boundary_not_a_request_on_another_path(admin_api, cafe):
    """A user completing a task on a parallel path must not run the held slow script in their
    request: the continue job runs it."""
    body = ('<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>\n'
            '<bpmn:parallelGateway id="fork"/><bpmn:parallelGateway id="join"/>\n'
            '<bpmn:userTask id="check"/>\n'
            + script("slow", "slow_runs = 1", 'camunda:asyncBefore="true"')
            + flows(("start", "fork"), ("fork", "check"), ("fork", "slow"), ("check", "join"), ("slow", "join"),
                    ("join", "end")))
    deploy(admin_api, "async_other_path", body)
    started = admin_api.start("async_other_path", {})
    assert started["status"] == "running"
    [task] = started["tasks"]
    response = admin_api.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {}})
    assert response.status_code == 200, response.get_json()
    assert "slow" not in completed_elements(admin_api, started["id"])
    assert get_instance(admin_api, started["id"])["status"] == "running"

    run_jobs(cafe)
    done = get_instance(admin_api, started["id"])
    assert done["status"] == "completed" and done["variables"]["slow_runs"] == 1
    assert completed_elements(admin_api, started["id"]).count("slow") == 1


def test_a_script_failing_beyond_the_boundary_is_an_incident_of_the_job(admin_api, cafe):
    body = (script("divide", "share = total / divisor", 'camunda:asyncBefore="true"')
            + '<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>\n'
            + flows(("start", "divide"), ("divide", "end")))
    deploy(admin_api, "async_failing", body)
    started = admin_api.start("async_failing", {"total": 10, "divisor": 0})
    assert started["status"] == "running" and started["incidents"] == []

    run_jobs(cafe)
    failed = get_instance(admin_api, started["id"])
    assert failed["status"] == "error"
    [incident] = failed["incidents"]
    assert incident["bpmn_id"] == "divide" and "division by zero" in incident["message"]

    retried = admin_api.post(f"/api/v1/process-instances/{started['id']}/retry", json={"variables": {"divisor": 4}})
    assert retried.status_code == 200, retried.get_json()
    assert retried.get_json()["status"] == "running"  # the retried activity runs in a job again
    run_jobs(cafe)
    done = get_instance(admin_api, started["id"])
    assert done["status"] == "completed" and done["variables"]["share"] == 2.5
    assert completed_elements(admin_api, started["id"]) == ["start", "divide", "end"]
    kinds = [event["kind"] for event in history(admin_api, started["id"])]
    assert kinds.count("error") == 1 and kinds.count("ended") == 1


def test_a_sequential_multi_instance_script_with_async_before_runs_each_item_once(admin_api, cafe):
    body = ('<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>\n'
            '<bpmn:scriptTask id="shout" scriptFormat="python" camunda:asyncBefore="true">'
            '<bpmn:multiInstanceLoopCharacteristics isSequential="true" camunda:collection="lines" '
            'camunda:elementVariable="line"/><bpmn:script>line = line.upper()</bpmn:script></bpmn:scriptTask>\n'
            + flows(("start", "shout"), ("shout", "end")))
    deploy(admin_api, "async_multi", body)
    started = admin_api.start("async_multi", {"lines": ["a", "b", "c"]})
    assert started["status"] == "running"
    run_jobs(cafe)
    done = get_instance(admin_api, started["id"])
    assert done["status"] == "completed" and done["variables"]["lines"] == ["A", "B", "C"]


def test_gateways_have_boundaries_too(admin_api, cafe):
    """A parallel join with asyncBefore fires once, in the job; an exclusive gateway with asyncAfter
    has chosen its path when the request answers, and the job takes it."""
    body = ('<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>\n'
            '<bpmn:parallelGateway id="fork"/><bpmn:parallelGateway id="join" camunda:asyncBefore="true"/>\n'
            + script("left", "left_done = True") + script("right", "right_done = True")
            + '<bpmn:exclusiveGateway id="choose" camunda:asyncAfter="true" default="f_plain"/>\n'
            + script("express", "shipped = 'express'") + script("plain", "shipped = 'plain'")
            + flows(("start", "fork"), ("fork", "left"), ("fork", "right"), ("left", "join"), ("right", "join"),
                    ("join", "choose"), ("express", "end"), ("plain", "end"))
            + '<bpmn:sequenceFlow id="f_express" sourceRef="choose" targetRef="express">'
              "<bpmn:conditionExpression>${urgent}</bpmn:conditionExpression></bpmn:sequenceFlow>\n"
            + '<bpmn:sequenceFlow id="f_plain" sourceRef="choose" targetRef="plain"/>\n')
    deploy(admin_api, "async_gateways", body)
    started = admin_api.start("async_gateways", {"urgent": True})
    assert started["status"] == "running"
    assert "join" not in completed_elements(admin_api, started["id"])
    assert run_one_round(cafe) == 1  # the join, then the boundary after the gateway
    assert completed_elements(admin_api, started["id"])[-2:] == ["join", "choose"]
    assert "shipped" not in get_instance(admin_api, started["id"])["variables"]

    run_jobs(cafe)
    done = get_instance(admin_api, started["id"])
    assert done["status"] == "completed" and done["variables"]["shipped"] == "express"
    elements = completed_elements(admin_api, started["id"])
    assert elements.count("join") == elements.count("choose") == elements.count("express") == 1
    assert "plain" not in elements

"""Timer values that cannot work: refused at deploy when literal, incidents naming the element when
they come from variables (never a loop that starves the server), and retries that evaluate the
timer again with the corrected data."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from server.models import Job
from tests.api.engine_support import diagram, get_instance, history, kinds, poll, problem

CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'


def _definitions(key: str, body: str, namespace: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" {namespace}
                  id="defs_{key}" targetNamespace="http://processcafe.test/timers">
  <bpmn:process id="{key}" isExecutable="true">
{body}
  </bpmn:process>
</bpmn:definitions>
""".encode()


def boundary_diagram(key: str, tag: str, text: str, namespace: str = CAMUNDA) -> bytes:
    """A user task with a non-interrupting boundary timer `tick` (on line 7)."""
    return _definitions(key, f"""    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="work" name="Work"/>
    <bpmn:boundaryEvent id="tick" attachedToRef="work" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:{tag}>{text}</bpmn:{tag}></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:endEvent id="end_tick"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <bpmn:sequenceFlow id="f3" sourceRef="tick" targetRef="end_tick"/>""", namespace)


def catch_diagram(key: str, tag: str, text: str, namespace: str = CAMUNDA) -> bytes:
    """start -> intermediate timer `wait` -> script -> end."""
    return _definitions(key, f"""    <bpmn:startEvent id="start"/>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:timerEventDefinition><bpmn:{tag}>{text}</bpmn:{tag}></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="after" scriptFormat="python"><bpmn:script>fired = True</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="after"/>
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>""", namespace)


def timer_start_diagram(key: str, text: str, namespace: str = CAMUNDA) -> bytes:
    return _definitions(key, f"""    <bpmn:startEvent id="tstart">
      <bpmn:timerEventDefinition><bpmn:timeCycle>{text}</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:startEvent>
    <bpmn:scriptTask id="mark" scriptFormat="python"><bpmn:script>runs = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="tstart" targetRef="mark"/>
    <bpmn:sequenceFlow id="f2" sourceRef="mark" targetRef="end"/>""", namespace)


def upload(api, name: str, xml: bytes):
    data = {"file": [(io.BytesIO(xml), name)]}
    return api.post("/api/v1/deployments", data=data, content_type="multipart/form-data")


def timer_jobs(cafe, instance_id: str) -> list[Job]:
    with cafe.db.transaction() as session:
        return list(session.scalars(select(Job).where(Job.instance_id == instance_id, Job.kind == "timer")))


def retry(api, instance_id: str, variables: dict):
    response = api.post(f"/api/v1/process-instances/{instance_id}/retry", json={"variables": variables})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# -- deploy time ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("tag", "text", "words"), [
    ("timeCycle", "R/PT0S", "interval"),
    ("timeCycle", "R5/PT0.5S", "interval"),
    ("timeCycle", "R-1/PT1S", "repetition"),
    ("timeCycle", "R/P0D", "interval"),
    ("timeDuration", "", "empty"),
    ("timeDuration", "   ", "empty"),
    ("timeDate", "", "empty"),
    ("timeCycle", " ", "empty"),
    ("timeDuration", "P9000Y", "range"),
    ("timeDuration", "-PT5S", "ISO 8601"),
    ("timeDuration", "R/PT1S", "cycle"),
])
def test_a_literal_timer_that_cannot_work_is_refused_at_deploy(admin_api, tag, text, words):
    """R/PT0S looped for ever (3,000 history rows in 20 s; other requests took 23 s); R-1 is
    SpiffWorkflow's "for ever"; an empty value failed the instance; P9000Y overflowed."""
    body = problem(upload(admin_api, "bad_timer.bpmn", boundary_diagram("bad_timer", tag, text)), 422)
    [found] = body["problems"]
    assert found["element_id"] == "tick" and found["line"] == 7, found
    assert words in found["reason"], found


@pytest.mark.parametrize("namespace", ["", 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'])
@pytest.mark.parametrize(("text", "words"), [("", "empty"), ("  ", "empty"), ('"R/PT0S"', "interval"),
                                             ('"R-1/PT1S"', "repetition")])
def test_python_dialects_refuse_empty_and_literal_bad_cycles(admin_api, namespace, text, words):
    body = problem(upload(admin_api, "bad_timer.bpmn", boundary_diagram("bad_timer", "timeCycle", text, namespace)),
                   422)
    [found] = body["problems"]
    assert found["element_id"] == "tick" and words in found["reason"], found


def test_a_zero_interval_timer_start_cycle_is_refused(admin_api):
    """R/PT0S started 204 instances in 2 s."""
    body = problem(upload(admin_api, "zero.bpmn", timer_start_diagram("zero", "R/PT0S")), 422)
    [found] = body["problems"]
    assert found["element_id"] == "tstart" and "interval" in found["reason"], found


def test_a_padded_literal_is_trimmed(admin_api, cafe):
    assert upload(admin_api, "padded.bpmn", boundary_diagram("padded", "timeDuration", "  PT1H  ")).status_code == 201
    instance = admin_api.start("padded")
    assert instance["status"] == "waiting"
    [job] = timer_jobs(cafe, instance["id"])
    assert timedelta(minutes=59) < job.due_at - datetime.now(timezone.utc) <= timedelta(hours=1)


# -- run time ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("tag", "value", "words"), [
    ("timeDuration", "garbage", "'garbage' is not an ISO 8601 duration"),
    ("timeDuration", "-PT5S", "not an ISO 8601 duration"),
    ("timeDuration", "R/PT1S", "a cycle"),
    ("timeDuration", "", "empty"),
    ("timeDuration", 5, "5 is a number, not an ISO 8601 duration"),
    ("timeDuration", "P9000Y", "range"),
    ("timeDate", "not a date", "'not a date' is not an ISO 8601 date"),
    ("timeDate", "99999-01-01", "not an ISO 8601 date"),
    ("timeCycle", "R/PT0S", "interval"),
    ("timeCycle", "R-1/PT1S", "repetition"),
])
def test_a_bad_timer_value_from_a_variable_is_an_incident_naming_the_element(admin_api, cafe, tag, value, words):
    assert upload(admin_api, "var_timer.bpmn", catch_diagram("var_timer", tag, "${value}")).status_code == 201
    started = admin_api.start("var_timer", {"value": value})
    assert started["status"] == "error", started
    [incident] = started["incidents"]
    assert incident["bpmn_id"] == "wait" and incident["task_id"], incident
    assert incident["message"].startswith("timer 'wait': "), incident
    assert words in incident["message"], incident
    assert "Error" not in incident["message"], incident  # no Python exception names
    assert timer_jobs(cafe, started["id"]) == []
    order = kinds(admin_api, started["id"])
    assert order.index("started") < order.index("error"), order


def test_a_zero_interval_cycle_from_a_variable_on_a_boundary_is_an_incident_not_a_loop(admin_api, cafe):
    assert upload(admin_api, "var_cycle.bpmn", boundary_diagram("var_cycle", "timeCycle", "${cycle}")).status_code \
        == 201
    started = admin_api.start("var_cycle", {"cycle": "R/PT0S"})
    assert started["status"] == "error", started
    [incident] = started["incidents"]
    assert incident["bpmn_id"] == "tick" and "interval" in incident["message"]
    assert len(history(admin_api, started["id"])) < 10


@pytest.mark.parametrize(("xml_name", "key", "variable", "bad"), [
    ("t_datevar", "datevar", "until", "not a date"),
    ("t_durvar_c", "durvar_c", "delay", "garbage"),
])
def test_retrying_a_timer_incident_evaluates_the_timer_again(admin_api, cafe, xml_name, key, variable, bad):
    """The stored state kept the bad value on the timer task: the retry answered `waiting`, with no
    job, for ever."""
    tag = "timeDate" if variable == "until" else "timeDuration"
    assert upload(admin_api, f"{xml_name}.bpmn", catch_diagram(key, tag, f"${{{variable}}}")).status_code == 201
    started = admin_api.start(key, {variable: bad})
    assert started["status"] == "error"
    good = ((datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat() if variable == "until" else "PT1S")
    retried = retry(admin_api, started["id"], {variable: good})
    assert retried["status"] == "waiting", retried
    [job] = timer_jobs(cafe, started["id"])
    assert job.due_at - datetime.now(timezone.utc) <= timedelta(seconds=1.1)
    done = poll(cafe, admin_api, started["id"], lambda i: i["status"] != "waiting")
    assert done["status"] == "completed" and done["variables"]["fired"] is True


def test_retrying_a_spiff_duration_timer_incident_evaluates_the_timer_again(admin_api, cafe):
    namespace = 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
    assert upload(admin_api, "durvar_s.bpmn", catch_diagram("durvar_s", "timeDuration", "delay", namespace)) \
        .status_code == 201
    started = admin_api.start("durvar_s", {"delay": "garbage"})
    assert started["status"] == "error"
    [incident] = started["incidents"]
    assert incident["bpmn_id"] == "wait" and "'garbage'" in incident["message"]
    retried = retry(admin_api, started["id"], {"delay": "PT1H"})
    assert retried["status"] == "waiting"
    [job] = timer_jobs(cafe, started["id"])
    assert timedelta(minutes=59) < job.due_at - datetime.now(timezone.utc) <= timedelta(hours=1)


# -- manual start of a timer-start process, timers due at once ------------------------------------

@pytest.mark.parametrize("cycle", ["R3/PT2S", "R/PT5S"])
def test_starting_a_timer_start_process_by_hand_runs_it_once_at_once(admin_api, cafe, cycle):
    """The instance waited on its own timer start event and then ran its body per cycle (for ever
    with R/PT5S)."""
    assert upload(admin_api, "by_hand.bpmn", timer_start_diagram("by_hand", cycle)).status_code == 201
    started = admin_api.start("by_hand")
    assert started["status"] == "completed", started
    assert timer_jobs(cafe, started["id"]) == []
    completed = [e["bpmn_id"] for e in history(admin_api, started["id"]) if e["kind"] == "activity_completed"]
    assert completed.count("mark") == 1, completed


def test_a_timer_due_at_once_is_in_the_history(admin_api, cafe):
    admin_api.deploy(diagram("timer_date.bpmn"))
    instance = admin_api.start("timer_date", {"when": "2001-01-01T00:00:00+00:00"})
    assert instance["status"] == "completed"
    fired = [e for e in history(admin_api, instance["id"]) if e["kind"] == "timer_fired"]
    assert [e["bpmn_id"] for e in fired] == ["at_date"]
    assert get_instance(admin_api, instance["id"])["status"] == "completed"

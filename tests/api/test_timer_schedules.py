"""Timer cycles keep to their schedule, and an instance starts through one start event.

- A cycle whose start date is past neither catches up in a burst nor fires at deploy time: the
  next firing is the first slot of the schedule from now on, and a cycle with all of its slots
  past fires once, at once (Camunda's rule). R/2020-01-01T00:00:00Z/PT10S on a boundary event ran
  its path about 200 times per step, for ever; as a timer start it started an instance at deploy.
- An intermediate catch event with a cycle fires once (Camunda repeats cycles only on start and
  non-interrupting boundary events); the path after it ran once per repetition.
- R0 (zero repetitions) is refused like the other timer values that cannot work.
- A process with a plain start event and a timer or message start event, started by hand, starts
  at the plain start event only; started by its timer, at the timer start event only.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from server.models import Job, MessageWait, ProcessInstance
from tests.api.engine_support import get_instance, history, kinds, problem
from tests.api.test_timer_values import (
    CAMUNDA,
    _definitions,
    boundary_diagram,
    catch_diagram,
    timer_jobs,
    timer_start_diagram,
    upload,
)
from tests.conftest import run_jobs


def completed(api, instance_id: str) -> list[str]:
    return [e["bpmn_id"] for e in history(api, instance_id) if e["kind"] == "activity_completed"]


def start_jobs(cafe, key: str) -> list[Job]:
    with cafe.db.transaction() as session:
        return [j for j in session.scalars(select(Job).where(Job.kind == "timer_start").order_by(Job.due_at))
                if j.payload.get("key") == key]


def instances_of(cafe, key: str) -> int:
    with cafe.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(ProcessInstance)
                              .where(ProcessInstance.definition_key == key))


# -- cycles with a start date in the past ----------------------------------------------------------

def test_a_boundary_cycle_wholly_in_the_past_fires_once_at_once(admin_api, cafe):
    assert upload(admin_api, "past.bpmn", boundary_diagram("past", "timeCycle",
                                                           "R5/2020-01-01T00:00:00Z/PT10S")).status_code == 201
    started = admin_api.start("past")
    assert started["status"] == "waiting" and [t["bpmn_id"] for t in started["tasks"]] == ["work"]
    assert completed(admin_api, started["id"]).count("end_tick") == 1
    assert timer_jobs(cafe, started["id"]) == []  # its repetitions are spent
    run_jobs(cafe)
    assert completed(admin_api, started["id"]).count("end_tick") == 1


def test_a_boundary_cycle_that_began_in_the_past_waits_for_its_next_slot(admin_api, cafe):
    """R/<past>/PT10S fires on its 10-second grid from now on; no firing for the slots missed."""
    assert upload(admin_api, "grid.bpmn", boundary_diagram("grid", "timeCycle",
                                                           "R/2020-01-01T00:00:00Z/PT10S")).status_code == 201
    before = datetime.now(timezone.utc)
    started = admin_api.start("grid")
    assert started["status"] == "waiting", started["status"]  # "running": hundreds of firings per step
    assert "end_tick" not in completed(admin_api, started["id"])
    [job] = timer_jobs(cafe, started["id"])
    assert before <= job.due_at <= before + timedelta(seconds=10)
    assert job.due_at.second % 10 == 0 and job.due_at.microsecond == 0, job.due_at


def test_a_late_boundary_cycle_fires_once_for_the_slots_it_missed(admin_api, cafe):
    """The server was down for 35 s of an R/PT2S reminder: one firing, then on schedule again."""
    assert upload(admin_api, "late.bpmn", boundary_diagram("late", "timeCycle", "R/PT2S")).status_code == 201
    started = admin_api.start("late")
    [job] = timer_jobs(cafe, started["id"])
    with cafe.db.transaction() as session:  # the instance's timer, too, was due 35 s ago
        instance = session.get(ProcessInstance, started["id"])
        state = instance.state
        due = job.due_at
        shifted = state.replace(due.isoformat(), (due - timedelta(seconds=35)).isoformat())
        assert shifted != state
        session.execute(update(ProcessInstance).where(ProcessInstance.id == started["id"]).values(state=shifted))
        session.execute(update(Job).where(Job.id == job.id).values(due_at=due - timedelta(seconds=35)))
    run_jobs(cafe)
    assert completed(admin_api, started["id"]).count("end_tick") == 1
    assert kinds(admin_api, started["id"]).count("timer_fired") == 1
    now = datetime.now(timezone.utc)
    [following] = timer_jobs(cafe, started["id"])
    assert now - timedelta(seconds=1) <= following.due_at <= now + timedelta(seconds=2)


def test_an_intermediate_cycle_fires_once(admin_api, cafe):
    assert upload(admin_api, "once.bpmn", catch_diagram("once", "timeCycle",
                                                        "R5/2020-01-01T00:00:00Z/PT10S")).status_code == 201
    started = admin_api.start("once")
    assert started["status"] == "completed"
    assert completed(admin_api, started["id"]).count("after") == 1


def test_an_intermediate_cycle_waits_for_its_first_slot_only(admin_api, cafe):
    assert upload(admin_api, "first.bpmn", catch_diagram("first", "timeCycle", "R3/PT1S")).status_code == 201
    started = admin_api.start("first")
    assert started["status"] == "waiting"
    deadline = datetime.now(timezone.utc) + timedelta(seconds=6)
    while get_instance(admin_api, started["id"])["status"] == "waiting" and datetime.now(timezone.utc) < deadline:
        run_jobs(cafe)
    assert get_instance(admin_api, started["id"])["status"] == "completed"
    assert completed(admin_api, started["id"]).count("after") == 1
    assert timer_jobs(cafe, started["id"]) == []


def test_a_timer_start_cycle_that_began_in_the_past_is_due_at_its_next_slot(admin_api, cafe):
    """Not at deploy time (it started an instance at once, then one every interval from then)."""
    before = datetime.now(timezone.utc)
    assert upload(admin_api, "daily.bpmn",
                  timer_start_diagram("daily", "R/2020-01-01T00:00:00Z/PT10S")).status_code == 201
    [job] = start_jobs(cafe, "daily")
    assert before <= job.due_at <= before + timedelta(seconds=10)
    assert job.due_at.second % 10 == 0 and job.due_at.microsecond == 0, job.due_at
    assert job.payload["remaining"] == -1
    run_jobs(cafe)
    if datetime.now(timezone.utc) < job.due_at:
        assert instances_of(cafe, "daily") == 0


def test_a_timer_start_cycle_wholly_in_the_past_starts_one_instance(admin_api, cafe):
    assert upload(admin_api, "gone.bpmn",
                  timer_start_diagram("gone", "R3/2020-01-01T00:00:00Z/PT10S")).status_code == 201
    [job] = start_jobs(cafe, "gone")
    assert job.due_at <= datetime.now(timezone.utc) and job.payload["remaining"] == 0
    run_jobs(cafe)
    assert instances_of(cafe, "gone") == 1
    assert start_jobs(cafe, "gone") == []


def test_a_late_timer_start_keeps_to_its_schedule(admin_api, cafe):
    """After downtime: one instance for the missed firings, the next at the next slot, and the
    missed slots count against the repetitions."""
    assert upload(admin_api, "sched.bpmn", timer_start_diagram("sched", "R100/PT10S")).status_code == 201
    [job] = start_jobs(cafe, "sched")
    due = job.due_at - timedelta(seconds=45)  # about 35 s ago: the slots 25, 15 and 5 s ago passed too
    with cafe.db.transaction() as session:
        session.execute(update(Job).where(Job.id == job.id).values(due_at=due))
    run_jobs(cafe)
    assert instances_of(cafe, "sched") == 1
    [following] = start_jobs(cafe, "sched")
    assert following.due_at == due + timedelta(seconds=40)  # the next slot, about 5 s from now
    assert following.payload["remaining"] == 99 - 1 - 3  # this firing and the three it stood for


# -- zero repetitions ------------------------------------------------------------------------------

@pytest.mark.parametrize(("namespace", "text"), [(CAMUNDA, "R0/PT10S"), (CAMUNDA, "R0/2030-01-01T00:00:00Z/PT1H"),
                                                 ("", '"R0/PT10S"')])
def test_zero_repetitions_are_refused_at_deploy(admin_api, namespace, text):
    body = problem(upload(admin_api, "r0.bpmn", boundary_diagram("r0", "timeCycle", text, namespace)), 422)
    [found] = body["problems"]
    assert found["element_id"] == "tick" and found["line"] == 7, found
    assert "zero repetitions" in found["reason"], found


def test_zero_repetitions_from_a_variable_are_an_incident(admin_api, cafe):
    assert upload(admin_api, "r0v.bpmn", boundary_diagram("r0v", "timeCycle", "${cycle}")).status_code == 201
    started = admin_api.start("r0v", {"cycle": "R0/PT10S"})
    assert started["status"] == "error"
    [incident] = started["incidents"]
    assert incident["bpmn_id"] == "tick" and "zero repetitions" in incident["message"], incident


# -- several start events --------------------------------------------------------------------------

def two_starts(key: str, other: str, first: str = "other", namespace: str = CAMUNDA) -> bytes:
    """A plain start event `start` -> user task `work`, and another start event `other` (whose
    event definition is `other`) -> script `by_other` (sets `other_ran`)."""
    starts = {"plain": '    <bpmn:startEvent id="start"/>',
              "other": f'    <bpmn:startEvent id="other">{other}</bpmn:startEvent>'}
    order = [first, "plain" if first == "other" else "other"]
    return _definitions(key, "\n".join(starts[o] for o in order) + """
    <bpmn:userTask id="work"/>
    <bpmn:scriptTask id="by_other" scriptFormat="python"><bpmn:script>other_ran = True</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"/>
    <bpmn:endEvent id="end_other"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <bpmn:sequenceFlow id="f3" sourceRef="other" targetRef="by_other"/>
    <bpmn:sequenceFlow id="f4" sourceRef="by_other" targetRef="end_other"/>""", namespace).replace(
        b"<bpmn:process", b'<bpmn:message id="m_go" name="go"/>\n  <bpmn:process', 1)


TIMERS = {
    "date in the past": "<bpmn:timeDate>2020-01-01T00:00:00Z</bpmn:timeDate>",
    "cycle begun in the past": "<bpmn:timeCycle>R3/2020-01-01T00:00:00Z/PT1H</bpmn:timeCycle>",
    "cycle": "<bpmn:timeCycle>R/PT1H</bpmn:timeCycle>",
    "duration": "<bpmn:timeDuration>PT1H</bpmn:timeDuration>",
}


@pytest.mark.parametrize("first", ["other", "plain"])
@pytest.mark.parametrize("timer", list(TIMERS))
def test_a_start_by_hand_takes_the_plain_start_event_only(admin_api, cafe, timer, first):
    """The timer start event belongs to the definition's schedule, not to a started instance (a
    date in the past ran the timer's path in the same request; listed first, instead of the
    plain start)."""
    xml = two_starts("both", f"<bpmn:timerEventDefinition>{TIMERS[timer]}</bpmn:timerEventDefinition>", first)
    assert upload(admin_api, "both.bpmn", xml).status_code == 201
    started = admin_api.start("both")
    assert started["status"] == "waiting" and [t["bpmn_id"] for t in started["tasks"]] == ["work"]
    assert "other_ran" not in started["variables"]
    assert completed(admin_api, started["id"]) == ["start"]
    assert timer_jobs(cafe, started["id"]) == []  # nothing of the timer start waits in the instance
    assert len(start_jobs(cafe, "both")) == 1  # the definition's own schedule is still there


def test_a_timer_start_beside_a_plain_one_starts_through_the_timer_only(admin_api, cafe):
    xml = two_starts("by_timer", "<bpmn:timerEventDefinition><bpmn:timeCycle>R/PT1H</bpmn:timeCycle>"
                                 "</bpmn:timerEventDefinition>", "plain")
    assert upload(admin_api, "by_timer.bpmn", xml).status_code == 201
    [job] = start_jobs(cafe, "by_timer")
    with cafe.db.transaction() as session:
        session.execute(update(Job).where(Job.id == job.id).values(due_at=datetime.now(timezone.utc)))
    run_jobs(cafe)
    with cafe.db.transaction() as session:
        [instance] = session.scalars(select(ProcessInstance).where(ProcessInstance.definition_key == "by_timer"))
        instance_id = instance.id
    shown = get_instance(admin_api, instance_id)
    assert shown["status"] == "completed" and shown["variables"] == {"other_ran": True}, shown
    assert "start" not in completed(admin_api, instance_id)


@pytest.mark.parametrize("first", ["other", "plain"])
def test_a_start_by_hand_leaves_no_message_start_waiting(admin_api, cafe, first):
    xml = two_starts("msg_both", '<bpmn:messageEventDefinition messageRef="m_go"/>', first)
    assert upload(admin_api, "msg_both.bpmn", xml).status_code == 201
    started = admin_api.start("msg_both")
    assert started["status"] == "waiting" and [t["bpmn_id"] for t in started["tasks"]] == ["work"]
    with cafe.db.transaction() as session:
        waits = session.scalars(select(MessageWait).where(MessageWait.instance_id == started["id"])).all()
    assert waits == []
    assert completed(admin_api, started["id"]) == ["start"]


@pytest.mark.parametrize("first", ["other", "plain"])
@pytest.mark.parametrize("kind", ["message", "signal"])
def test_a_message_or_signal_starts_through_its_own_start_event_only(admin_api, first, kind):
    """Beside a plain start event, the instance a message or signal starts goes through the start
    event that catches it (it started at the plain start event, or at both)."""
    if kind == "message":
        xml = two_starts("by_event", '<bpmn:messageEventDefinition messageRef="m_go"/>', first)
    else:
        xml = two_starts("by_event", '<bpmn:signalEventDefinition signalRef="s_go"/>', first).replace(
            b"<bpmn:process", b'<bpmn:signal id="s_go" name="go"/>\n  <bpmn:process', 1)
    assert upload(admin_api, "by_event.bpmn", xml).status_code == 201
    response = admin_api.post(f"/api/v1/{kind}s", json={"name": "go", "variables": {"x": 1}})
    assert response.status_code == 200, response.get_json()
    [item] = [i for i in response.get_json()["items"] if i["started"]]
    shown = get_instance(admin_api, item["instance_id"])
    assert shown["status"] == "completed" and shown["variables"] == {"x": 1, "other_ran": True}, shown
    assert "start" not in completed(admin_api, item["instance_id"])

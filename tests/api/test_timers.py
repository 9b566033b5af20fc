"""Timers through the API: catch events, boundary events (interrupting, non-interrupting, cycles),
dates in the past, timer start events; timer jobs carry their due time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from server.models import Job
from tests.api.engine_support import completed_elements, diagram, get_instance, history, kinds, poll
from tests.conftest import run_jobs


def timer_jobs(cafe, instance_id: str) -> list[Job]:
    with cafe.db.transaction() as session:
        return list(session.scalars(select(Job).where(Job.instance_id == instance_id, Job.kind == "timer")
                                    .order_by(Job.id)))


def test_intermediate_timer_fires_after_its_duration(admin_api, cafe):
    admin_api.deploy(diagram("timer_catch.bpmn"))
    before = datetime.now(timezone.utc)
    instance = admin_api.start("timer_catch")
    after = datetime.now(timezone.utc)
    assert instance["status"] == "waiting"
    assert instance["tasks"] == []

    [job] = timer_jobs(cafe, instance["id"])
    assert job.payload["bpmn_id"] == "wait"
    assert before + timedelta(seconds=1) - timedelta(seconds=0.1) <= job.due_at
    assert job.due_at <= after + timedelta(seconds=1) + timedelta(seconds=0.1)

    run_jobs(cafe)  # not due yet: nothing happens
    assert get_instance(admin_api, instance["id"])["status"] == "waiting"

    done = poll(cafe, admin_api, instance["id"], lambda i: i["status"] != "waiting")
    assert done["status"] == "completed"
    assert done["variables"]["fired"] is True
    assert timer_jobs(cafe, instance["id"]) == []
    fired = [e for e in history(admin_api, instance["id"]) if e["kind"] == "timer_fired"]
    assert [e["bpmn_id"] for e in fired] == ["wait"]
    assert completed_elements(admin_api, instance["id"])[-3:] == ["wait", "after", "end"]


def test_interrupting_boundary_timer_cancels_the_task(admin_api, cafe):
    admin_api.deploy(diagram("timer_boundary.bpmn"))
    instance = admin_api.start("timer_boundary", {"timeout": "PT1S"})
    assert instance["status"] == "waiting"
    [task] = instance["tasks"]
    assert task["bpmn_id"] == "work"
    [job] = timer_jobs(cafe, instance["id"])
    assert job.payload["bpmn_id"] == "timeout"

    done = poll(cafe, admin_api, instance["id"], lambda i: i["status"] != "waiting")
    assert done["status"] == "completed"
    assert done["tasks"] == []
    assert done["variables"]["outcome"] == "timed out"
    assert admin_api.get(f"/api/v1/tasks/{task['id']}").status_code == 404
    assert admin_api.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {}}).status_code == 409
    assert "timer_fired" in kinds(admin_api, instance["id"])
    elements = completed_elements(admin_api, instance["id"])
    assert "escalate" in elements and "done" not in elements and "work" not in elements


def test_boundary_timer_is_dropped_when_the_task_completes_in_time(admin_api, cafe):
    admin_api.deploy(diagram("timer_boundary.bpmn"))
    instance = admin_api.start("timer_boundary", {"timeout": "PT1H"})
    [job] = timer_jobs(cafe, instance["id"])
    assert timedelta(minutes=59) < job.due_at - datetime.now(timezone.utc) <= timedelta(hours=1)
    [task] = instance["tasks"]
    done = admin_api.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {}}).get_json()
    assert done["status"] == "completed" and done["variables"]["outcome"] == "done"
    assert timer_jobs(cafe, instance["id"]) == []


def test_non_interrupting_boundary_timer_runs_an_extra_path(admin_api, cafe):
    admin_api.deploy(diagram("timer_reminder.bpmn"))
    instance = admin_api.start("timer_reminder")
    [task] = instance["tasks"]
    [job] = timer_jobs(cafe, instance["id"])
    assert job.payload["bpmn_id"] == "remind"

    poll(cafe, admin_api, instance["id"], lambda i: "send_reminder" in completed_elements(admin_api, i["id"]))
    now = get_instance(admin_api, instance["id"])
    assert now["status"] == "waiting"
    assert [t["id"] for t in now["tasks"]] == [task["id"]]
    assert now["variables"].get("reminded") is True
    assert timer_jobs(cafe, instance["id"]) == []
    assert kinds(admin_api, instance["id"]).count("timer_fired") == 1

    done = admin_api.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {"ok": 1}}).get_json()
    assert done["status"] == "completed"
    assert done["variables"]["ok"] == 1


def test_cycle_timer_on_non_interrupting_boundary_fires_twice(admin_api, cafe):
    admin_api.deploy(diagram("timer_cycle.bpmn"))
    instance = admin_api.start("timer_cycle")
    [task] = instance["tasks"]
    [job] = timer_jobs(cafe, instance["id"])
    assert job.payload["bpmn_id"] == "remind"

    def reminders(i):
        return completed_elements(admin_api, i["id"]).count("send_reminder")

    poll(cafe, admin_api, instance["id"], lambda i: reminders(i) >= 2, timeout=6)
    run_jobs(cafe)
    now = get_instance(admin_api, instance["id"])
    assert reminders(now) == 2
    assert kinds(admin_api, instance["id"]).count("timer_fired") == 2
    assert timer_jobs(cafe, instance["id"]) == []
    assert [t["id"] for t in now["tasks"]] == [task["id"]]

    done = admin_api.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {}}).get_json()
    assert done["status"] == "completed"


def test_interrupting_cycle_timer_fires_once_and_interrupts(admin_api, cafe):
    """R3/PT1S on an interrupting boundary event: the first repetition cancels the task."""
    admin_api.deploy(diagram("timer_cycle_interrupting.bpmn"))
    instance = admin_api.start("timer_cycle_interrupting")
    done = poll(cafe, admin_api, instance["id"], lambda i: i["status"] != "waiting")
    assert done["status"] == "completed" and done["variables"]["ticked"] is True
    run_jobs(cafe)
    assert kinds(admin_api, instance["id"]).count("timer_fired") == 1
    assert completed_elements(admin_api, instance["id"]).count("on_tick") == 1
    assert "work" not in completed_elements(admin_api, instance["id"])
    assert timer_jobs(cafe, instance["id"]) == []


def test_time_date_in_the_past_fires_at_once(admin_api, cafe):
    admin_api.deploy(diagram("timer_date.bpmn"))
    instance = admin_api.start("timer_date", {"when": "2001-01-01T00:00:00+00:00"})
    assert instance["status"] == "completed"
    assert instance["variables"]["fired"] is True
    assert timer_jobs(cafe, instance["id"]) == []


def test_time_date_in_the_future_waits_for_its_date(admin_api, cafe):
    admin_api.deploy(diagram("timer_date.bpmn"))
    when = (datetime.now(timezone.utc) + timedelta(days=2)).replace(microsecond=0)
    instance = admin_api.start("timer_date", {"when": when.isoformat()})
    assert instance["status"] == "waiting"
    [job] = timer_jobs(cafe, instance["id"])
    assert job.due_at == when


def test_timer_start_event_is_deployable(admin_api):
    deployed = admin_api.deploy(diagram("timer_start.bpmn")).get_json()
    assert [d["key"] for d in deployed["definitions"]] == ["timer_start"]
    assert admin_api.get("/api/v1/process-definitions/timer_start").status_code == 200



def test_a_timer_job_that_comes_due_early_waits_for_the_timer(admin_api, cafe):
    """A job set by a server whose clock runs ahead comes due before the engine's timer: it waits
    until then instead of vanishing (the instance then waited for a timer no job would fire)."""
    admin_api.deploy(diagram("timer_catch.bpmn"))
    instance = admin_api.start("timer_catch")
    [job] = timer_jobs(cafe, instance["id"])
    with cafe.db.transaction() as session:
        session.execute(update(Job).where(Job.id == job.id).values(due_at=job.due_at - timedelta(minutes=5)))
    run_jobs(cafe)
    assert get_instance(admin_api, instance["id"])["status"] == "waiting"
    [again] = timer_jobs(cafe, instance["id"])
    assert abs(again.due_at - job.due_at) < timedelta(milliseconds=5), (again.due_at, job.due_at)
    assert "timer_fired" not in kinds(admin_api, instance["id"])
    done = poll(cafe, admin_api, instance["id"], lambda i: i["status"] != "waiting")
    assert done["status"] == "completed" and kinds(admin_api, instance["id"]).count("timer_fired") == 1

"""A timer start cycle that missed firings while the server was down starts one instance, not a
burst (R/PT2S after ~25 s down started 13 instances in the same second; R/PT1M after a day down
would start some 1,440)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update

from server.models import Job, ProcessInstance
from tests.api.test_timer_values import timer_start_diagram, upload
from tests.conftest import run_jobs


def test_an_overdue_cycle_fires_once_and_the_next_is_its_next_slot(admin_api, cafe):
    assert upload(admin_api, "burst.bpmn", timer_start_diagram("burst", "R/PT2S")).status_code == 201
    due = datetime.now(timezone.utc) - timedelta(seconds=25)
    with cafe.db.transaction() as session:
        [job] = session.scalars(select(Job).where(Job.kind == "timer_start")).all()
        session.execute(update(Job).where(Job.id == job.id).values(due_at=due))
    before = datetime.now(timezone.utc)
    run_jobs(cafe)
    now = datetime.now(timezone.utc)
    with cafe.db.transaction() as session:
        started = session.scalar(select(func.count()).select_from(ProcessInstance)
                                 .where(ProcessInstance.definition_key == "burst"))
        [following] = session.scalars(select(Job).where(Job.kind == "timer_start")).all()
    assert started == 1
    # the first slot of the 2 s schedule (due + 2k s) not before the firing, not one interval from then
    assert before <= following.due_at <= now + timedelta(seconds=2)
    assert (following.due_at - due) % timedelta(seconds=2) == timedelta(0)
    assert following.payload["remaining"] == -1


def test_a_cycle_on_time_keeps_its_rhythm(admin_api, cafe):
    """Not overdue: the next firing is one interval after the due time, not after `now` (no drift)."""
    assert upload(admin_api, "rhythm.bpmn", timer_start_diagram("rhythm", "R3/PT1H")).status_code == 201
    with cafe.db.transaction() as session:
        [job] = session.scalars(select(Job).where(Job.kind == "timer_start")).all()
        due = datetime.now(timezone.utc) - timedelta(seconds=1)
        session.execute(update(Job).where(Job.id == job.id).values(due_at=due))
    run_jobs(cafe)
    with cafe.db.transaction() as session:
        [following] = session.scalars(select(Job).where(Job.kind == "timer_start")).all()
    assert following.due_at == due + timedelta(hours=1)
    assert following.payload["remaining"] == 1

"""Handing jobs to the broker (scaled-out mode), with a recording sender instead of Celery: jobs
due now go out after commit, timers go out with an ETA as they come near, and a job the broker
lost goes out again, with growing pauses, but never while a live worker holds it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from server.jobs.dispatch import GRACE, Dispatcher
from server.models import Job
from tests.api.engine_support import diagram


class Recorder:
    def __init__(self):
        self.sent: list[tuple[int, datetime | None]] = []

    def __call__(self, job_id, eta):
        self.sent.append((job_id, eta))

    def take(self):
        sent, self.sent = self.sent, []
        return sent


@pytest.fixture
def sent(cafe):
    recorder = Recorder()
    dispatcher = Dispatcher(cafe.db, recorder)
    dispatcher.install()
    recorder.sweep = dispatcher.sweep
    return recorder


def now():
    return datetime.now(timezone.utc)


def add_job(cafe, **values) -> int:
    with cafe.db.transaction() as session:
        job = Job(kind="continue", **values)
        session.add(job)
        session.flush()
        return job.id


def test_a_job_due_now_is_sent_after_commit_and_not_swept_again(cafe, sent):
    job_id = add_job(cafe)
    assert sent.take() == [(job_id, None)]
    assert sent.sweep() == 0


def test_nothing_is_sent_for_a_transaction_that_rolled_back(cafe, sent):
    with pytest.raises(RuntimeError), cafe.db.transaction() as session:
        session.add(Job(kind="continue"))
        session.flush()
        raise RuntimeError("rolled back")
    assert sent.take() == []


def test_timers_are_sent_with_an_eta_as_they_come_near(admin_api, cafe, sent):
    admin_api.deploy(diagram("timer_catch.bpmn"))
    admin_api.start("timer_catch")  # its timer job is written by a bulk INSERT, due in a second
    with cafe.db.read() as session:
        timer = session.scalars(select(Job).where(Job.kind == "timer")).one()
    far = add_job(cafe, due_at=now() + timedelta(hours=1))
    assert sent.take() == []  # neither is due within the horizon of a commit
    assert sent.sweep() == 1
    [(job_id, eta)] = sent.take()
    assert job_id == timer.id and eta == timer.due_at
    assert sent.sweep() == 0
    with cafe.db.transaction() as session:  # an hour passes
        session.execute(update(Job).where(Job.id == far).values(due_at=now()))
    assert sent.sweep() == 1 and sent.take() == [(far, None)]


def test_a_lost_message_is_sent_again_with_growing_pauses(cafe, sent):
    job_id = add_job(cafe)
    sent.take()

    def age(dispatched: float, due: float, **values) -> None:
        with cafe.db.transaction() as session:
            session.execute(update(Job).where(Job.id == job_id).values(
                dispatched_at=now() - timedelta(seconds=dispatched), due_at=now() - timedelta(seconds=due), **values))

    grace = GRACE.total_seconds()
    age(grace / 2, grace * 2)
    assert sent.sweep() == 0  # sent a moment ago: maybe still queued
    age(grace + 1, grace + 1)
    assert sent.sweep() == 1 and sent.take() == [(job_id, None)]
    assert sent.sweep() == 0
    age(grace * 2, grace * 10)  # waited long before its last send: wait as long again before the next
    assert sent.sweep() == 0
    age(grace * 9, grace * 10)
    assert sent.sweep() == 1
    sent.take()
    age(grace * 2, grace * 3, locked_by="live-worker", locked_until=now() + timedelta(seconds=5))
    assert sent.sweep() == 0  # a live worker runs it
    age(grace * 2, grace * 3, locked_until=now() - timedelta(seconds=1))
    assert sent.sweep() == 1  # its worker died: the claim ran out


def test_a_job_put_back_because_its_instance_was_busy_is_sent_again_with_an_eta(cafe, sent):
    from dataclasses import replace

    from server.jobs import execution

    job_id = add_job(cafe)
    sent.take()
    ctx = replace(cafe.runner.context, worker_id="me")
    assert execution.claim_one(ctx, job_id)
    execution._put_back(ctx, job_id)
    [(again, eta)] = sent.take()
    assert again == job_id and now() < eta <= now() + execution.BUSY_RETRY

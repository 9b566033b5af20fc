"""Job claims and instance leases: one worker at a time, a slow live worker keeps its lease
(heartbeat), a dead worker's lease is taken over once it expires, a job delivered twice runs once."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from server.jobs import execution, leases
from server.models import Job, ProcessInstance
from tests.api.engine_support import diagram
from tests.conftest import DIAGRAMS


@pytest.fixture
def short_leases(monkeypatch):
    monkeypatch.setattr(leases, "JOB_LEASE", timedelta(seconds=0.6))
    monkeypatch.setattr(leases, "INSTANCE_LEASE", timedelta(seconds=0.6))


def timer_instance(admin_api, cafe) -> tuple[str, int]:
    """An instance waiting on a one-second timer, and that timer's job, once it is due."""
    admin_api.deploy(diagram("timer_catch.bpmn"))
    instance = admin_api.start("timer_catch")
    with cafe.db.read() as session:
        job = session.scalars(select(Job).where(Job.instance_id == instance["id"])).one()
    time.sleep(max(0.0, (job.due_at - datetime.now(timezone.utc)).total_seconds()) + 0.05)
    return instance["id"], job.id


def status(cafe, instance_id: str) -> str:
    with cafe.db.read() as session:
        return session.get(ProcessInstance, instance_id).status


def test_a_heartbeat_keeps_a_slow_workers_lease_and_a_dead_ones_expires(admin_api, cafe, short_leases):
    instance_id, job_id = timer_instance(admin_api, cafe)
    assert leases.acquire_instance(cafe.db, instance_id, "worker-a")
    heartbeat = leases.Heartbeat()
    held = leases.Held(cafe.db, "worker-a", job_id, instance_id)
    heartbeat.hold(held)
    time.sleep(1.5)  # more than two leases: only the renewals keep it
    assert not leases.acquire_instance(cafe.db, instance_id, "worker-b"), "a live worker's lease was taken"
    assert not held.lost
    heartbeat.drop(held)  # worker-a dies without releasing
    time.sleep(0.8)
    assert leases.acquire_instance(cafe.db, instance_id, "worker-b"), "a dead worker's lease was not taken over"
    leases.release_instance(cafe.db, instance_id, "worker-b")
    with cafe.db.read() as session:
        assert session.get(ProcessInstance, instance_id).lease_owner is None


def test_a_job_delivered_twice_runs_once(admin_api, cafe):
    instance_id, job_id = timer_instance(admin_api, cafe)
    ctx = cafe.runner.context
    assert execution.claim_and_run(ctx, job_id, "delivery-1") is execution.Outcome.RAN
    assert execution.claim_and_run(ctx, job_id, "delivery-2") is execution.Outcome.NOT_CLAIMED
    assert status(cafe, instance_id) == "completed"


def test_a_job_waits_while_another_live_worker_holds_its_instance(admin_api, cafe):
    instance_id, job_id = timer_instance(admin_api, cafe)
    assert leases.acquire_instance(cafe.db, instance_id, "someone-else")
    ctx = cafe.runner.context
    assert execution.claim_and_run(ctx, job_id, "me") is execution.Outcome.BUSY
    with cafe.db.read() as session:
        job = session.get(Job, job_id)
        assert (job.locked_by, job.attempts, job.status) == (None, 0, "pending")
        assert job.locked_until > datetime.now(timezone.utc)  # put back for a moment
    assert status(cafe, instance_id) == "waiting"

    with cafe.db.transaction() as session:  # the other worker died: its lease ran out
        session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id)
                        .values(lease_expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    time.sleep(execution.BUSY_RETRY.total_seconds())
    assert execution.claim_and_run(ctx, job_id, "me") is execution.Outcome.RAN
    assert status(cafe, instance_id) == "completed"


def test_the_thread_runner_claims_and_runs_through_the_same_code(admin_api, cafe):
    instance_id, _ = timer_instance(admin_api, cafe)
    assert cafe.runner.run_due() == 1
    assert status(cafe, instance_id) == "completed"
    assert cafe.runner.run_due() == 0


def test_leases_left_behind_by_dead_workers_are_forgotten_after_a_while(admin_api, cafe):
    admin_api.deploy(diagram("timer_catch.bpmn"))
    old, recent = admin_api.start("timer_catch")["id"], admin_api.start("timer_catch")["id"]
    with cafe.db.transaction() as session:
        for instance_id, age in ((old, 120), (recent, 1)):
            session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id).values(
                lease_owner="dead-worker", lease_expires_at=datetime.now(timezone.utc) - timedelta(seconds=age)))
    assert leases.clear_left_behind(cafe.db) == 1
    with cafe.db.read() as session:
        assert session.get(ProcessInstance, old).lease_owner is None
        assert session.get(ProcessInstance, recent).lease_owner == "dead-worker"


def test_a_network_job_holds_the_instance_lease_while_it_runs_and_releases_it(admin_api, cafe, monkeypatch):
    from server.jobs import handlers

    admin_api.deploy(DIAGRAMS / "social" / "publish_once.bpmn")
    instance_id = admin_api.start("publish_once", {"channels": "feed", "n": 1})["id"]
    with cafe.db.read() as session:
        job_id = session.scalars(select(Job.id).where(Job.kind == "social.send")).one()
    assert leases.acquire_instance(cafe.db, instance_id, "someone-else")
    assert execution.claim_and_run(cafe.runner.context, job_id, "me") is execution.Outcome.BUSY
    leases.release_instance(cafe.db, instance_id, "someone-else")
    time.sleep(execution.BUSY_RETRY.total_seconds())

    owners = []
    send = handlers.NETWORK_HANDLERS["social.send"]

    def watching(ctx, job):
        with cafe.db.read() as session:
            owners.append(session.get(ProcessInstance, instance_id).lease_owner)
        send(ctx, job)

    monkeypatch.setitem(handlers.NETWORK_HANDLERS, "social.send", watching)
    assert execution.claim_and_run(cafe.runner.context, job_id, "me") is execution.Outcome.RAN
    assert owners == ["me"]
    assert status(cafe, instance_id) == "completed"
    with cafe.db.read() as session:
        assert session.get(ProcessInstance, instance_id).lease_owner is None


def test_a_network_job_releases_its_lease_with_the_commit_that_ends_it(admin_api, cafe):
    """A worker killed right after any of the job's commits must leave no lease behind: no commit
    may have the job done while the lease is still held. Every commit's outcome is read back."""
    admin_api.deploy(DIAGRAMS / "social" / "publish_once.bpmn")
    instance_id = admin_api.start("publish_once", {"channels": "feed", "n": 1})["id"]
    with cafe.db.read() as session:
        job_id = session.scalars(select(Job.id).where(Job.kind == "social.send")).one()
    committed = []

    def read_back(session):
        if session.info.get("reading_back"):
            return
        with cafe.db.read() as reader:
            reader.info["reading_back"] = True
            committed.append((reader.get(Job, job_id) is not None,
                              reader.get(ProcessInstance, instance_id).lease_owner))

    event.listen(Session, "after_commit", read_back)
    try:
        assert execution.claim_and_run(cafe.runner.context, job_id, "me") is execution.Outcome.RAN
    finally:
        event.remove(Session, "after_commit", read_back)
    assert (True, "me") in committed, f"the lease was never held: {committed}"
    assert (False, "me") not in committed, f"a commit left the job done and the lease held: {committed}"
    assert committed[-1] == (False, None)
    assert status(cafe, instance_id) == "completed"


def test_a_failing_step_counts_its_attempts_and_fails_for_good_at_last(cafe, monkeypatch):
    from server.jobs import handlers

    def broken(session, store, job):
        session.delete(job)  # undone with the rest of the step
        raise RuntimeError("the step broke")

    monkeypatch.setitem(handlers.STEP_HANDLERS, "continue", broken)
    with cafe.db.transaction() as session:
        job = Job(kind="continue")
        session.add(job)
        session.flush()
        job_id = job.id
    for attempt in range(1, execution.MAX_ATTEMPTS + 1):
        with cafe.db.transaction() as session:  # due again now, not after the backoff
            session.execute(update(Job).where(Job.id == job_id).values(due_at=datetime.now(timezone.utc)))
        assert execution.claim_and_run(cafe.runner.context, job_id, f"delivery-{attempt}") is execution.Outcome.RAN
        with cafe.db.read() as session:
            job = session.get(Job, job_id)
        assert (job.attempts, job.locked_by, job.last_error) == (attempt, None, "RuntimeError: the step broke")
    assert job.status == "failed"

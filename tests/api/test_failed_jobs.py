"""A job the runner gives up on (it failed on every attempt) puts its instance into `error` with
an incident, and the admin's retry runs it again: before, the instance waited for a job that
would never run, and nothing could be retried."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from sqlalchemy import select, text, update

from server.jobs.execution import MAX_ATTEMPTS
from server.models import Job
from tests.api.engine_support import diagram, get_instance, kinds, problem
from tests.conftest import run_jobs

# the database refuses the timer's history row: a failure in the job's step that no code of ours fakes
REFUSE = {
    "sqlite": ["CREATE TRIGGER refuse_timer BEFORE INSERT ON history_events WHEN NEW.kind = 'timer_fired' "
               "BEGIN SELECT RAISE(ABORT, 'the disk says no'); END"],
    "postgresql": ["CREATE FUNCTION refuse_timer() RETURNS trigger AS $$ BEGIN "
                   "IF NEW.kind = 'timer_fired' THEN RAISE EXCEPTION 'the disk says no'; END IF; RETURN NEW; END "
                   "$$ LANGUAGE plpgsql",
                   "CREATE TRIGGER refuse_timer BEFORE INSERT ON history_events FOR EACH ROW "
                   "EXECUTE FUNCTION refuse_timer()"],
}
ALLOW = {"sqlite": ["DROP TRIGGER refuse_timer"],
         "postgresql": ["DROP TRIGGER refuse_timer ON history_events", "DROP FUNCTION refuse_timer()"]}


def _sql(cafe, statements: dict[str, list[str]]) -> None:
    with cafe.db.transaction() as session:
        for statement in statements[cafe.db.engine.dialect.name]:
            session.execute(text(statement))


def _timer_job(cafe, instance_id: str) -> Job:
    with cafe.db.read() as session:
        return session.scalars(select(Job).where(Job.instance_id == instance_id, Job.kind == "timer")).one()


def test_a_job_that_fails_for_good_is_an_incident_and_the_retry_runs_it_again(admin_api, cafe):
    admin_api.deploy(diagram("timer_catch.bpmn"))
    instance = admin_api.start("timer_catch")
    time.sleep(1.1)  # the timer (PT1S) is due: the engine fires it only then, whatever the job says
    _sql(cafe, REFUSE)
    try:
        for _ in range(MAX_ATTEMPTS):
            with cafe.db.transaction() as session:  # due again now, not after the backoff
                session.execute(update(Job).where(Job.instance_id == instance["id"])
                                .values(due_at=datetime.now(timezone.utc)))
            run_jobs(cafe, rounds=1)
        job = _timer_job(cafe, instance["id"])
        assert (job.status, job.attempts) == ("failed", MAX_ATTEMPTS), (job.status, job.attempts, job.last_error)
        failed = get_instance(admin_api, instance["id"])
        assert failed["status"] == "error"
        [incident] = failed["incidents"]
        assert incident["bpmn_id"] == "wait" and "the disk says no" in incident["message"], incident
        assert f"timer job failed {MAX_ATTEMPTS} times" in incident["message"], incident
        assert kinds(admin_api, instance["id"])[-1] == "error"
    finally:
        _sql(cafe, ALLOW)

    retried = admin_api.post(f"/api/v1/process-instances/{instance['id']}/retry", json={})
    assert retried.status_code == 200, retried.get_json()
    run_jobs(cafe)  # the retry armed the job again (here its own engine run already fired the due timer)
    with cafe.db.read() as session:
        assert session.scalars(select(Job).where(Job.instance_id == instance["id"])).all() == []
    done = get_instance(admin_api, instance["id"])
    assert done["status"] == "completed" and done["variables"]["fired"] is True, done
    problem(admin_api.post(f"/api/v1/process-instances/{instance['id']}/retry", json={}), 409)

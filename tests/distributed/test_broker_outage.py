"""The broker carries wake-up calls only: when it is away, jobs wait and nothing hangs. An HTTP
server whose broker accepts connections and never answers still answers every request in
seconds, says it is not ready, and its jobs reach the workers through their sweepers; and a job
that came due while the broker was down goes out as soon as it is back, however long the outage
lasted, rather than after waits that grew while every send failed."""

import collections
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import update

from server.jobs.celery_app import CelerySender, make_celery
from server.jobs.dispatch import Dispatcher
from server.models import Job
from tests.conftest import DIAGRAMS
from tests.distributed.broker_faults import BrokerProxy, silent_broker
from tests.distributed.cluster import Cluster, delete_queue, require_broker, wait_until
from tests.distributed.workload import describe, engine, prepare, start_one, statuses

pytestmark = [pytest.mark.distributed, pytest.mark.postgres_only, pytest.mark.slow]
PUBLISH_NOW = DIAGRAMS / "distributed" / "publish_now.bpmn"
ORDERS = 8


def test_a_silent_broker_hangs_no_request(tmp_path, database_url, webhook):
    broker_url = require_broker("redis")
    receiver, hook_url = webhook
    with silent_broker() as port:
        cluster = Cluster(tmp_path, database_url, broker_url, job_workers=1)
        cluster.server.env["BROKER_URL"] = f"redis://127.0.0.1:{port}/0"  # the workers keep the real one
        cluster.start()
        db = engine(database_url)
        try:
            api = prepare(cluster.server, hook_url)
            with open(PUBLISH_NOW, "rb") as f:
                assert api.post(cluster.server.url + "/api/v1/deployments", files={"file": (PUBLISH_NOW.name, f)}).ok
            began = time.monotonic()
            ready = requests.get(cluster.server.url + "/health/ready", timeout=15)
            assert ready.status_code == 200 and ready.json()["status"] == "degraded"
            assert ready.json()["checks"]["broker"] == "unreachable"
            for n in range(ORDERS):  # each start hands a post's job to the silent broker
                start_one(cluster.server, api, n, definition_key="publish_now", attempts=1)
            assert time.monotonic() - began < 40, "requests waited for the silent broker"
            done = wait_until(lambda: statuses(db).get("completed") == ORDERS, timeout=60)
            assert done, f"the workers' sweepers did not send the jobs: {describe(db)}\n{cluster.logs()}"
            keys = collections.Counter(r.headers.get("Idempotency-Key") for r in receiver.requests)
            assert len(keys) == ORDERS and set(keys.values()) == {1}, keys
        finally:
            cluster.stop()
            db.dispose()


def test_a_job_due_during_an_outage_goes_out_when_the_broker_is_back(cafe):
    require_broker("redis")
    proxy = BrokerProxy(6379)
    queue = f"processcafe.test.outage.{time.monotonic_ns()}"
    broker_url = f"redis://127.0.0.1:{proxy.port}/0"
    dispatcher = Dispatcher(cafe.db, CelerySender(broker_url, queue))
    try:
        with cafe.db.transaction() as session:  # overdue, last sent long ago: a resend is due now
            job = Job(kind="continue", due_at=datetime.now(timezone.utc) - timedelta(minutes=10))
            session.add(job)
            session.flush()
            job_id = job.id
        with cafe.db.transaction() as session:
            session.execute(update(Job).where(Job.id == job_id).values(
                dispatched_at=datetime.now(timezone.utc) - timedelta(minutes=6)))
        proxy.down()
        dispatcher.sweep()  # tries to send it: the broker is away
        proxy.up()
        time.sleep(6)  # more than the pause after a failed send
        assert dispatcher.sweep() == 1, "the failed send counted as a send: the job waits minutes more"
        assert queued(broker_url, queue) == 1
    finally:
        proxy.close()
        delete_queue("redis://127.0.0.1:6379/0", queue)


def queued(broker_url: str, queue: str) -> int:
    app = make_celery(broker_url, queue)
    try:
        with app.connection_for_read() as conn:
            return conn.default_channel.queue_declare(queue, passive=True).message_count
    finally:
        app.close()

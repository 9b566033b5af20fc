"""Killing processes of a scaled-out installation in the middle of the work loses nothing and
repeats nothing. One Celery worker is SIGKILLed (its main process and its job process, as when a
machine is lost) and started again, and one gunicorn HTTP worker is SIGKILLed (the master starts
another). Every instance must complete exactly once, each webhook post must reach the receiver
once (a post whose answer was lost with the killed worker may be sent again with the same
Idempotency-Key, which the receiver drops), and no instance lease may stay behind."""

import os
import signal
import subprocess
import threading
import time

import pytest
import sqlalchemy as sa

from tests.distributed.cluster import Cluster, WorkerProcess, require_broker, wait_until
from tests.distributed.workload import check_exactly_once, describe, engine, prepare, start_all, statuses
from tests.fakes.webhook import WebhookReceiver
from tests.fakes.wsgi_thread import serve_wsgi

pytestmark = [pytest.mark.distributed, pytest.mark.postgres_only, pytest.mark.slow]
INSTANCES = int(os.environ.get("PROCESSCAFE_DISTRIBUTED_KILL_INSTANCES", "200"))
POST_SECONDS = 0.05  # the receiver answers slowly, so a kill finds a post under way


def slow(receiver: WebhookReceiver):
    def app(environ, start_response):
        time.sleep(POST_SECONDS)
        return receiver(environ, start_response)

    return app


def job_held_by(db: sa.Engine, worker: WorkerProcess) -> tuple[int, str] | None:
    """A job (id, instance id) that this worker's processes hold a live claim on, if any."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(worker.process.pid)], capture_output=True, text=True)
    pids = {worker.process.pid, *map(int, out.stdout.split())}
    with db.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, instance_id, locked_by FROM jobs WHERE kind = 'social.send' "
                                    "AND locked_until > now()")).all()
    return next(((r.id, r.instance_id) for r in rows if int(r.locked_by.split(":")[1]) in pids), None)


def test_killed_workers_lose_and_repeat_nothing(tmp_path, database_url):
    broker_url = require_broker("redis")
    receiver = WebhookReceiver()
    with serve_wsgi(slow(receiver)) as base:
        _run(tmp_path, database_url, broker_url, receiver, base + "/hooks/orders")


def _run(tmp_path, database_url, broker_url, receiver, hook_url):
    cluster = Cluster(tmp_path, database_url, broker_url).start()
    db = engine(database_url)
    try:
        prepare(cluster.server, hook_url)
        starting = threading.Thread(target=start_all, args=(cluster.server, range(INSTANCES)), daemon=True)
        starting.start()
        # kill while instances are being started, and the job worker while it is sending a post
        assert wait_until(lambda: len(receiver.requests) >= INSTANCES // 10, timeout=60), cluster.logs()
        [victim, *_] = cluster.http_worker_pids()
        os.kill(victim, signal.SIGKILL)
        held = wait_until(lambda: job_held_by(db, cluster.workers[0]), timeout=30, interval=0.01)
        assert held, "the job worker never held a job to be killed in"
        cluster.workers[0].kill()
        time.sleep(1)
        cluster.workers[0].start()
        starting.join(180)
        assert not starting.is_alive(), "starting the instances did not finish"
        done = wait_until(lambda: statuses(db).get("completed") == INSTANCES, timeout=120)
        assert done, f"not all instances completed: {describe(db)}\n{cluster.logs()}"
        wait_until(lambda: len({r.headers.get('Idempotency-Key') for r in receiver.requests}) >= INSTANCES, 10)
        check_exactly_once(db, receiver, INSTANCES, allowed_resends=1)
        with db.connect() as conn:  # the instance whose post was under way got over the kill
            assert conn.execute(sa.text("SELECT status FROM process_instances WHERE id = :id"),
                                {"id": held[1]}).scalar() == "completed"
    finally:
        cluster.stop()
        db.dispose()

"""A scaled-out installation on this machine, started the way an operator starts one:
`processcafe serve --workers N` on PostgreSQL with PROCESSCAFE_JOB_RUNNER=celery, and
`processcafe worker` processes on the same database and broker."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.system.server import ServerProcess, free_port, kill_group, stop_group

BROKERS = {
    "redis": ("redis://127.0.0.1:6379/0", 6379,
              "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no"),
    "rabbitmq": ("amqp://guest:guest@127.0.0.1:5672//", 5672, "rabbitmq-server -detached"),
}


def require_broker(name: str) -> str:
    """The broker's URL; the test fails, saying how to start it, when it does not answer."""
    url, port, start = BROKERS[name]
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        pytest.fail(f"{name} is not reachable on 127.0.0.1:{port}; the distributed tests need PostgreSQL, "
                    f"Redis and RabbitMQ (.ci/run starts them). Start it with: {start}")
    return url


def delete_queue(broker_url: str, queue: str) -> None:
    """Remove a test installation's queue (and any message left in it) from the broker."""
    from server.jobs.celery_app import make_celery

    app = make_celery(broker_url, queue)
    try:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
    finally:
        app.close()


class WorkerProcess:
    """`processcafe worker` with one job process, in its own session (so a kill takes all of it)."""

    def __init__(self, env: dict[str, str], log: Path, concurrency: int = 1, metrics_port: int | None = None):
        self.env, self.log, self.concurrency, self.metrics_port = env, log, concurrency, metrics_port
        self.process: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        cli = Path(sys.executable).parent / "processcafe"
        metrics = ["--metrics-port", str(self.metrics_port)] if self.metrics_port else []
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(cli), "worker", "--concurrency", str(self.concurrency), "--loglevel", "warning", *metrics],
                env=self.env, stdout=log, stderr=log, start_new_session=True)
        return self

    def kill(self) -> None:
        """SIGKILL to the whole worker (main and job processes): a machine lost mid-job."""
        kill_group(self.process)

    def stop(self) -> None:
        stop_group(self.process, wait=15)


class Cluster:
    def __init__(self, tmp: Path, database_url: str, broker_url: str, http_workers: int = 2,
                 job_workers: int = 2, **env):
        self.tmp = tmp
        # a queue of its own: other test runs on this machine may use the same broker at the same time
        self.broker_url, self.queue = broker_url, f"processcafe.test.{uuid.uuid4().hex[:12]}"
        common = {"PROCESSCAFE_JOB_RUNNER": "celery", "BROKER_URL": broker_url, "PROCESSCAFE_CELERY_QUEUE": self.queue,
                  "PROCESSCAFE_CREDENTIALS_KEY": Fernet.generate_key().decode(),
                  "PROCESSCAFE_SECRET_KEY": "distributed-test-secret", **{k: str(v) for k, v in env.items()}}
        self.server = ServerProcess(tmp / "http", database_url, serve_args=("--workers", str(http_workers)),
                                    **common)
        # workers get their own data folder: they share nothing with the server but the database,
        # the broker and the keys, as on another machine
        worker_env = {**self.server.env, "PROCESSCAFE_DATA": str(tmp / "worker")}
        # the first worker serves its job metrics, as an operator would let Prometheus scrape it
        self.workers = [WorkerProcess(worker_env, tmp / f"worker-{i}.log", metrics_port=None if i else free_port())
                        for i in range(job_workers)]

    def start(self) -> Cluster:
        (self.tmp / "worker").mkdir(parents=True, exist_ok=True)
        self.server.start(timeout=60)
        for worker in self.workers:
            worker.start()
        return self

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.server.stop()
        delete_queue(self.broker_url, self.queue)

    def http_worker_pids(self) -> list[int]:
        """The gunicorn worker processes (children of the master)."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.server.process.pid)], capture_output=True,
                             text=True).stdout
        return [int(p) for p in out.split()]

    def logs(self) -> str:
        parts = [self.server.log.read_text(errors="replace")[-3000:]]
        parts += [w.log.read_text(errors="replace")[-3000:] for w in self.workers if w.log.exists()]
        return "\n---\n".join(parts)


def wait_until(predicate, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)

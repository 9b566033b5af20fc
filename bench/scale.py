"""Scale-out benchmark: instances per second finished by 1 and by 2 Celery job workers on PostgreSQL.

Per measurement a fresh PostgreSQL database is made (and dropped afterwards) on the server of
`--pg` (default postgresql://postgres@127.0.0.1:5432/test, the one the tests use), and the scaled-out
installation is started as the README says: `processcafe serve --workers 2` with
PROCESSCAFE_JOB_RUNNER=celery and `--broker` (default Redis on 127.0.0.1), then the job workers,
each `processcafe worker --concurrency 1` (one job process).

The diagram (bench/diagrams/timer_service.bpmn) is start, a PT1S timer, a plain service task, three
script tasks, end. `--instances` instances (default 400) are started over HTTP by 8 client threads
while no job worker runs, so each parks at its timer; then the job workers start and fire the
timers, each job running its instance to the end. The figure is instances finished per second,
from the first finished instance to the last (so worker start-up does not count), read from the
database every 0.1 s. Printed too: the rate of starting instances over HTTP (two gunicorn
processes), for scale, and the load average: everything runs on this machine and shares its CPUs
(see the first line) with whatever else runs there.

    python bench/scale.py [--instances 400] [--broker redis://127.0.0.1:6379/0] [--pg URL]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from support import deploy, describe_machine

from tests.distributed.cluster import Cluster
from tests.distributed.workload import start_all

PROCESS = "bench_timer_service"


@contextlib.contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    admin = sa.create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    name = f"pc_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def completed_count(db: sa.Engine) -> int:
    with db.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM process_instances WHERE status = 'completed'")).scalar()


def start_instances(cluster: Cluster, count: int) -> float:
    """Start `count` instances over HTTP; return instances started per second."""
    api = cluster.server.session()
    deploy(cluster.server, api, "timer_service.bpmn")
    api.close()
    t0 = time.perf_counter()
    start_all(cluster.server, range(count), definition_key=PROCESS)
    return count / (time.perf_counter() - t0)


def measure(pg: str, broker: str, workers: int, count: int) -> tuple[float, float]:
    with fresh_database(pg) as url, tempfile.TemporaryDirectory(prefix="processcafe-scale-") as tmp:
        cluster = Cluster(Path(tmp), url, broker, http_workers=2, job_workers=workers)
        db = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        try:
            cluster.server.start(timeout=60)
            started_rate = start_instances(cluster, count)
            time.sleep(1.1)  # every timer is due: the workers find a full backlog
            for worker in cluster.workers:
                worker.start()
            first = last = None
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                done = completed_count(db)
                if done and first is None:
                    first = (time.perf_counter(), done)
                if done >= count:
                    last = (time.perf_counter(), done)
                    break
                time.sleep(0.1)
            if last is None:
                raise RuntimeError(f"only {completed_count(db)} of {count} instances finished:\n{cluster.logs()}")
            rate = (last[1] - first[1]) / (last[0] - first[0]) if last[0] > first[0] else float("nan")
            return rate, started_rate
        finally:
            cluster.stop()
            db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=400)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    print(f"scale-out benchmark: {args.instances} instances of {PROCESS} (timer, service, 3 scripts) per "
          f"measurement, broker {args.broker.split('://')[0]}; {describe_machine()}", flush=True)
    rates = {}
    for workers in (1, 2):
        rates[workers], started = measure(args.pg, args.broker, workers, args.instances)
        print(f"  {workers} job worker(s): {rates[workers]:7.1f} instances/s finished "
              f"(started over HTTP at {started:.1f}/s; load average {os.getloadavg()[0]:.1f})", flush=True)
    print(f"  speed-up with 2 job workers: {rates[2] / rates[1]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

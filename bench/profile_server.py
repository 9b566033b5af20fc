"""Profile the server side of the throughput benchmark in-process (cProfile, Flask test client).

Builds the app as `processcafe serve` does (migrations, first admin, job runner thread) on SQLite
in a temporary folder, deploys bench/diagrams, warms up, then runs `--instances` user-task cycles
(POST /api/v1/process-instances, POST /api/v1/tasks/{id}/complete) or straight-through starts
through the Flask test client under cProfile (wall-clock timer, so fsync and lock waits count).
Prints the mean request time and the top functions by cumulative and by own time. No HTTP, no
waitress: what is left is the per-request work of Flask, auth, services, engine and database.

    python bench/profile_server.py [--diagram user_cycle|straight] [--instances 500] [--top 40]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import event
from support import DIAGRAMS

from server.app import create_app
from server.bootstrap import prepare
from server.config import Settings
from server.migrations import upgrade
from server.services import identity

PROCESS_IDS = {"straight": "bench_straight", "user_cycle": "bench_user_cycle"}


def show_statements(engine, operation) -> None:
    """Run `operation` once and print every statement sent to the database, per thread."""
    seen: list[tuple[str, str]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((threading.current_thread().name, " ".join(statement.split())[:150]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        operation()
        time.sleep(0.3)  # let the job runner's pass after the last commit finish
    finally:
        event.remove(engine, "before_cursor_execute", record)
    for thread, statement in seen:
        print(f"{thread[:20]:<20} {statement}")
    print(f"{len(seen)} statements (commits are not listed; BEGIN IMMEDIATE marks each transaction)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--diagram", choices=list(PROCESS_IDS), default="user_cycle")
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="cumulative,tottime", help="pstats sort keys, comma-separated")
    parser.add_argument("--no-runner", action="store_true", help="do not start the job runner thread")
    parser.add_argument("--sql", action="store_true", help="list the SQL statements of one instance and exit")
    parser.add_argument("--dump", help="also write the raw profile to this file (for pstats/snakeviz)")
    parser.add_argument("--no-profile", action="store_true", help="only time the requests (no cProfile)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="processcafe-profile-") as tmp:
        os.environ.pop("DATABASE_URL", None)
        settings = Settings.from_env(data_dir=Path(tmp), admin_password="profile-admin-pw",
                                     deploy_examples=False, database_url="")
        upgrade(settings.database_url)
        app = create_app(settings)
        cafe = app.extensions["processcafe"]
        list(prepare(cafe))
        if not args.no_runner:
            cafe.runner.start()
        try:
            with cafe.db.transaction() as session:
                token = identity.create_token(session, identity.get_user(session, "admin"), "profile")
            client = app.test_client()
            headers = {"Authorization": f"Bearer {token}"}
            files = {"file": [(io.BytesIO((DIAGRAMS / f"{name}.bpmn").read_bytes()), f"{name}.bpmn")
                              for name in PROCESS_IDS]}
            response = client.post("/api/v1/deployments", data=files, headers=headers,
                                   content_type="multipart/form-data")
            assert response.status_code in (200, 201), response.get_data(as_text=True)

            def one() -> int:
                started = client.post("/api/v1/process-instances", headers=headers,
                                      json={"definition_key": PROCESS_IDS[args.diagram]})
                assert started.status_code == 201, started.get_data(as_text=True)
                if args.diagram == "straight":
                    return 1
                [task] = started.get_json()["tasks"]
                done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers,
                                   json={"variables": {"approved": True}})
                assert done.status_code == 200 and done.get_json()["status"] == "completed"
                return 2

            for _ in range(args.warmup):
                one()
            if args.sql:
                show_statements(cafe.db.engine, one)
                return 0
            profiler = cProfile.Profile()
            requests_done = 0
            t0, cpu0 = time.perf_counter(), time.process_time()
            if not args.no_profile:
                profiler.enable()
            for _ in range(args.instances):
                requests_done += one()
            profiler.disable()
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        finally:
            cafe.runner.stop()
            cafe.db.dispose()

    how = "without profiler" if args.no_profile else "under cProfile"
    print(f"{args.instances} {args.diagram} instances, {requests_done} requests in {elapsed:.2f} s {how}: "
          f"{args.instances / elapsed:.1f} instances/s, {elapsed / requests_done * 1000:.2f} ms per request "
          f"({cpu / requests_done * 1000:.2f} ms of CPU, this process)")
    if args.no_profile:
        return 0
    if args.dump:
        profiler.dump_stats(args.dump)
    for key in args.sort.split(","):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(key).print_stats(args.top)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())

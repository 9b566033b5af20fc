"""Shared helpers of the benchmark scripts: a throw-away server process and diagram deployment.

The scripts run as `python bench/NAME.py` from the repository root, so this module puts the
repository root on `sys.path` to reach `tests.system.server.ServerProcess` (the same wrapper the
system tests use: `processcafe serve` on a free port with its own data folder).
"""

from __future__ import annotations

import os
import platform
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIAGRAMS = Path(__file__).resolve().parent / "diagrams"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.system.server import ServerProcess  # noqa: E402

__all__ = ["DIAGRAMS", "ROOT", "ServerProcess", "deploy", "describe_machine", "group_cpu_seconds", "in_parallel",
           "running_server", "sqlite_file"]


@contextmanager
def running_server(database_url: str | None = None, **env) -> Iterator[ServerProcess]:
    """A server in a temporary data folder, stopped and the folder removed afterwards.

    Without `database_url` the server uses SQLite in its data folder; an inherited DATABASE_URL is
    overridden so the benchmark never writes to a database it did not create.
    """
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so the finally blocks below still run
    with tempfile.TemporaryDirectory(prefix="processcafe-bench-") as tmp:
        server = ServerProcess(Path(tmp) / "data", database_url, **({} if database_url else {"DATABASE_URL": ""}),
                               **env)
        try:
            server.start()
            yield server
        except BaseException:
            if server.log.exists():
                print("--- server log (tail) ---", file=sys.stderr)
                print(server.log.read_text(errors="replace")[-3000:], file=sys.stderr)
            raise
        finally:
            server.stop()


def _exit_on_sigterm(signum, _frame) -> None:
    raise SystemExit(128 + signum)


def sqlite_file(server: ServerProcess) -> Path:
    """The SQLite database file of a server started without DATABASE_URL."""
    return server.data_dir / "processcafe.db"


def deploy(server: ServerProcess, session, *names: str) -> None:
    """Deploy diagrams from bench/diagrams through the REST API (one deployment)."""
    files = [("file", (name, (DIAGRAMS / name).read_bytes(), "application/xml")) for name in names]
    response = session.post(server.url + "/api/v1/deployments", files=files, timeout=60)
    if response.status_code not in (200, 201):
        raise RuntimeError(f"deployment failed: {response.status_code} {response.text[:2000]}")


def in_parallel(count: int, work: Callable[[int], None]) -> None:
    """Run work(0) ... work(count - 1) in threads of their own; raise if any of them failed."""
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            work(index)
        except BaseException as err:  # reported after the join
            errors.append(err)

    threads = [threading.Thread(target=run, args=(index,), daemon=True) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} client(s) failed; first: {errors[0]}") from errors[0]


def describe_machine() -> str:
    return (f"Python {platform.python_version()}, SpiffWorkflow {version('SpiffWorkflow')}, "
            f"{os.cpu_count()} CPUs, {platform.machine()}")


def group_cpu_seconds(server: ServerProcess) -> float:
    """CPU seconds (user + system) spent so far by the server's processes (its process group: the
    gunicorn master and workers), read from /proc; 0.0 where there is no /proc. Unlike a rate, the
    CPU spent per instance does not change when other work shares the machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    group = os.getpgid(server.process.pid)
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[2]) == group:  # fields after "(name)": state, ppid, pgrp, ..., utime (11), stime (12)
            total += int(fields[11]) + int(fields[12])
    return total / ticks

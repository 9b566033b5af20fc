"""Throughput benchmark: instances per second, bare SpiffWorkflow against the server over HTTP.

Two diagrams (bench/diagrams):

- straight.bpmn: start -> 3 script tasks -> end (runs to the end in one go);
- user_cycle.bpmn: start -> user task -> end (one start, one completion, end).

Bare SpiffWorkflow (one thread, this process): the BPMN is parsed once with
`SpiffWorkflow.bpmn.parser.BpmnParser`; then per instance a `BpmnWorkflow` is created,
`do_engine_steps()` run and the workflow serialized with `BpmnWorkflowSerializer().serialize_json`.
For the user-task cycle that JSON is also deserialized, the user task completed
(`task.data.update`, `task.run()`), `do_engine_steps()` run and the workflow serialized again.
One `PythonScriptEngine` is shared by all instances, as an embedding application would.

Server: `processcafe serve` as a separate process on SQLite in a temporary data folder (removed
afterwards), driven over real HTTP by `--clients` threads (default 16), each with its own
keep-alive connection (`http.client`) and bearer token. Throughput is what the server sustains
when busy: with 4 clients its two processes spend much of their time waiting for each other's
writes and the disk, and the rate measures that idle time more than the work (the report prints
how many of the machine's CPUs the server kept busy). With 16, writes that meet at SQLite's
writer lock share one commit (server.db.Database.write_together). The clients share the server's CPUs, so
what they spend counts against the server: `requests` spends about 1 ms of CPU per call, which on
2 CPUs caps any server behind it at roughly 300 calls a second (measured here: an authenticated
one-row GET answered 290/s through `requests` and 520/s through `http.client`); `--client
requests` measures through it anyway. Per instance: POST /api/v1/process-instances (201, status
"completed" for straight.bpmn); for the user-task cycle also POST /api/v1/tasks/{id}/complete with
the task id from the start response's `tasks` (200, status "completed"). The clients run on the
same machine as the server and share its CPUs.

Each diagram is measured for `--seconds` (default 10) on each side after a `--warmup` of the
same work (not counted), the two sides taking turns in `--rounds` (default 5) slices: a machine
whose speed drifts (seen here by a fifth within minutes) then slows both sides alike instead of
tilting the ratio. The bare slices run while the server is up and idle. A server slice's rate
is finished instances divided by the time from the common start to the last thread's last
response, and the rounds add up. Printed: instances/s for both paths and both
diagrams, client-observed request latencies of the server path, the CPU time spent per instance
by the server's processes and by the clients (which, unlike the rates, other work on the machine
hardly changes), and the ratio server/bare, with PASS when the ratio reaches `--target` (0.5)
and FAIL otherwise (exit code 1 on any FAIL).

Latest (2026-11-28, a quiet 2-CPU machine; bare 1,298/s straight and 978/s for the cycle): the
server 524/s straight (0.40) and 268/s for the cycle (0.27), FAIL; server CPU 2.84 and 5.41 ms
per instance against bare 0.77 and 1.02, clients 0.25 and 0.52 ms, the server keeping 1.49 and
1.45 of the 2 CPUs busy; with PROCESSCAFE_SQLITE_SYNCHRONOUS=NORMAL (no fsync) the same (0.40,
0.26). In-process (bench/profile_server.py --no-profile) a straight start costs 2.73 ms of CPU
and a cycle's request 2.56 ms.

Earlier: measured on 2 CPUs (2026-11-27, evening, alternating rounds; bare 1,510-1,550 instances/s
straight and 1,100-1,230 for the cycle): the server 390-470/s straight (ratio 0.26-0.30) and
225-230/s for the cycle (0.19-0.20), FAIL. On a faster machine later that night (bare 2,110-2,150
and 1,610-1,620): 575-740/s (0.27-0.35) and 322-368/s (0.20-0.23), server CPU 2.0-2.6 and
4.1-4.6 ms per instance; SQLite's writer lock was held 80% of the time, groups of 3.7 writes,
the commit (fsync) two fifths of the hold. Server CPU per instance 3.0-3.7 ms straight and
6.2-6.4 ms for the cycle, against 0.65 and 0.8-0.9 ms bare. Before the rounds, with each side
measured once, the same code gave ratios from 0.28 to 0.36 and 0.16 to 0.23 on this machine.
Where it goes (bench/profile_server.py; in-process timings of each phase): the engine work is
close to bare SpiffWorkflow's; gunicorn, Flask and flask-smorest take about 0.8 ms a request;
the write about 0.6 ms of CPU, inside SQLite's writer lock. Sending the writes' statements
straight to the driver (server/direct_sql.py) took 0.65 ms per cycle off that lock in the
in-process timings, and the rates hardly moved. Under load the lock is held about three
quarters of the time, a group's hold lasting about 2.4 times the CPU its thread spends; each
of the two server processes keeps about three quarters of a CPU busy (one process alone keeps
one CPU busy and serves about 280/s straight), and the machine sits about a fifth idle
(/proc/stat), though hand-offs of the lock between the processes are short (median 0.4 ms).
None of these raised the busy share above about 1.5 CPUs or the rates beyond the noise: 1 to 6
processes, 3 to 32 threads, 32 clients, synchronous=NORMAL, a shorter switch interval (always,
or only while the lock is held), at most one or two planning threads per process, larger or no
WAL checkpoints, mmap, time-ordered (UUIDv7) instance ids. Sampled with perf, the server's CPU
time is four fifths in the interpreter and 3% in SQLite. For scale: an
authenticated one-row GET costs this server about 1.4 ms of CPU and /health/live 0.45 ms, so a
cycle's two requests cost at least 2.8 ms before any engine or database work, where a ratio
of 0.5 allows about 3.4 ms for the whole instance with both CPUs busy.

    python bench/throughput.py [--seconds 10] [--rounds 5] [--warmup 2] [--clients 16] [--target 0.5]
                               [--client requests] [--diagram straight|user_cycle|all]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from support import DIAGRAMS, deploy, describe_machine, group_cpu_seconds, in_parallel, running_server

DIAGRAM_FILES = {"straight": "straight.bpmn", "user_cycle": "user_cycle.bpmn"}
PROCESS_IDS = {"straight": "bench_straight", "user_cycle": "bench_user_cycle"}
LABELS = {"straight": "straight-through (3 scripts)", "user_cycle": "user-task cycle (start, complete, end)"}
COMPLETION = {"approved": True}


@dataclass
class Result:
    instances: int
    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=dict)
    server_cpu: float = 0.0  # CPU seconds of the server's processes during the measurement
    client_cpu: float = 0.0  # CPU seconds of this process (the client threads) during it

    @property
    def rate(self) -> float:
        return self.instances / self.seconds if self.seconds else 0.0

    def add(self, other: Result) -> None:
        """Count another round of the same measurement in."""
        self.instances += other.instances
        self.seconds += other.seconds
        self.server_cpu += other.server_cpu
        self.client_cpu += other.client_cpu
        for kind, values in other.latencies.items():
            self.latencies.setdefault(kind, []).extend(values)


# -- bare SpiffWorkflow ----------------------------------------------------------------------------

class BareEngine:
    """The engine alone: spec parsed once, stock serializer (spec embedded in every instance)."""

    def __init__(self, name: str):
        parser = BpmnParser()
        parser.add_bpmn_file(str(DIAGRAMS / DIAGRAM_FILES[name]))
        process_id = PROCESS_IDS[name]
        self.spec = parser.get_spec(process_id)
        self.subprocess_specs = parser.get_subprocess_specs(process_id)
        self.serializer = BpmnWorkflowSerializer()
        self.script_engine = PythonScriptEngine()
        self.one = self.straight if name == "straight" else self.user_cycle

    def start(self) -> tuple[BpmnWorkflow, str]:
        workflow = BpmnWorkflow(self.spec, self.subprocess_specs, script_engine=self.script_engine)
        workflow.do_engine_steps()
        return workflow, self.serializer.serialize_json(workflow)

    def straight(self) -> None:
        workflow, _ = self.start()
        if not workflow.completed:
            raise RuntimeError("straight-through instance did not complete")

    def user_cycle(self) -> None:
        _, state = self.start()
        workflow = self.serializer.deserialize_json(state)
        workflow.script_engine = self.script_engine
        [task] = workflow.get_tasks(state=TaskState.READY, manual=True)
        task.data.update(COMPLETION)
        task.run()
        workflow.do_engine_steps()
        self.serializer.serialize_json(workflow)
        if not workflow.completed:
            raise RuntimeError("user-task instance did not complete")


def timed_loop(operation: Callable[[], None], seconds: float) -> tuple[int, float]:
    count, t0 = 0, time.perf_counter()
    deadline = t0 + seconds
    while time.perf_counter() < deadline:
        operation()
        count += 1
    return count, time.perf_counter() - t0


def measure_bare(engine: BareEngine, seconds: float, warmup: float) -> Result:
    if warmup > 0:
        timed_loop(engine.one, warmup)
    return Result(*timed_loop(engine.one, seconds))


# -- the server over HTTP -------------------------------------------------------------------------

class Connection:
    """A keep-alive HTTP/1.1 connection to the server with a bearer token: the leanest real HTTP
    client in the standard library."""

    def __init__(self, base_url: str, token: str):
        parts = urlsplit(base_url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(self, path: str, body: dict) -> tuple[int, bytes]:
        self.connection.request("POST", path, json.dumps(body).encode(), self.headers)
        response = self.connection.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.connection.close()


class RequestsConnection:
    """The same through `requests` (`--client requests`)."""

    def __init__(self, base_url: str, token: str):
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def post(self, path: str, body: dict) -> tuple[int, bytes]:
        response = self.session.post(self.base_url + path, json=body, timeout=60)
        return response.status_code, response.content

    def close(self) -> None:
        self.session.close()


def _post(connection, path: str, body: dict, expected: int, latencies: list[float]) -> dict:
    t0 = time.perf_counter()
    status, content = connection.post(path, body)
    latencies.append(time.perf_counter() - t0)
    if status != expected:
        raise RuntimeError(f"POST {path} answered {status}: {content[:500]!r}")
    return json.loads(content)


def server_operation(name: str) -> Callable:
    start_body = {"definition_key": PROCESS_IDS[name]}

    def straight(connection, latencies: dict[str, list[float]]) -> None:
        instance = _post(connection, "/api/v1/process-instances", start_body, 201, latencies["start"])
        if instance["status"] != "completed":
            raise RuntimeError(f"straight-through instance is {instance['status']!r}")

    def user_cycle(connection, latencies: dict[str, list[float]]) -> None:
        instance = _post(connection, "/api/v1/process-instances", start_body, 201, latencies["start"])
        [task] = instance["tasks"]
        done = _post(connection, f"/api/v1/tasks/{task['id']}/complete", {"variables": COMPLETION},
                     200, latencies["complete"])
        if done["status"] != "completed":
            raise RuntimeError(f"user-task instance is {done['status']!r} after the completion")

    return straight if name == "straight" else user_cycle


def run_clients(sessions: list, operation, seconds: float) -> Result:
    """Every session in its own thread runs `operation` back to back for `seconds`."""
    barrier = threading.Barrier(len(sessions))
    counts = [0] * len(sessions)
    starts = [0.0] * len(sessions)
    ends = [0.0] * len(sessions)
    latencies: list[dict[str, list[float]]] = [{"start": [], "complete": []} for _ in sessions]

    def worker(i: int) -> None:
        barrier.wait()
        starts[i] = time.perf_counter()
        deadline = starts[i] + seconds
        while time.perf_counter() < deadline:
            operation(sessions[i], latencies[i])
            counts[i] += 1
        ends[i] = time.perf_counter()

    in_parallel(len(sessions), worker)
    merged = {kind: [v for lat in latencies for v in lat[kind]] for kind in ("start", "complete")}
    return Result(sum(counts), max(ends) - min(starts), {k: v for k, v in merged.items() if v})


def measure_server(server, sessions: list, name: str, seconds: float, warmup: float) -> Result:
    operation = server_operation(name)
    if warmup > 0:
        run_clients(sessions, operation, warmup)
    server_cpu, client_cpu = group_cpu_seconds(server), time.process_time()
    result = run_clients(sessions, operation, seconds)
    result.server_cpu = group_cpu_seconds(server) - server_cpu
    result.client_cpu = time.process_time() - client_cpu
    for session in sessions:  # idle through the bare slice, the server would drop them (keep-alive 5 s)
        session.close()
    return result


# -- report ---------------------------------------------------------------------------------------

def latency_line(kind: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (f"    {kind:<8} request: mean {statistics.fmean(values) * 1000:6.2f} ms, "
            f"median {statistics.median(values) * 1000:6.2f} ms, p95 {p95 * 1000:6.2f} ms ({len(values)} requests)")


def cpu_line(bare: Result, served: Result) -> str:
    """CPU per instance, which other work on the machine does not change (unlike the rates)."""
    per = 1000 / served.instances if served.instances else 0.0
    busy = served.server_cpu / served.seconds if served.seconds else 0.0
    return (f"    CPU per instance: server {served.server_cpu * per:.2f} ms, clients {served.client_cpu * per:.2f} ms; "
            f"bare {bare.seconds / bare.instances * 1000 if bare.instances else 0:.2f} ms (one thread, no waiting); "
            f"the server kept {busy:.2f} of {os.cpu_count()} CPUs busy")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measurement (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up before each measurement (default 2)")
    parser.add_argument("--clients", type=int, default=16, help="client threads against the server (default 16)")
    parser.add_argument("--target", type=float, default=0.5, help="PASS bound for server/bare (default 0.5)")
    parser.add_argument("--client", choices=["http.client", "requests"], default="http.client",
                        help="HTTP client of the client threads (default http.client)")
    parser.add_argument("--diagram", choices=[*DIAGRAM_FILES, "all"], default="all", help="what to measure")
    parser.add_argument("--rounds", type=int, default=5,
                        help="bare and server take turns this many times, each for seconds/rounds (default 5)")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    names = list(DIAGRAM_FILES) if args.diagram == "all" else [args.diagram]

    print(f"throughput benchmark: {args.seconds:g} s per measurement in {args.rounds} alternating rounds, "
          f"after {args.warmup:g} s warm-up, {args.clients} server clients ({args.client}); {describe_machine()}")
    bare: dict[str, Result] = {}
    served: dict[str, Result] = {}
    share = args.seconds / args.rounds
    with running_server() as server:
        admin = server.session()
        deploy(server, admin, *(DIAGRAM_FILES[name] for name in names))
        client = Connection if args.client == "http.client" else RequestsConnection
        sessions = [client(server.url, server.session().headers["Authorization"].split()[1])
                    for _ in range(args.clients)]
        for name in names:
            engine = BareEngine(name)
            bare[name] = measure_bare(engine, share, args.warmup)
            served[name] = measure_server(server, sessions, name, share, args.warmup)
            for _ in range(args.rounds - 1):
                bare[name].add(measure_bare(engine, share, 0))
                served[name].add(measure_server(server, sessions, name, share, 0))
            print(f"  bare SpiffWorkflow, {LABELS[name]}: {bare[name].rate:8.1f} instances/s", flush=True)
            print(f"  server over HTTP,   {LABELS[name]}: {served[name].rate:8.1f} instances/s", flush=True)
        for session in [admin, *sessions]:
            session.close()

    print()
    print(f"{'diagram':<40} {'bare/s':>9} {'server/s':>9} {'server/bare':>12}  verdict (target >= {args.target:g})")
    ok = True
    for name in names:
        ratio = served[name].rate / bare[name].rate
        passed = ratio >= args.target
        ok = ok and passed
        print(f"{LABELS[name]:<40} {bare[name].rate:9.1f} {served[name].rate:9.1f} {ratio:12.2f}  "
              f"{'PASS' if passed else 'FAIL'}")
        for kind, values in served[name].latencies.items():
            print(latency_line(kind, values))
        print(cpu_line(bare[name], served[name]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

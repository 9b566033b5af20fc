"""Long-loop benchmark: does a user-task loop stay flat in state size and completion time?

Runs `bench/diagrams/loop.bpmn` (start -> user task "Step" -> script `count = count + 1` ->
exclusive gateway: `count < N` back to "Step", else end) for N iterations (default 10,000) on a
real server process (`processcafe serve`, SQLite in a temporary data folder, removed afterwards).

Per iteration, over HTTP with one bearer-token session:

1. GET /api/v1/tasks?instance_id=... finds the open "Step" task (not timed);
2. POST /api/v1/tasks/{id}/complete completes it; the client-observed time of this request
   (send to full response read) is the completion time.

Every `--sample-every` iterations (default 100), and after the start and the last-but-one
completion, the stored state size is read directly from the server's SQLite file with the
`sqlite3` module: the byte length of `process_instances.state` for the instance.

Figures printed: state size and mean completion time of the first and the last `--window`
completions (default 100), each of them per 1,000-iteration block, and the ratios last/first.
State size "first" is the sample after `--window` completions and "last" the one after N-1
completions (the last time the instance waits at "Step"). PASS when both ratios are at most
`--max-ratio` (1.5) and the instance completed with count == N; otherwise FAIL and exit code 1.

    python bench/loop.py [--iterations 10000] [--sample-every 100] [--window 100]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
from contextlib import closing
from pathlib import Path

from support import deploy, describe_machine, running_server, sqlite_file


def state_size(db_file: Path, instance_id: str) -> int:
    """Bytes of the instance's stored state, read from the SQLite file (read-only, WAL-safe)."""
    with closing(sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=30)) as conn:
        row = conn.execute("SELECT length(CAST(state AS BLOB)) FROM process_instances WHERE id = ?",
                           (instance_id,)).fetchone()
    if row is None:
        raise RuntimeError(f"instance {instance_id} not in the database")
    return row[0] or 0


def mean_ms(values: list[float]) -> float:
    return statistics.fmean(values) * 1000


def run(args: argparse.Namespace) -> bool:
    n = args.iterations
    print(f"loop benchmark: {n} iterations, {describe_machine()}")
    with running_server() as server:
        api = server.session()
        deploy(server, api, "loop.bpmn")
        db_file = sqlite_file(server)
        response = api.post(server.url + "/api/v1/process-instances",
                            json={"definition_key": "bench_loop", "variables": {"count": 0, "N": n}}, timeout=60)
        response.raise_for_status()
        instance_id = response.json()["id"]
        sizes: dict[int, int] = {0: state_size(db_file, instance_id)}
        times: list[float] = []
        started = time.monotonic()
        for i in range(1, n + 1):
            listing = api.get(server.url + "/api/v1/tasks", params={"instance_id": instance_id}, timeout=60)
            listing.raise_for_status()
            items = listing.json()["items"]
            if len(items) != 1 or items[0]["bpmn_id"] != "step":
                status = api.get(f"{server.url}/api/v1/process-instances/{instance_id}", timeout=60).json()
                print(f"FAIL: before iteration {i} the instance has open tasks {items!r} "
                      f"(status {status.get('status')}, count {status.get('variables', {}).get('count')})")
                return False
            t0 = time.perf_counter()
            done = api.post(f"{server.url}/api/v1/tasks/{items[0]['id']}/complete", json={"variables": {}},
                            timeout=600)
            times.append(time.perf_counter() - t0)
            if done.status_code != 200:
                print(f"FAIL: completion {i} answered {done.status_code}: {done.text[:500]}")
                return False
            if i % args.sample_every == 0 or i == n - 1:
                sizes[i] = state_size(db_file, instance_id)
            if i % args.progress == 0:
                recent = times[-args.progress:]
                print(f"  {i:>6} iterations, {time.monotonic() - started:7.1f} s, "
                      f"complete mean {mean_ms(recent):6.2f} ms over the last {len(recent)}, "
                      f"state {sizes[i] if i in sizes else state_size(db_file, instance_id):,} B", flush=True)
        final = api.get(f"{server.url}/api/v1/process-instances/{instance_id}", timeout=60).json()
        final_size = state_size(db_file, instance_id)
    elapsed = time.monotonic() - started

    window = min(args.window, n)
    first_ms, last_ms = mean_ms(times[:window]), mean_ms(times[-window:])
    first_size = sizes[min(window, max(sizes))]
    last_size = sizes[max(k for k in sizes if k < n)] if n > 1 else sizes[0]
    time_ratio, size_ratio = last_ms / first_ms, last_size / first_size

    print()
    print(f"{n} completions in {elapsed:.1f} s; instance status {final['status']!r}, "
          f"count {final['variables'].get('count')!r}")
    print("state size samples (bytes of process_instances.state):")
    step = max(1, len(sizes) // 20)
    keys = sorted(sizes)
    for k in keys[::step] + ([keys[-1]] if (len(keys) - 1) % step else []):
        print(f"  after {k:>6} completions: {sizes[k]:>9,} B")
    print(f"  min {min(sizes.values()):,} B, max {max(sizes.values()):,} B, "
          f"after the end: {final_size:,} B")
    print("mean completion time per 1,000-iteration block:")
    for start in range(0, n, 1000):
        block = times[start:start + 1000]
        print(f"  {start + 1:>6}-{start + len(block):<6} {mean_ms(block):7.2f} ms  "
              f"(median {statistics.median(block) * 1000:6.2f}, max {max(block) * 1000:7.2f})")
    print()
    print(f"state size:      first {first_size:>9,} B   last {last_size:>9,} B   ratio last/first {size_ratio:.2f}")
    print(f"completion time: first {first_ms:9.2f} ms  last {last_ms:9.2f} ms  ratio last/first {time_ratio:.2f}"
          f"   (means over {window} completions; medians {statistics.median(times[:window]) * 1000:.2f} / "
          f"{statistics.median(times[-window:]) * 1000:.2f} ms)")
    ok = (size_ratio <= args.max_ratio and time_ratio <= args.max_ratio
          and final["status"] == "completed" and final["variables"].get("count") == n)
    print(f"{'PASS' if ok else 'FAIL'} (both ratios must be <= {args.max_ratio}, instance completed with count == N)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", "-n", type=int, default=10_000, help="loop iterations N (default 10000)")
    parser.add_argument("--sample-every", type=int, default=100, help="state size sample interval (default 100)")
    parser.add_argument("--window", type=int, default=100, help="first/last completions compared (default 100)")
    parser.add_argument("--max-ratio", type=float, default=1.5, help="PASS bound for both ratios (default 1.5)")
    parser.add_argument("--progress", type=int, default=1000, help="print progress every N iterations")
    args = parser.parse_args()
    if args.iterations < 2:
        parser.error("--iterations must be at least 2")
    return 0 if run(args) else 1


if __name__ == "__main__":
    sys.exit(main())

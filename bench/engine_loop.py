"""Benchmark: a long user-task loop on the bare engine, with pruning after every step.

Why: without pruning the same loop stalls silently after ~250 completions (task-tree depth limit)
and every load-complete-save cycle gets slower with history. This shows whether state size and
cycle time stay flat over 10,000 iterations when `bpmn.pruning.prune` runs after each
`do_engine_steps()`.

Each iteration is what a completion request does: deserialize the stored JSON, complete the open
user task, `do_engine_steps()`, `prune()`, serialize. Run from the repository root:

    python bench/engine_loop.py [--iterations 10000] [--window 100] [--no-prune]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.serializer import DEFAULT_CONFIG, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bpmn.pruning import prune  # noqa: E402

DIAGRAM = ROOT / "tests" / "bpmn" / "diagrams" / "pruning" / "user_loop.bpmn"
PHASES = ("deserialize", "complete", "engine", "prune", "serialize")


def run(iterations: int, window: int, pruning: bool) -> dict:
    """Drive the loop through JSON round trips; return per-window means and the final outcome."""
    parser = BpmnParser()
    parser.add_bpmn_file(str(DIAGRAM))
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))
    workflow = BpmnWorkflow(parser.get_spec("user_loop"))
    workflow.get_next_task(state=TaskState.READY).data["limit"] = iterations
    workflow.do_engine_steps()
    if pruning:
        prune(workflow)
    state = serializer.serialize_json(workflow)

    rows, stalled_at = [], None
    for i in range(iterations):
        t0 = time.perf_counter()
        workflow = serializer.deserialize_json(state)
        t1 = time.perf_counter()
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        if not ready:
            stalled_at = i
            break
        ready[0].data["answer"] = i
        ready[0].run()
        t2 = time.perf_counter()
        workflow.do_engine_steps()
        t3 = time.perf_counter()
        if pruning:
            prune(workflow)
        t4 = time.perf_counter()
        state = serializer.serialize_json(workflow)
        t5 = time.perf_counter()
        rows.append((len(state), len(workflow.tasks), t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t5 - t0))

    def summary(part: list[tuple]) -> dict:
        if not part:
            return {}
        out = {"iterations": len(part), "json_bytes": round(statistics.mean(r[0] for r in part))}
        out["tasks_in_tree"] = round(statistics.mean(r[1] for r in part), 1)
        for k, name in enumerate(PHASES):
            out[f"{name}_us"] = round(statistics.mean(r[2 + k] for r in part) * 1e6)
        out["cycle_us"] = round(statistics.mean(r[7] for r in part) * 1e6)
        out["cycle_median_us"] = round(statistics.median(r[7] for r in part) * 1e6)  # robust to VM noise
        return out

    final = serializer.deserialize_json(state)
    return {
        "pruning": pruning,
        "iterations_requested": iterations,
        "iterations_done": len(rows),
        "stalled_at": stalled_at,
        "completed": final.completed,
        "final_count": final.data.get("count"),
        "first": summary(rows[:window]),
        "last": summary(rows[-window:]),
        "total_s": round(sum(r[7] for r in rows), 2),
    }


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--iterations", type=int, default=10_000)
    args.add_argument("--window", type=int, default=100)
    args.add_argument("--no-prune", action="store_true", help="baseline: shows the stall")
    opts = args.parse_args()
    print(json.dumps(run(opts.iterations, opts.window, not opts.no_prune), indent=2))


if __name__ == "__main__":
    main()

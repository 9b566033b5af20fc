"""Deploy-time checks on large diagrams: how long parsing and checking takes as a diagram grows.

Deploying runs in a request thread, so a diagram that takes seconds to check holds a worker that
long. Two generated shapes, each through `bpmn.definitions.parse_deployment` (everything a
deploy does before the database): a chain of N tasks (start, t0 ... tN-1, end; beyond about 480
tasks SpiffWorkflow's parser reaches Python's recursion limit and the diagram is refused with
that reason) and a parallel gateway fanning out to N tasks that join again.

Measured on 2 CPUs (2026-11-28): a chain of 3,000 tasks was refused in 0.23 s and a fan-out of
3,000 branches parsed in 0.64 s; before the flow check built each container's node ids once, the
chain took 13 s and a fan-out of 2,000 took 3 s (the check was quadratic in the number of flows).

    python bench/deploy_size.py [--sizes 250,1000,3000]
"""

from __future__ import annotations

import argparse
import sys
import time
from itertools import pairwise

from support import describe_machine  # noqa: F401 (puts the repository root on sys.path)

from bpmn.definitions import parse_deployment
from bpmn.errors import DiagramRejected

_HEAD = ('<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
         'id="d" targetNamespace="http://bench"><bpmn:process id="p" isExecutable="true">')
_TAIL = "</bpmn:process></bpmn:definitions>"


def chain(n: int) -> bytes:
    ids = ["s", *(f"t{i}" for i in range(n)), "e"]
    nodes = ['<bpmn:startEvent id="s"/>', *(f'<bpmn:task id="t{i}"/>' for i in range(n)), '<bpmn:endEvent id="e"/>']
    flows = [f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
             for i, (a, b) in enumerate(pairwise(ids))]
    return (_HEAD + "".join(nodes + flows) + _TAIL).encode()


def fan_out(n: int) -> bytes:
    nodes = ['<bpmn:startEvent id="s"/>', '<bpmn:parallelGateway id="split"/>', '<bpmn:parallelGateway id="join"/>',
             '<bpmn:endEvent id="e"/>', *(f'<bpmn:task id="t{i}"/>' for i in range(n))]
    flows = ['<bpmn:sequenceFlow id="a" sourceRef="s" targetRef="split"/>',
             '<bpmn:sequenceFlow id="b" sourceRef="join" targetRef="e"/>']
    for i in range(n):
        flows += [f'<bpmn:sequenceFlow id="x{i}" sourceRef="split" targetRef="t{i}"/>',
                  f'<bpmn:sequenceFlow id="y{i}" sourceRef="t{i}" targetRef="join"/>']
    return (_HEAD + "".join(nodes + flows) + _TAIL).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="250,1000,3000", help="comma-separated element counts")
    args = parser.parse_args()
    for shape, build in (("chain", chain), ("fan-out", fan_out)):
        for n in (int(size) for size in args.sizes.split(",")):
            content = build(n)
            started = time.perf_counter()
            try:
                parse_deployment([(f"{shape}.bpmn", content)])
                verdict = "deployable"
            except DiagramRejected as rejected:
                verdict = f"refused: {rejected.problems[0].reason[:70]}"
            print(f"  {shape:<8} {n:>6} tasks ({len(content) / 1024:6.0f} KiB): "
                  f"{time.perf_counter() - started:6.2f} s, {verdict}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

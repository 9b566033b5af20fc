"""Pruning keeps looping instances flat: no depth-limit stall, bounded tree, bounded state size.

Every loop runs far past the point where the unpruned engine stalls (~333 script iterations,
~250 user-task iterations); the first test shows that stall so the others mean something.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.serializer import DEFAULT_CONFIG, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from bpmn.pruning import FinishedTask, finished_in_tree, prune, run_engine_steps

DIAGRAMS = Path(__file__).parent / "diagrams" / "pruning"
SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))
MAX_TASKS = 60
MAX_GROWTH = 1.5


@functools.cache
def _specs(process_id: str):
    parser = BpmnParser()
    parser.add_bpmn_file(str(DIAGRAMS / f"{process_id}.bpmn"))
    return parser.get_spec(process_id), parser.get_subprocess_specs(process_id)


def start(process_id: str, **data) -> BpmnWorkflow:
    spec, subprocess_specs = _specs(process_id)
    workflow = BpmnWorkflow(spec, subprocess_specs)
    workflow.get_next_task(state=TaskState.READY).data.update(data)
    return workflow


def size(workflow: BpmnWorkflow) -> int:
    return len(SERIALIZER.serialize_json(workflow))


def all_tasks(workflow: BpmnWorkflow) -> list:
    return [t for wf in [workflow, *workflow.subprocesses.values()] for t in wf.tasks.values()]


def depth(workflow: BpmnWorkflow) -> int:
    return max(t.depth for t in workflow.tasks.values())


def snapshot(workflow: BpmnWorkflow) -> dict:
    """Everything the serializer must preserve, per task, for the top workflow and subprocesses."""
    return {
        str(t.id): (t.task_spec.name, t.state, str(t._parent), [str(c) for c in t._children], t.data,
                    t.internal_data, t.last_state_change)
        for t in all_tasks(workflow)
    } | {"root": str(workflow.task_tree.id), "last": str(workflow.last_task.id), "data": workflow.data}


def roundtrip(workflow: BpmnWorkflow) -> BpmnWorkflow:
    restored = SERIALIZER.deserialize_json(SERIALIZER.serialize_json(workflow))
    assert snapshot(restored) == snapshot(workflow)
    return restored


def ready_user_task(workflow: BpmnWorkflow):
    tasks = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert len(tasks) == 1, "the loop stalled"
    return tasks[0]


class Probe:
    """did_complete_task callback: prunes and measures each time `bpmn_id` completes."""

    def __init__(self, workflow: BpmnWorkflow, bpmn_id: str):
        self.workflow, self.bpmn_id = workflow, bpmn_id
        self.runs, self.sizes, self.max_tasks, self.records = 0, {}, 0, []

    def __call__(self, task) -> None:
        self.max_tasks = max(self.max_tasks, len(all_tasks(self.workflow)))
        if task.task_spec.bpmn_id == self.bpmn_id:
            self.runs += 1
            if self.runs in (10, 1000) or self.runs % 500 == 0:
                self.records.extend(prune(self.workflow))
                assert len(all_tasks(self.workflow)) < MAX_TASKS
                self.sizes[self.runs] = size(self.workflow)


def assert_flat(sizes: dict) -> None:
    first, last = sizes[min(sizes)], sizes[max(sizes)]
    assert last <= MAX_GROWTH * first, sizes


def test_unpruned_engine_stalls_at_the_depth_limit():
    workflow = start("script_loop", limit=400)
    workflow.do_engine_steps()
    assert not workflow.completed and workflow.get_next_task(state=TaskState.READY) is None
    assert workflow.last_task.data["count"] < 400


@pytest.mark.parametrize(
    "process_id, body", [("script_loop", "body"), ("subprocess_loop", "sub_work"), ("call_loop", "sub_work")]
)
def test_script_loops_run_flat(process_id, body):
    workflow = start(process_id, limit=2000)
    probe = Probe(workflow, body)
    records = run_engine_steps(workflow, did_complete_task=probe) + probe.records
    assert workflow.completed and probe.runs == 2000
    assert workflow.data["count"] == 2000 and workflow.data["total"] == 2000 * 2001 // 2
    assert probe.max_tasks < 4 * MAX_TASKS and len(workflow.tasks) < MAX_TASKS
    assert len(workflow.subprocesses) == 0
    assert_flat(probe.sizes)
    assert len({r.id for r in records}) == len(records)  # each removed task is reported once
    assert sum(r.bpmn_id == body for r in records) == 2000


def test_user_task_loop_with_roundtrips():
    workflow = start("user_loop", limit=1200)
    workflow.do_engine_steps()
    records, sizes, deepest = prune(workflow), {}, 0
    for i in range(1200):
        task = ready_user_task(workflow)
        task.data["answer"] = i
        task.run()
        workflow.do_engine_steps()
        records += prune(workflow)
        deepest = max(deepest, depth(workflow))
        assert len(workflow.tasks) < MAX_TASKS
        if i in (10, 1199):
            sizes[i] = size(workflow)
        if i % 50 == 49:
            workflow = roundtrip(workflow)
    assert workflow.completed and workflow.data["count"] == 1200
    assert workflow.data["total"] == sum(range(1200))
    assert deepest < 20
    assert_flat(sizes)
    records += finished_in_tree(workflow)  # a completed instance is left as it is
    reviews = [r for r in records if r.bpmn_id == "review"]
    assert len({r.id for r in records}) == len(records)
    assert len(reviews) == 1200 and all(r.state == "COMPLETED" for r in reviews)
    assert reviews[0].bpmn_name == "Review" and reviews[0].spec_type == "UserTask"
    assert reviews[0].process_id == "user_loop"
    assert all(r.bpmn_id for r in records)  # markers without a bpmn_id are not reported
    with pytest.raises(FrozenInstanceError):
        reviews[0].state = "CANCELLED"


def test_loop_inside_a_live_subprocess():
    workflow = start("loop_in_subprocess", limit=1200)
    run_engine_steps(workflow)
    sizes = {}
    for i in range(1200):
        task = ready_user_task(workflow)
        task.data["answer"] = i
        task.run()
        run_engine_steps(workflow)
        if not workflow.completed:
            (subprocess,) = workflow.subprocesses.values()  # its parent task was never dropped
            assert workflow.get_task_from_id(subprocess.parent_task_id).state == TaskState.STARTED
            assert len(subprocess.tasks) < MAX_TASKS and len(workflow.tasks) < MAX_TASKS
        if i in (10, 1100):
            sizes[i] = size(workflow)
        if i % 50 == 49:
            workflow = roundtrip(workflow)
    assert workflow.completed and workflow.data["finished"] and workflow.data["count"] == 1200
    assert workflow.data["total"] == sum(range(1200))
    assert_flat(sizes)


def test_pruned_state_roundtrips_and_continues():
    """The new root keeps its merged data; deltas against new parents restore exactly."""
    workflow = start("user_loop", limit=40)
    workflow.do_engine_steps()
    for i in range(30):
        task = ready_user_task(workflow)
        task.data.update(answer=i, nested={"i": i, "items": list(range(i % 5))})
        task.run()
        workflow.do_engine_steps()
    before = size(workflow)
    assert prune(workflow) and size(workflow) < before / 5
    assert workflow.task_tree.parent is None and workflow.task_tree.data["count"] == 30
    assert prune(workflow) == []  # idempotent
    restored = roundtrip(workflow)
    assert restored.task_tree.data == workflow.task_tree.data
    for i in range(30, 40):
        task = ready_user_task(restored)
        task.data["answer"] = i
        task.run()
        restored.do_engine_steps()
    assert restored.completed and restored.data["total"] == sum(range(40))


def test_parallel_loop_runs_flat_and_matches_unpruned():
    workflow = start("parallel_loop", limit=2000)
    probe = Probe(workflow, "tally")
    run_engine_steps(workflow, did_complete_task=probe)
    assert workflow.completed and workflow.data["count"] == 2000
    assert workflow.data["a_total"] == 2000 * 2001 // 2 and workflow.data["b_total"] == 2000 * 2001
    assert probe.max_tasks < 4 * MAX_TASKS
    assert_flat(probe.sizes)
    pruned, unpruned = start("parallel_loop", limit=30), start("parallel_loop", limit=30)
    run_engine_steps(pruned)
    unpruned.do_engine_steps()
    assert pruned.completed and pruned.data == unpruned.data


def test_inclusive_loop_runs_flat_and_matches_unpruned():
    workflow = start("inclusive_loop", limit=2000)
    probe = Probe(workflow, "tally")
    run_engine_steps(workflow, did_complete_task=probe)
    assert workflow.completed and workflow.data["count"] == 2000
    counts = (workflow.data["na"], workflow.data["nb"], workflow.data["nc"])
    assert counts == (1000, 667, sum(1 for i in range(2000) if i % 2 and i % 3))
    assert probe.max_tasks < 4 * MAX_TASKS
    assert_flat(probe.sizes)
    pruned, unpruned = start("inclusive_loop", limit=30), start("inclusive_loop", limit=30)
    run_engine_steps(pruned)
    unpruned.do_engine_steps()
    assert pruned.completed and pruned.data == unpruned.data


def test_timer_boundary_loop():
    """Interrupting timer on a user task: completed most rounds, fired ("PT0S") every 7th.

    A due timer usually fires inside the same do_engine_steps() (the engine re-checks waiting tasks
    after each completion), so only the rounds where the user task is completed need a call here.
    """
    workflow = start("timer_loop", limit=1200)
    run_engine_steps(workflow)
    sizes, completions, calls = {}, 0, 0
    while not workflow.completed:
        calls += 1
        task = ready_user_task(workflow)
        if task.data["duration"] != "PT0S":  # otherwise the due timer is about to interrupt it
            task.run()
            completions += 1
        run_engine_steps(workflow)
        assert len(workflow.tasks) < MAX_TASKS and len(workflow.event_manager.tasks) <= 1
        if calls in (10, 1000):
            sizes[calls] = size(workflow)
        if calls % 50 == 0:
            workflow = roundtrip(workflow)
    timeouts = sum(1 for count in range(1, 1200) if count % 7 == 3)
    assert workflow.data["count"] == 1200
    assert (workflow.data["worked"], workflow.data["timeouts"]) == (1200 - timeouts, timeouts)
    assert completions == 1200 - timeouts
    assert_flat(sizes)


def test_multi_instance_and_standard_loop():
    workflow = start("mi_loop", items=list(range(500)), n=0)
    probe = Probe(workflow, "repeat")
    run_engine_steps(workflow, did_complete_task=probe)
    assert workflow.completed
    assert workflow.data["doubled"] == [2 * i for i in range(500)] and workflow.data["n"] == 300
    assert probe.max_tasks < MAX_TASKS


def test_event_subprocess_side_branch_does_not_pin_the_tree():
    """A waiting non-interrupting event subprocess sits next to the loop for its whole life."""
    workflow = start("event_subprocess_loop", limit=1200)
    run_engine_steps(workflow)
    sizes = {}
    for i in range(1200):
        task = ready_user_task(workflow)
        task.data["answer"] = i
        task.run()
        run_engine_steps(workflow)
        assert len(all_tasks(workflow)) < MAX_TASKS
        if i in (10, 1100):
            sizes[i] = size(workflow)
        if i % 100 == 99:
            workflow = roundtrip(workflow)
    assert_flat(sizes)
    end = workflow.get_next_task(spec_name="end")
    assert end.state == TaskState.COMPLETED and end.data["count"] == 1200
    assert end.data["total"] == sum(range(1200))
    assert len(workflow.get_active_subprocesses()) == 1  # the reminder still waits, as unpruned
    assert not workflow.completed


@pytest.mark.parametrize("order", list(itertools.permutations(["ua", "ub", "uc"])))
def test_pruning_mid_join_matches_unpruned(order):
    """fork1 -> (ua | fork2 -> (ub | uc)) -> one 3-way join. After ua and uc have arrived every live
    task is below fork2, but the join still needs ua's cancelled instance above it."""
    outcomes = []
    for pruned in (False, True):
        workflow = start("nested_join")
        workflow.do_engine_steps()
        for name in order:
            task = {t.task_spec.bpmn_id: t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}[name]
            task.data[name[1]] = ord(name[1])
            task.run()
            workflow.do_engine_steps()
            if pruned:
                prune(workflow)
                workflow = roundtrip(workflow)
        outcomes.append((workflow.completed, workflow.data))
    assert outcomes[0] == outcomes[1]
    assert outcomes[1][0] and outcomes[1][1]["total"] == ord("a") + ord("b") + ord("c")


def test_finished_task_is_a_frozen_record():
    record = FinishedTask("id", "review", "Review", "UserTask", "COMPLETED", 1.0)
    assert record.process_id is None
    with pytest.raises(FrozenInstanceError):
        record.bpmn_id = "other"

"""Remove finished work from a live SpiffWorkflow task tree.

Why: SpiffWorkflow 3.2.0 never drops a task. A back-edge loop adds 3-4 tasks per iteration, the
task iterators stop at depth 1000 (the instance then silently stalls after ~250-333 iterations),
and state size and step time grow with the whole history. `prune` keeps only what the engine can
still read and contracts the rest of the tree away, so state stays proportional to live work.

What is kept in each live (sub)workflow:

- every task that is not COMPLETED or CANCELLED (ERROR counts as live: it may be retried), and its
  parent (joins read `task.parent.state`; predicted tasks inherit their parent's data);
- for a pending unstructured join (parallel, inclusive, end join): the finished instances of the same
  join from the current round and their parents (`_check_threshold_unstructured` and `_run_hook`
  read them); instances from before the last completed firing on the pending instance's path are
  earlier loop rounds and are dropped;
- for a pending structured join (boundary-event join, start-event join) and for every boundary/start
  event split with a live child: the split task and all of its children (`find_ancestor(split_task)`
  and `split_task.children` are read when the join fires);
- for a running loop or multi-instance task: its live children and the last merged child (read by
  the completion condition); a parallel multi-instance keeps all of its children;
- the parent task of every subprocess that has not completed, and `workflow.last_task`.

All other tasks go. The new root is the deepest common ancestor of the kept tasks; finished tasks
between kept ones are spliced out and their kept descendants re-attached, in order, to the nearest
kept ancestor. That keeps the ancestor relation among survivors intact (`is_descendant_of`, join
round detection) and releases long side branches (an event subprocess or a waiting parallel branch
would otherwise pin the root forever). Every task holds its fully merged data in memory, so the
serializer's parent-relative data deltas round-trip exactly against the new parents.

Not handled: ad-hoc subprocess workflows are left untouched (their spec walks `task_tree.children`);
resetting (`reset_from_task_id`) to a pruned task is impossible, and resetting to a kept finished
task copies data from its nearest kept ancestor; `task_removed_event` is not fired.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from uuid import UUID

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import AdHocSubprocessSpec
from SpiffWorkflow.bpmn.specs.control import EventSplit
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask, ParallelMultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

REMOVABLE = TaskState.COMPLETED | TaskState.CANCELLED
"""States a task may be dropped in; everything else (ERROR included) is live work."""

MIN_PRUNE_INTERVAL = 16
"""`run_engine_steps` prunes after this many completions at least (far below the depth limit)."""


@dataclass(frozen=True)
class FinishedTask:
    """Audit record of a task removed from the live tree (write it before the state is saved).

    Only tasks that appear on the diagram are reported: internal markers without a `bpmn_id`
    (Start, End, the end join, boundary-event split/join) are dropped silently.
    """

    id: str
    bpmn_id: str
    bpmn_name: str | None
    spec_type: str
    state: str
    last_state_change: float
    process_id: str | None = None


def prune(workflow: BpmnWorkflow, include_cancelled: bool = False) -> list[FinishedTask]:
    """Drop finished work from `workflow` and its live subprocesses; report what was dropped.

    Cost is linear in the tasks currently in the tree (live work plus what finished since the last
    call), so calling it after every `do_engine_steps()` keeps it amortised O(live tasks).
    COMPLETED tasks are reported; CANCELLED ones too when `include_cancelled` is set.
    """
    live_subprocesses = [sp for sp in workflow.subprocesses.values() if not sp.completed]
    protected = {sp.parent_task_id for sp in live_subprocesses}
    dropped: list[Task] = []
    for wf in [workflow, *live_subprocesses]:
        dropped.extend(_prune_workflow(wf, protected))
    dropped.extend(_drop_orphaned_subprocesses(workflow, {t.id for t in dropped}))
    _clean_event_manager(workflow)
    return _records(dropped, include_cancelled)


def finished_in_tree(workflow: BpmnWorkflow, include_cancelled: bool = False) -> list[FinishedTask]:
    """Records for the finished tasks still in the tree, e.g. to complete the audit trail once an
    instance has completed (`prune` leaves a workflow without live tasks as it is)."""
    return _records(
        [t for wf in [workflow, *workflow.subprocesses.values()] for t in wf.tasks.values()], include_cancelled
    )


def run_engine_steps(
    workflow: BpmnWorkflow,
    will_complete_task: Callable[[Task], None] | None = None,
    did_complete_task: Callable[[Task], None] | None = None,
) -> list[FinishedTask]:
    """`workflow.do_engine_steps()` that also prunes while it runs, then once at the end.

    Needed for loops made only of engine tasks (scripts, gateways): they run inside a single
    `do_engine_steps()` call and would hit the depth limit before a caller could prune. Pruning
    happens after every max(MIN_PRUNE_INTERVAL, live tasks) completions, so it stays amortised
    O(1) per completed task while the tree never gets deeper than a few hundred tasks, and right
    after every gateway/end join fires: the engine's joins also count and merge instances left over
    from earlier loop rounds, so dropping those at once makes the next round see only its own.
    """
    removed: list[FinishedTask] = []
    since, interval = 0, max(MIN_PRUNE_INTERVAL, _live_size(workflow))

    def after(task: Task) -> None:
        nonlocal since, interval
        if did_complete_task is not None:
            did_complete_task(task)
        since += 1
        if since >= interval or (isinstance(task.task_spec, UnstructuredJoin) and task.state & REMOVABLE):
            removed.extend(prune(workflow))
            since, interval = 0, max(MIN_PRUNE_INTERVAL, _live_size(workflow))

    workflow.do_engine_steps(will_complete_task, after)
    removed.extend(prune(workflow))
    return removed


def _live_size(workflow: BpmnWorkflow) -> int:
    return len(workflow.tasks) + sum(len(sp.tasks) for sp in workflow.subprocesses.values())


def _prune_workflow(wf: BpmnBaseWorkflow, protected: set[UUID]) -> list[Task]:
    """Contract one (sub)workflow's tree to the tasks the engine still reads; return the rest."""
    tasks, root = wf.tasks, wf.task_tree
    if root is None or isinstance(wf.spec, AdHocSubprocessSpec) or not root.has_state(REMOVABLE):
        return []
    keep = _keep_set(wf)
    if not keep:
        return []  # nothing live: a finished workflow keeps its final tree
    keep.update(tid for tid in protected if tid in tasks)
    if wf.last_task is not None and wf.last_task.id in tasks:
        keep.add(wf.last_task.id)
    stack = list(keep)  # joins read `instance.parent` of every instance of theirs left in the tree
    while stack:
        task = tasks[stack.pop()]
        if isinstance(task.task_spec, Join) and task._parent in tasks and task._parent not in keep:
            keep.add(task._parent)
            stack.append(task._parent)

    pinned: set[UUID] = set()  # kept tasks and all of their ancestors
    for tid in keep:
        while tid in tasks and tid not in pinned:
            pinned.add(tid)
            tid = tasks[tid]._parent
    new_root = root
    while new_root.id not in keep:
        pinned_children = [c for c in new_root._children if c in pinned]
        if len(pinned_children) != 1:
            break
        new_root = tasks[pinned_children[0]]
    while isinstance(new_root.task_spec, Join) and new_root._parent in tasks:
        new_root = tasks[new_root._parent]  # a join (gateways included) reads its instances' parents
    keep.add(new_root.id)
    if len(keep) == len(tasks):
        return []

    for tid in keep:  # re-link each kept task to its nearest kept descendants, preserving order
        task = tasks[tid]
        children, stack = [], list(reversed(task._children))
        while stack:
            cid = stack.pop()
            if cid in keep:
                children.append(cid)
            elif cid in pinned:
                stack.extend(reversed(tasks[cid]._children))
        task._children = children
        for cid in children:
            tasks[cid]._parent = tid
    new_root._parent = None
    wf.task_tree = new_root

    dropped = [t for tid, t in tasks.items() if tid not in keep]
    for task in dropped:  # in place: the dict is shared with code that may be iterating the engine
        del tasks[task.id]
    return dropped


def _keep_set(wf: BpmnBaseWorkflow) -> set[UUID]:
    """Ids the engine may still read: live tasks, their parents and the structural exceptions."""
    tasks = wf.tasks
    live = [t for t in tasks.values() if not t.has_state(REMOVABLE)]
    keep: set[UUID] = set()
    joins: dict[object, list[Task]] = {}
    for task in tasks.values():
        if isinstance(task.task_spec, Join):
            joins.setdefault(task.task_spec, []).append(task)
    for task in live:
        keep.add(task.id)
        if task._parent is not None:
            keep.add(task._parent)
        spec = task.task_spec
        if isinstance(spec, Join) and spec.split_task is not None:
            split = _find_ancestor(task, spec.split_task)
            if split is not None:
                keep.add(split.id)
                keep.update(split._children)
        elif isinstance(spec, Join):
            for other in _current_round(task, joins[spec]):
                keep.add(other.id)
                keep.add(other._parent)
        if isinstance(spec, LoopTask):
            keep.update(_loop_children(task))
    for task in tasks.values():
        if isinstance(task.task_spec, EventSplit) and any(
            not c.has_state(REMOVABLE) for c in task.children if c is not None
        ):
            keep.add(task.id)
            keep.update(task._children)
    keep.discard(None)
    return {tid for tid in keep if tid in tasks} if live else set()


def _current_round(pending: Task, instances: list[Task]) -> Iterable[Task]:
    """Finished instances of `pending`'s join that belong to the round `pending` is waiting in.

    The engine counts every instance that is neither an ancestor nor a descendant of the pending
    one. Instances that are not below the last firing of this join on the pending instance's path
    (an ancestor in COMPLETED state) are arrivals of earlier loop rounds, so they are not needed.
    """
    ancestors: set[UUID] = set()
    last_fired = None
    parent = pending.parent
    while parent is not None:
        ancestors.add(parent.id)
        if last_fired is None and parent.task_spec is pending.task_spec and parent.state == TaskState.COMPLETED:
            last_fired = parent
        parent = parent.parent
    for other in instances:
        if other is pending or not other.has_state(REMOVABLE) or other.id in ancestors:
            continue
        if other._parent is None or (last_fired is not None and not _is_ancestor(last_fired, other)):
            continue
        yield other


def _loop_children(task: Task) -> list[UUID]:
    """Children a running loop still reads: the last merged one (completion condition) or all."""
    if isinstance(task.task_spec, ParallelMultiInstanceTask):
        return list(task._children)
    merged = task.internal_data.get("merged") or []
    return [cid for cid in task._children if merged and str(cid) == merged[-1]]


def _find_ancestor(task: Task, spec_name: str) -> Task | None:
    """Iterative `Task.find_ancestor` (the library's is recursive and fails on deep trees)."""
    parent = task.parent
    while parent is not None and parent.task_spec.name != spec_name:
        parent = parent.parent
    return parent


def _is_ancestor(ancestor: Task, task: Task) -> bool:
    parent = task.parent
    while parent is not None:
        if parent is ancestor:
            return True
        parent = parent.parent
    return False


def _drop_orphaned_subprocesses(workflow: BpmnWorkflow, dropped_ids: set[UUID]) -> list[Task]:
    """Delete finished subprocesses (nested ones included) whose parent task was just dropped."""
    dropped: list[Task] = []
    changed = True
    while changed:
        changed = False
        for parent_id in [pid for pid in workflow.subprocesses if pid in dropped_ids]:
            subprocess = workflow.subprocesses.pop(parent_id)
            dropped.extend(subprocess.tasks.values())
            dropped_ids.update(subprocess.tasks)
            changed = True
    return dropped


def _clean_event_manager(workflow: BpmnWorkflow) -> None:
    """Forget waiting-task entries whose task is no longer part of a live tree."""
    workflows = {id(workflow), *(id(sp) for sp in workflow.subprocesses.values())}
    manager = workflow.event_manager
    for tid, task in list(manager.tasks.items()):
        if id(task.workflow) not in workflows or task.workflow.tasks.get(tid) is not task:
            del manager.tasks[tid]


def _records(tasks: Iterable[Task], include_cancelled: bool) -> list[FinishedTask]:
    wanted = REMOVABLE if include_cancelled else TaskState.COMPLETED
    records = [_record(t) for t in tasks if t.state & wanted and getattr(t.task_spec, "bpmn_id", None)]
    return sorted(records, key=lambda r: r.last_state_change)


def _record(task: Task) -> FinishedTask:
    spec = task.task_spec
    return FinishedTask(
        id=str(task.id),
        bpmn_id=spec.bpmn_id,
        bpmn_name=getattr(spec, "bpmn_name", None),
        spec_type=type(spec).__name__,
        state=TaskState.get_name(task.state),
        last_state_change=task.last_state_change,
        process_id=getattr(task.workflow.spec, "name", None),
    )

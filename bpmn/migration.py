"""Moving a running instance to another version of its definition, or saying precisely why not.

Instances stay on the version they started with. When a new version only changes what lies
ahead of an instance (a task added after the one it waits at, a changed form or condition), an
admin may move the instance onto it. SpiffWorkflow 3.2 offers the pieces in
`SpiffWorkflow.bpmn.util.diff`: `SpecDiff` aligns the task specs of two versions (by BPMN id, then
by structure) and lists what changed; `migrate_workflow` swaps the specs and re-predicts the tasks
that are ready or waiting. This module decides whether that is safe where the instance stands:

- every task still in the (pruned) task tree needs an element in the new version: a task the
  instance is at, and a finished one it keeps (a join's arrivals, the task before a waiting one),
  would otherwise point at nothing;
- a task the instance is at must keep its type (a user task does not become a timer);
- what leads into a task the instance is at must be unchanged: an element inserted before it, or a
  boundary event added to or removed from it, needs a path the instance never took;
- every running sub-process and call activity must exist in the new version, under the same rules.

Migration keeps what a waiting task holds: its data and, when its event is of the same kind, its
event state, so a timer keeps its due time instead of starting again.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import asdict, dataclass, field

from SpiffWorkflow.bpmn.serializer.helpers.dictionary import DictionaryConverter
from SpiffWorkflow.bpmn.util.diff import SpecDiff
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from .serializer import SpecBundle

LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
"""A task in one of these states is where the instance stands."""

_RESET = TaskState.READY | TaskState.WAITING


@dataclass(frozen=True)
class Incompatibility:
    """One reason an instance cannot move to the new version."""

    reason: str
    element_id: str | None = None
    process_id: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


class MigrationRefused(Exception):
    def __init__(self, reasons: list[Incompatibility]):
        super().__init__("; ".join(r.reason for r in reasons))
        self.reasons = reasons


@dataclass
class MigrationReport:
    """What moved: per BPMN id, elements the instance is at that changed, and elements added or
    removed by the new version (of the processes the instance runs)."""

    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _label(task) -> str:
    spec = task.task_spec
    return getattr(spec, "bpmn_id", None) or spec.name


def _pairs(workflow, new: SpecBundle) -> list[tuple[object, object | None]]:
    """(sub)workflow and the spec it moves to (None: the new version lacks it)."""
    pairs = [(workflow, new.spec)]
    for sub in workflow.subprocesses.values():
        if not sub.completed:
            pairs.append((sub, new.subprocess_specs.get(sub.spec.name)))
    return pairs


def _aligned(task, new_spec, diff: SpecDiff | None):
    """The new version's spec for a task: the same BPMN id; for a finished task also SpecDiff's
    structural match (a renamed element). Where the instance stands, identity is the id: an open
    task "review" does not silently become "approve"."""
    found = new_spec.task_specs.get(task.task_spec.name)
    if found is None and diff is not None and not task.has_state(LIVE):
        found = diff.alignment.get(task.task_spec)
    return found


def _diff(registry, old_spec, new_spec) -> SpecDiff | None:
    try:
        return SpecDiff(registry, old_spec, new_spec)
    except Exception:  # noqa: BLE001 - the diff is an aid; name alignment still decides
        return None


def check(workflow: BpmnWorkflow, new: SpecBundle, registry: DictionaryConverter
          ) -> tuple[list[Incompatibility], MigrationReport]:
    """Why `workflow` cannot move to `new` (empty when it can), and what would change."""
    reasons: list[Incompatibility] = []
    report = MigrationReport()
    for wf, new_spec in _pairs(workflow, new):
        process = wf.spec.name
        if new_spec is None:
            live = [t for t in wf.tasks.values() if t.has_state(LIVE)]
            reasons.append(Incompatibility(
                f"the running sub-process {process!r} is not part of the new version",
                _label(live[0]) if live else None, process))
            continue
        diff = _diff(registry, wf.spec, new_spec)
        if diff is not None:
            report.added += [s.bpmn_id for s in diff.added if getattr(s, "bpmn_id", None)]
            report.removed += [s.bpmn_id for s in diff.removed if getattr(s, "bpmn_id", None)]
        for task in wf.tasks.values():
            reasons += _task_reasons(task, new_spec, diff, process)
            if task.has_state(LIVE) and diff is not None and task.task_spec in diff.changed:
                report.changed.append(_label(task))
    return reasons, report


def _task_reasons(task, new_spec, diff: SpecDiff | None, process: str) -> list[Incompatibility]:
    label, state = _label(task), TaskState.get_name(task.state).lower()
    target = _aligned(task, new_spec, diff)
    live = task.has_state(LIVE)
    if target is None:
        if live:
            return [Incompatibility(f"the instance is at {label!r} ({state}), which the new version no longer has",
                                    label, process)]
        return [Incompatibility(f"the instance still depends on {label!r}, which it has passed and the new "
                                "version no longer has", label, process)]
    if not live:
        return []
    if type(target).__name__ != type(task.task_spec).__name__:
        return [Incompatibility(f"the instance is at {label!r}, a {type(task.task_spec).__name__} here and a "
                                f"{type(target).__name__} in the new version", label, process)]
    parent = task.parent
    if parent is not None and parent.task_spec.name in task.workflow.spec.task_specs \
            and parent.task_spec.name not in {s.name for s in target.inputs} and target.inputs:
        return [Incompatibility(
            f"the new version changes what leads into {label!r}, where the instance is (an element added or "
            f"removed before it, or a boundary event added to or removed from it)", label, process)]
    return []


def migrate(workflow: BpmnWorkflow, new: SpecBundle, registry: DictionaryConverter) -> MigrationReport:
    """Move `workflow` onto `new` in place, or raise MigrationRefused with every reason."""
    reasons, report = check(workflow, new, registry)
    if reasons:
        raise MigrationRefused(reasons)
    try:
        for wf, new_spec in _pairs(workflow, new):
            _move(wf, new_spec, _diff(registry, wf.spec, new_spec))
    except (AttributeError, KeyError, TypeError) as err:  # a state SpiffWorkflow cannot re-predict (a
        # call activity that failed before its process started); the caller drops this half-moved copy
        raise MigrationRefused([Incompatibility(f"this instance's state cannot be moved ({type(err).__name__}: "
                                                f"{err}); retry or terminate it first")]) from err
    workflow.subprocess_specs = dict(new.subprocess_specs)
    return report


def _move(wf, new_spec, diff: SpecDiff | None) -> None:
    """SpiffWorkflow's `migrate_workflow`, keeping what waiting tasks hold."""
    kept = {t.id: (deepcopy(t.data), deepcopy(t.internal_data), type(getattr(t.task_spec, "event_definition", None)))
            for t in wf.tasks.values() if t.has_state(_RESET)}
    wf.spec = new_spec
    for task in wf.tasks.values():
        task.task_spec = _aligned(task, new_spec, diff)
    for task_id in list(kept):
        task = wf.tasks.get(task_id)
        if task is not None and task.has_state(_RESET):
            task.reset_branch(None)  # re-predicts what follows from the new version
    for task_id, (data, internal, event_type) in kept.items():
        task = wf.tasks.get(task_id)
        if task is None:
            continue
        task.data = data
        if type(getattr(task.task_spec, "event_definition", None)) is event_type:
            task.internal_data.update(internal)
    if wf.last_task is not None and wf.last_task.id not in wf.tasks:
        wf.last_task = None

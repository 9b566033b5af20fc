"""Moving a running instance to another version of its definition (admins).

The check and the move are bpmn.migration's; here the instance is locked, the derived rows
(open tasks, message waits, timer jobs) are rebuilt from the moved state, claims on open tasks
are kept, and the move is recorded in the history (`migrated`, from and to). An incompatible
target is a 409 whose problem document lists every reason with the element it concerns.

The move keeps every open task (bpmn.migration refuses a version without one of them), but the
run that follows it may close some: a conditional boundary event that holds in the new version
interrupts its task at once. Those tasks are recorded as `task_cancelled` with the reason, as a
boundary event's closing is elsewhere (closings.cancelled_tasks), so completing one afterwards is a
409 "not open" rather than a 404 "no task". A parked step among them (a review, a status to
publish, an external task) has its service call cancelled, naming why: no vote, post or worker
reaches it afterwards.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bpmn.migration import MigrationRefused, migrate
from bpmn.runtime import Waiting
from bpmn.serializer import serializer_for
from bpmn.tasks import UserTaskView

from ..models import HistoryEvent, Job, MessageWait, OpenTask, ProcessInstance, TaskCandidate
from ..models.instances import ACTIVE_STATUSES
from ..models.jobs import PENDING
from . import participants, service_calls
from .closings import cancelled_parked, cancelled_tasks, parked_taken_away
from .errors import Conflict
from .specs import DefinitionInfo
from .store import InstanceStore


def migrate_instance(session: Session, store: InstanceStore, instance_id: str, definition_id: str,
                     user: str | None) -> ProcessInstance:
    """Move the instance onto `definition_id` (another version of its process) and run it on. The
    engine runs before the old rows are dropped, so the open tasks the move closes are still there
    to be named in their `task_cancelled` rows."""
    instance = store.lock(session, instance_id)
    if instance.status not in ACTIVE_STATUSES:
        raise Conflict(f"instance {instance_id} has ended ({instance.status}); only running instances migrate")
    current = store.specs.info(session, instance.definition_id)
    target = store.specs.info(session, definition_id)
    if target.id == current.id:
        raise Conflict(f"instance {instance_id} already runs {target.id}")
    if target.key != current.key:
        raise Conflict(f"{target.id} is a version of {target.key!r}, not of {current.key!r}; an instance only "
                       "moves between versions of its own process")
    if target.dialect != current.dialect:
        raise Conflict(f"{target.id} is a {target.dialect.value} diagram and the instance runs a "
                       f"{current.dialect.value} one; their task types differ")
    run = store.load(session, instance)
    try:
        report = migrate(run.workflow, target.specs, serializer_for(target.dialect).registry)
    except MigrationRefused as err:
        raise Conflict(f"instance {instance_id} cannot move to version {target.version}: {err}",
                       reasons=[r.as_dict() for r in err.reasons]) from err
    opened = dict(session.execute(select(OpenTask.id, OpenTask.assignee).where(
        OpenTask.instance_id == instance.id)).all())
    claims = {task_id: assignee for task_id, assignee in opened.items() if assignee is not None}
    parked_before, run.baseline = run.baseline.parked, Waiting()  # what the moved state waits for is written anew
    outcome = store.advance(run)  # in memory: what the new version does from where the instance stands
    closed = _taken_away(list(opened), outcome.user_tasks)
    parked_gone = parked_taken_away(parked_before, outcome)  # a status to publish, an external task
    now = datetime.now(timezone.utc)
    cancelled = (cancelled_tasks(session, instance.id, now, closed)  # before the rows go
                 + cancelled_parked(instance.id, now, parked_gone, frozenset(opened)))
    closed = list(dict.fromkeys([*closed, *(step.task_id for step in parked_gone)]))
    _drop_derived_rows(session, instance.id)
    instance.definition_id = target.id
    session.add(HistoryEvent(instance_id=instance.id, kind="migrated", user=user, data={
        "from": current.id, "to": target.id, "from_version": current.version, "to_version": target.version,
        "changed": report.changed, "added": report.added, "removed": report.removed}))
    why = _why_closed(target)
    session.add_all(HistoryEvent(**{**row, "data": {**(row["data"] or {}), "reason": why}}) for row in cancelled)
    if closed:  # a parked step among them (a review, an external task, ...): its call ends too, saying why
        service_calls.cancel_open_calls(session, instance.id, why, task_ids=closed)
    participants.add_users(session, instance, user)
    store.save(session, instance, run, outcome)
    for task_id, assignee in claims.items():
        session.execute(update(OpenTask).where(OpenTask.id == task_id).values(assignee=assignee))
    return instance


def _taken_away(open_before: list[str], ready: list[UserTaskView]) -> list[str]:
    """The tasks open before the move that the moved instance no longer has open."""
    open_now = {view.id for view in ready}
    return [task_id for task_id in open_before if task_id not in open_now]


def _why_closed(target: DefinitionInfo) -> str:
    return (f"the instance moved to version {target.version} ({target.id}), and the process went on "
            "without this task")


def _drop_derived_rows(session: Session, instance_id: str) -> None:
    session.execute(delete(TaskCandidate).where(TaskCandidate.instance_id == instance_id))
    session.execute(delete(OpenTask).where(OpenTask.instance_id == instance_id))
    session.execute(delete(MessageWait).where(MessageWait.instance_id == instance_id))
    session.execute(delete(Job).where(Job.instance_id == instance_id, Job.kind == "timer", Job.status == PENDING))

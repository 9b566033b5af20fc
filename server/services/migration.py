"""Moving a running instance to another version of its definition (admins).

The check and the move are bpmn.migration's; here the instance is locked, the derived rows
(open tasks, message waits, timer jobs) are rebuilt from the moved state, claims on open tasks
are kept, and the move is recorded in the history (`migrated`, from and to). An incompatible
target is a 409 whose problem document lists every reason with the element it concerns.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bpmn.migration import MigrationRefused, migrate
from bpmn.runtime import Waiting
from bpmn.serializer import serializer_for

from ..models import HistoryEvent, Job, MessageWait, OpenTask, ProcessInstance, TaskCandidate
from ..models.instances import ACTIVE_STATUSES
from ..models.jobs import PENDING
from . import participants
from .errors import Conflict
from .store import InstanceStore


def migrate_instance(session: Session, store: InstanceStore, instance_id: str, definition_id: str,
                     user: str | None) -> ProcessInstance:
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
    claims = dict(session.execute(select(OpenTask.id, OpenTask.assignee).where(
        OpenTask.instance_id == instance.id, OpenTask.assignee.is_not(None))).all())
    _drop_derived_rows(session, instance.id)
    run.baseline = Waiting()  # everything the moved state waits for is written anew
    instance.definition_id = target.id
    session.add(HistoryEvent(instance_id=instance.id, kind="migrated", user=user, data={
        "from": current.id, "to": target.id, "from_version": current.version, "to_version": target.version,
        "changed": report.changed, "added": report.added, "removed": report.removed}))
    participants.add_users(session, instance, user)
    store.advance_and_save(session, instance, run, user)
    for task_id, assignee in claims.items():
        session.execute(update(OpenTask).where(OpenTask.id == task_id).values(assignee=assignee))
    return instance


def _drop_derived_rows(session: Session, instance_id: str) -> None:
    session.execute(delete(TaskCandidate).where(TaskCandidate.instance_id == instance_id))
    session.execute(delete(OpenTask).where(OpenTask.instance_id == instance_id))
    session.execute(delete(MessageWait).where(MessageWait.instance_id == instance_id))
    session.execute(delete(Job).where(Job.instance_id == instance_id, Job.kind == "timer", Job.status == PENDING))

"""History rows, and what closes without being completed.

A task or parked step that a boundary event, an event sub-process, a terminate end event, the
instance's end or a migration takes away gets a `task_cancelled` history row, and a parked step
its service call cancelled: the history then names every task the task list showed (completing a
closed one is a 409, an unknown id a 404), and no post, vote or worker reaches a step that is gone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpmn.runtime import Outcome
from bpmn.service_tasks import ParkedStep
from bpmn.tasks import UserTaskView

from ..models import HistoryEvent, OpenTask, ProcessInstance
from ..models.instances import COMPLETED

_TASK_DONE_KINDS = ("task_completed", "service_completed", "service_failed")  # of an open task


def history_row(instance_id: str, kind: str, at: datetime, **values) -> dict:
    """Every row has every column, so SQLAlchemy sends them as one multi-row INSERT."""
    row = dict.fromkeys(("bpmn_id", "name", "element_type", "task_id", "user", "data"))
    row.update(values, instance_id=instance_id, kind=kind, at=at)
    return row


def closed_unnamed(before: frozenset[str], ready: list[UserTaskView], events: list[dict]) -> list[str]:
    """The tasks that were open and are not now, except those `events` finish (the task a
    completion completes: on its hot path this is all that closes, and nothing more is read)."""
    named = {event.get("task_id") for event in events}
    closed = [task_id for task_id in before if task_id not in named]
    if closed:
        open_now = {view.id for view in ready}
        closed = [task_id for task_id in closed if task_id not in open_now]
    return closed


def cancelled_tasks(session: Session, instance_id: str, at: datetime, task_ids: list[str] | None = None) -> list[dict]:
    """`task_cancelled` history rows for open tasks of the instance (all of them, or `task_ids`)
    that close without being completed: a boundary event, an event sub-process, a terminate end
    event or the instance's end took them away. The history then names every task the task list
    showed, so completing a closed task (409) is told from completing an unknown id (404,
    services/tasks.py). A social step that closes is finished by the service call (its
    `service_completed` or `service_failed` row, flushed before this reads)."""
    if task_ids is not None and not task_ids:
        return []
    query = (select(OpenTask.id, OpenTask.bpmn_id, OpenTask.name, OpenTask.type)
             .where(OpenTask.instance_id == instance_id))
    if task_ids is not None:
        finished = select(HistoryEvent.task_id).where(HistoryEvent.instance_id == instance_id,
                                                      HistoryEvent.task_id.in_(task_ids),
                                                      HistoryEvent.kind.in_(_TASK_DONE_KINDS))
        query = query.where(OpenTask.id.in_(task_ids), OpenTask.id.not_in(finished))
    rows = session.execute(query.order_by(OpenTask.created_at, OpenTask.id))
    return [history_row(instance_id, "task_cancelled", at, task_id=row.id, bpmn_id=row.bpmn_id, name=row.name,
                        element_type=row.type) for row in rows]


def parked_taken_away(before: frozenset[ParkedStep], outcome: Outcome) -> list[ParkedStep]:
    """The steps parked before this advance that are parked no more, though no call answered them:
    a boundary event, an event sub-process or a terminate end event took them away, or the
    instance ended. Compared in memory, so an instance that had nothing parked reads nothing."""
    if not before:
        return []
    still = {step.task_id for step in outcome.parked}.union(outcome.answered)
    return [step for step in before if step.task_id not in still]


def cancelled_parked(instance_id: str, at: datetime, steps: Iterable[ParkedStep],
                     listed: frozenset[str]) -> list[dict]:
    """`task_cancelled` rows for parked steps the task list never showed (a status to publish, an
    external task), which `cancelled_tasks` cannot find: they have no open-task row. The history
    then tells a step the process left behind from one that was never there."""
    return [history_row(instance_id, "task_cancelled", at, task_id=step.task_id, bpmn_id=step.bpmn_id,
                        name=step.name, element_type=step.type, data={"operator": step.operator})
            for step in sorted(steps, key=lambda s: s.task_id) if step.task_id not in listed]


def left_behind(instance: ProcessInstance) -> str:
    """Why a parked step closed without its result (a boundary or end event took the process on)."""
    if instance.status == COMPLETED:
        return f"instance {instance.id} has ended (completed) without this step"
    return "the step was interrupted: the process went on without it"

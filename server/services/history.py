"""Activity instances of instances, rebuilt from the append-only history and the current waits.

The history records when a step ended (`activity_completed`, `task_completed`,
`service_completed`), not when it began. An activity's start is taken as the moment the
instance's previous event was recorded, which is exact for a sequence of steps and the best
estimate inside parallel branches. Activities still open (user tasks, message and signal waits,
parked service tasks) come from the rows that index them and have no end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import HistoryEvent, MessageWait, OpenTask, ProcessInstance, ServiceCall

FINISHING_KINDS = ("activity_completed", "task_completed", "service_completed", "service_failed")
_TYPES = {"EndEvent": "noneEndEvent", "CafeServiceTask": "serviceTask", "SpiffCafeServiceTask": "serviceTask",
          "IntermediateCatchEvent": "intermediateCatchEvent", "IntermediateThrowEvent": "intermediateThrowEvent"}


@dataclass
class ActivityRecord:
    id: str
    instance_id: str
    definition_id: str
    definition_key: str
    activity_id: str
    name: str | None
    type: str | None
    task_id: str | None
    assignee: str | None
    start: datetime | None
    end: datetime | None
    canceled: bool = False


def activity_type(element_type: str | None) -> str | None:
    """Camunda's names: `userTask`, `startEvent`, `exclusiveGateway`, `serviceTask`, ..."""
    if not element_type:
        return None
    name = _TYPES.get(element_type, element_type)
    for prefix in ("Spiff", "Camunda", "Cafe"):
        name = name.removeprefix(prefix)
    return name[:1].lower() + name[1:]


def activity_instances(session: Session, instances: list[ProcessInstance]) -> list[ActivityRecord]:
    """Finished activities in the order they ended, then the open ones."""
    by_id = {i.id: i for i in instances}
    if not by_id:
        return []
    records: list[ActivityRecord] = []
    previous: dict[str, datetime] = {}
    events = session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id.in_(list(by_id)))
                             .order_by(HistoryEvent.instance_id, HistoryEvent.id))
    for event in events:
        # never after its end: the "started" row gets its time when written, after the first steps
        began = min(previous.get(event.instance_id, event.at), event.at)
        previous[event.instance_id] = event.at
        if event.kind not in FINISHING_KINDS or not event.bpmn_id:
            continue
        instance = by_id[event.instance_id]
        element_type = event.element_type or ("UserTask" if event.kind == "task_completed" else
                                              "ServiceTask" if event.kind.startswith("service") else None)
        records.append(ActivityRecord(
            f"{event.bpmn_id}:{event.id}", instance.id, instance.definition_id, instance.definition_key,
            event.bpmn_id, event.name, activity_type(element_type), event.task_id,
            event.user if event.kind == "task_completed" else None, began, event.at,
            canceled=event.kind == "service_failed"))
    records.extend(_open_activities(session, by_id))
    return records


def _open_activities(session: Session, by_id: dict[str, ProcessInstance]) -> list[ActivityRecord]:
    ids = list(by_id)

    def record(instance_id, activity_id, task_id, name, kind, start, assignee=None) -> ActivityRecord:
        instance = by_id[instance_id]
        return ActivityRecord(f"{activity_id}:{task_id}", instance_id, instance.definition_id,
                              instance.definition_key, activity_id, name, kind, task_id, assignee, start, None)

    open_rows = [record(t.instance_id, t.bpmn_id, t.id, t.name, "userTask", t.created_at, t.assignee)
                 for t in session.scalars(select(OpenTask).where(OpenTask.instance_id.in_(ids)))]
    open_rows += [record(c.instance_id, c.bpmn_id, c.task_id, None, "serviceTask", c.created_at)
                  for c in session.scalars(select(ServiceCall).where(ServiceCall.instance_id.in_(ids),
                                                                     ServiceCall.status == "pending"))]
    for wait in session.scalars(select(MessageWait).where(MessageWait.instance_id.in_(ids))):
        kind = "intermediateSignalCatch" if wait.kind == "signal" else "intermediateMessageCatch"
        open_rows.append(record(wait.instance_id, wait.bpmn_id, wait.task_id, None, kind,
                                by_id[wait.instance_id].updated_at))
    return open_rows

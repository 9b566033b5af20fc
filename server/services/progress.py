"""Where an instance stands, for the instance page: which elements ran (from the history), which
wait now (user tasks, timers, messages, parked service calls), which failed, and the diagram.

The engine prunes finished work from the live state, so the completed path comes from the
append-only history, not from the state document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import HistoryEvent, Incident, Job, MessageWait, OpenTask, ServiceCall
from ..models.jobs import PENDING
from . import deployments

DONE_KINDS = ("activity_completed", "task_completed", "timer_fired", "message_received")


@dataclass
class Wait:
    """Something the instance waits for that is not a person's task."""

    kind: str  # "timer", "message" or "service"
    bpmn_id: str | None
    detail: str
    due: datetime | None = None


@dataclass
class Progress:
    done: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    waits: list[Wait] = field(default_factory=list)

    def markers(self) -> dict[str, list[str]]:
        """The diagram's highlighting, as bpmn ids per marker."""
        waiting = [w.bpmn_id for w in self.waits if w.bpmn_id]
        return {"done": self.done, "current": sorted(set(self.current + waiting)), "failed": self.failed}


def of_instance(session: Session, instance_id: str) -> Progress:
    done = session.scalars(select(HistoryEvent.bpmn_id).distinct().where(
        HistoryEvent.instance_id == instance_id, HistoryEvent.kind.in_(DONE_KINDS),
        HistoryEvent.bpmn_id.is_not(None)))
    current = session.scalars(select(OpenTask.bpmn_id).where(OpenTask.instance_id == instance_id))
    failed = session.scalars(select(Incident.bpmn_id).where(
        Incident.instance_id == instance_id, Incident.resolved_at.is_(None), Incident.bpmn_id.is_not(None)))
    waits = [Wait("timer", job.payload.get("bpmn_id"), "timer", job.due_at) for job in session.scalars(
        select(Job).where(Job.instance_id == instance_id, Job.kind == "timer", Job.status == PENDING)
        .order_by(Job.due_at))]
    waits += [Wait("message", w.bpmn_id, w.message_name) for w in session.scalars(
        select(MessageWait).where(MessageWait.instance_id == instance_id).order_by(MessageWait.id))]
    waits += [Wait("service", c.bpmn_id, c.operator) for c in session.scalars(
        select(ServiceCall).where(ServiceCall.instance_id == instance_id, ServiceCall.status == "pending")
        .order_by(ServiceCall.created_at))]
    return Progress(done=sorted(set(done)), current=sorted(set(current)), failed=sorted(set(failed)), waits=waits)


def recent_history(session: Session, instance_id: str, limit: int = 200) -> list[HistoryEvent]:
    """The newest events first; a long-running instance's page stays short."""
    return list(session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
                                .order_by(HistoryEvent.id.desc()).limit(limit)))


def diagram_xml(session: Session, definition_id: str) -> bytes:
    return deployments.definition_xml(session, deployments.get_definition(session, definition_id))

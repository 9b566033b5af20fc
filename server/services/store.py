"""Loading an instance under a lock and writing back its state and the rows derived from it.

Everything an advance produces (state document, open tasks, message waits, timer and continue
jobs, history, incidents) is written in the caller's transaction, so a job is never lost and a
half-done step is never visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bpmn.dialect import Dialect
from bpmn.engine import CafeScriptEngine
from bpmn.runtime import Outcome, ProcessRun

from ..models import (
    HistoryEvent,
    Incident,
    Job,
    MessageWait,
    OpenTask,
    ProcessDefinition,
    ProcessInstance,
    TaskCandidate,
)
from ..models.instances import ACTIVE_STATUSES, COMPLETED, ERROR, RUNNING
from ..models.jobs import PENDING
from .errors import Conflict, NotFound
from .specs import SpecCache

MAX_VARIABLES_BYTES = 1024 * 1024


@dataclass
class EngineSettings:
    script_time_limit: float = 5.0
    step_budget: int = 200


class InstanceStore:
    def __init__(self, specs: SpecCache, settings: EngineSettings, services: dict | None = None):
        self.specs = specs
        self.settings = settings
        self.services = services or {}

    def engine(self, dialect: Dialect) -> CafeScriptEngine:
        return CafeScriptEngine(dialect, time_limit=self.settings.script_time_limit, services=self.services)

    # -- loading ----------------------------------------------------------------------------------

    def lock(self, session: Session, instance_id: str) -> ProcessInstance:
        """Fetch an instance for writing; on PostgreSQL the row stays locked until commit."""
        query = select(ProcessInstance).where(ProcessInstance.id == instance_id)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        instance = session.scalars(query.execution_options(populate_existing=True)).first()
        if instance is None:
            raise NotFound(f"no process instance with id {instance_id!r}")
        return instance

    def load(self, session: Session, instance: ProcessInstance) -> ProcessRun:
        if instance.state is None:
            raise Conflict(f"instance {instance.id} has ended")
        definition = session.get(ProcessDefinition, instance.definition_id)
        dialect = Dialect(definition.dialect)
        return ProcessRun.load(instance.state, self.specs.get(definition), dialect, self.engine(dialect))

    def new_run(self, definition: ProcessDefinition, variables: dict) -> ProcessRun:
        dialect = Dialect(definition.dialect)
        return ProcessRun.start(self.specs.get(definition), dialect, self.engine(dialect), variables)

    # -- saving -----------------------------------------------------------------------------------

    def advance_and_save(self, session: Session, instance: ProcessInstance, run: ProcessRun,
                         user: str | None = None) -> Outcome:
        outcome = run.advance(self.settings.step_budget)
        self.save(session, instance, run, outcome, user)
        return outcome

    def save(self, session: Session, instance: ProcessInstance, run: ProcessRun, outcome: Outcome,
             user: str | None = None) -> None:
        now = datetime.now(timezone.utc)
        instance.state = run.dump()
        instance.variables = run.variables()
        instance.updated_at = now
        for step in outcome.steps:
            session.add(HistoryEvent(instance_id=instance.id, kind="activity_completed", bpmn_id=step.bpmn_id,
                                     name=step.name, element_type=step.type,
                                     at=datetime.fromtimestamp(step.at, timezone.utc)))
        if outcome.status == COMPLETED:
            instance.status = COMPLETED
            instance.ended_at = now
            instance.end_reason = "completed"
            session.add(HistoryEvent(instance_id=instance.id, kind="ended", at=now))
        elif outcome.status == ERROR:
            self._open_incident(session, instance, outcome)
            instance.status = ERROR
        else:
            instance.status = outcome.status
        self._sync_tasks(session, instance, outcome)
        self._sync_waits(session, instance, outcome)
        if outcome.status == RUNNING:
            session.add(Job(instance_id=instance.id, kind="continue", due_at=now))

    def _open_incident(self, session: Session, instance: ProcessInstance, outcome: Outcome) -> None:
        error = outcome.error
        open_incident = session.scalars(
            select(Incident).where(Incident.instance_id == instance.id, Incident.resolved_at.is_(None))
        ).first()
        if open_incident is not None:
            return
        session.add(Incident(instance_id=instance.id, task_id=error.task_id, bpmn_id=error.element_id,
                             message=error.message))
        session.add(HistoryEvent(instance_id=instance.id, kind="error", bpmn_id=error.element_id,
                                 task_id=error.task_id, data={"message": error.message}))

    def _sync_tasks(self, session: Session, instance: ProcessInstance, outcome: Outcome) -> None:
        existing = {t.id: t for t in session.scalars(select(OpenTask).where(OpenTask.instance_id == instance.id))}
        ready = {view.id: view for view in outcome.user_tasks}
        gone = [tid for tid in existing if tid not in ready]
        if gone:
            session.execute(delete(TaskCandidate).where(TaskCandidate.task_id.in_(gone)))
            session.execute(delete(OpenTask).where(OpenTask.id.in_(gone)))
        for view in outcome.user_tasks:
            if view.id in existing:
                continue
            session.add(OpenTask(
                id=view.id, instance_id=instance.id, definition_id=instance.definition_id,
                definition_key=instance.definition_key, bpmn_id=view.bpmn_id, name=view.name, type=view.type,
                lane=view.lane, assignee=view.assignee, candidate_users=view.candidate_users,
                candidate_groups=view.candidate_groups, form=view.form, documentation=view.documentation,
                extensions=view.extensions, priority=view.priority, due=view.due,
            ))
            session.flush()
            for kind, names in (("user", view.candidate_users), ("group", view.candidate_groups)):
                for name in dict.fromkeys(names):
                    session.add(TaskCandidate(task_id=view.id, kind=kind, name=name, instance_id=instance.id))

    def _sync_waits(self, session: Session, instance: ProcessInstance, outcome: Outcome) -> None:
        session.execute(delete(MessageWait).where(MessageWait.instance_id == instance.id))
        for wait in outcome.messages:
            session.add(MessageWait(instance_id=instance.id, task_id=wait.task_id, bpmn_id=wait.bpmn_id,
                                    message_name=wait.name))
        pending = {
            job.task_id: job
            for job in session.scalars(
                select(Job).where(Job.instance_id == instance.id, Job.kind == "timer", Job.status == PENDING)
            )
        }
        wanted = {t.task_id: t for t in outcome.timers} if instance.status in ACTIVE_STATUSES else {}
        for task_id, job in pending.items():
            if task_id not in wanted:
                session.delete(job)
        for task_id, timer in wanted.items():
            job = pending.get(task_id)
            if job is None:
                session.add(Job(instance_id=instance.id, kind="timer", task_id=task_id, due_at=timer.due,
                                payload={"bpmn_id": timer.bpmn_id}))
            elif job.due_at != timer.due:
                job.due_at = timer.due

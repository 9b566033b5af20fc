"""Loading an instance under a lock and writing back its state and the rows derived from it.

Everything an advance produces (state document, open tasks, message waits, timer and continue
jobs, history, incidents) is written in the caller's transaction, so a job is never lost and a
half-done step is never visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session, make_transient_to_detached

from bpmn.dialect import Dialect
from bpmn.engine import CafeScriptEngine
from bpmn.runtime import MessageWait as MessageWaiting
from bpmn.runtime import Outcome, ProcessRun, TimerWait, Waiting
from bpmn.tasks import UserTaskView

from .. import direct_sql
from ..models import (
    HistoryEvent,
    Incident,
    Job,
    MessageWait,
    OpenTask,
    ProcessInstance,
    TaskCandidate,
)
from ..models.instances import ACTIVE_STATUSES, COMPLETED, ERROR, RUNNING
from ..models.jobs import PENDING
from . import participants, service_calls
from .closings import (
    cancelled_parked,
    cancelled_tasks,
    closed_unnamed,
    history_row,
    left_behind,
    parked_taken_away,
)
from .errors import Conflict, NotFound, Stale
from .people_asked import sort_people_asked
from .specs import DefinitionInfo, SpecCache

# Core statements on the tables: the ORM's bulk INSERT costs more than the rest of a write
HISTORY_INSERT = insert(HistoryEvent.__table__)
INSTANCE_INSERT = insert(ProcessInstance.__table__)
_INSTANCES = ProcessInstance.__table__
_WRITTEN_COLUMNS = ("state", "variables", "status", "updated_at", "ended_at", "end_reason")
_INSTANCE = select(_INSTANCES).where(_INSTANCES.c.id == bindparam("instance_id"))
_INSTANCE_HELD = _INSTANCE.with_for_update()
# set in a session's info by `Cafe.optimistic` for its last attempt, which plans inside the write
# transaction: what the plan reads (the instance, the latest version of a key) it must hold
PLAN_HOLDS = "plan_holds"
# built once: building and caching a statement costs more than sending it
INSTANCE_UPDATE = (
    update(_INSTANCES)
    .where(_INSTANCES.c.id == bindparam("instance_id"), _INSTANCES.c.revision == bindparam("read_revision"))
    .values({**{name: bindparam(name) for name in _WRITTEN_COLUMNS}, "revision": bindparam("new_revision")})
)
OPEN_TASK_DELETE = delete(OpenTask.__table__).where(OpenTask.__table__.c.id == bindparam("task_id"))
OPEN_TASK_INSERT = insert(OpenTask.__table__)
CANDIDATE_INSERT = insert(TaskCandidate.__table__)


@dataclass(frozen=True)
class Dumped:
    """A run's state document and variables, taken before the write transaction (`InstanceStore.dump`)."""

    state: str
    variables: dict


@dataclass
class PlannedAdvance:
    """An instance read at `revision` and run on in memory after one event (`cause`, its history
    row), written by `InstanceStore.write_planned` unless the instance changed since."""

    instance: ProcessInstance  # as read, detached
    revision: int
    run: ProcessRun
    outcome: Outcome
    dumped: Dumped
    cause: dict


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

    @staticmethod
    def read_detached(session: Session, instance_id: str) -> ProcessInstance:
        """The instance as a detached object made from one Core row, for planning outside the write
        transaction: cheaper than the session's loading, and the plan's writer checks the revision.
        A plan inside the write transaction (`PLAN_HOLDS`) locks the row on PostgreSQL, so no other
        writer changes the instance between this read and the write."""
        held = session.info.get(PLAN_HOLDS) and session.get_bind().dialect.name == "postgresql"
        row = session.execute(_INSTANCE_HELD if held else _INSTANCE, {"instance_id": instance_id}).mappings().first()
        if row is None:
            raise Conflict(f"instance {instance_id} is gone")
        instance = ProcessInstance(**row)
        make_transient_to_detached(instance)
        return instance

    def load(self, session: Session, instance: ProcessInstance) -> ProcessRun:
        if instance.state is None:
            raise Conflict(f"instance {instance.id} has ended")
        info = self.specs.info(session, instance.definition_id)
        return ProcessRun.load(instance.state, info.specs, info.dialect, self.engine(info.dialect))

    def new_run(self, info: DefinitionInfo, variables: dict) -> ProcessRun:
        return ProcessRun.start(info.specs, info.dialect, self.engine(info.dialect), variables)

    # -- saving -----------------------------------------------------------------------------------

    def advance(self, run: ProcessRun, continuation: bool = False) -> Outcome:
        """Run the engine until the instance waits, the step budget is spent or it reaches a
        transaction boundary that only a `continuation` (the continue job) passes (no database)."""
        return run.advance(self.settings.step_budget, continuation)

    @staticmethod
    def dump(run: ProcessRun) -> Dumped:
        """The state and variables to write, taken by a caller that writes later: serializing then
        happens outside the write transaction, which holds the database on SQLite."""
        return Dumped(run.dump(), run.variables())

    def advance_and_save(self, session: Session, instance: ProcessInstance, run: ProcessRun,
                         user: str | None = None, continuation: bool = False) -> Outcome:
        outcome = self.advance(run, continuation)
        self.save(session, instance, run, outcome)
        return outcome

    def write_planned(self, session: Session, planned: PlannedAdvance) -> list[dict] | None:
        """Write a planned advance; `Stale` when the instance changed since it was read. The
        revision check comes before the first write, so a refused write leaves nothing to undo.
        Returns what `save` returns."""
        self.lock_revision(session, planned.instance.id, planned.revision)
        return self.save(session, planned.instance, planned.run, planned.outcome, expected_revision=planned.revision,
                         events=[planned.cause], dumped=planned.dumped)

    def lock_revision(self, session: Session, instance_id: str, revision: int) -> None:
        """Lock an instance read outside this transaction, if it is still at `revision` (`Stale` if
        another writer came first). Callers lock the instance before its tasks, as every writer
        does, so two writers never wait for each other in a circle. On SQLite the transaction
        already holds the database, and the UPDATE in `save` checks the revision."""
        if session.get_bind().dialect.name != "postgresql":
            return
        table = ProcessInstance.__table__
        current = session.execute(select(table.c.revision).where(table.c.id == instance_id).with_for_update()).scalar()
        if current != revision:
            raise Stale(f"instance {instance_id} changed while this request worked on it")

    def save(self, session: Session, instance: ProcessInstance, run: ProcessRun, outcome: Outcome,
             events: list[dict] = (), new: bool = False, expected_revision: int | None = None,
             dumped: Dumped | None = None) -> list[dict] | None:
        """Write the state (`dumped`, or dumped now) and bring the derived rows from what the stored state waited for
        (`run.baseline`) to what the outcome waits for.

        Only differences are written: a step that leaves the waits unchanged costs one UPDATE.
        On the hot paths the instance is not in the session and its row is written with one Core
        statement, cheaper than the ORM's unit of work: a `new` instance is INSERTed; one read
        outside this transaction is UPDATEd only if still at `expected_revision` (`Stale`
        otherwise, raised before this writes anything). `events` are history rows of what led to
        this advance (the instance started, a task completed), written before the steps' rows;
        after them come `task_cancelled` rows for the open tasks and parked steps that closed otherwise,
        then `ended`; the service calls of parked steps taken away are cancelled.

        Returns the rows of the instance's open tasks when this write inserted all of them, so a
        response needs no query; None when some were open before.
        """
        before = run.baseline
        now = datetime.now(timezone.utc)
        dumped = dumped or self.dump(run)
        instance.state = dumped.state
        instance.variables = dumped.variables
        instance.updated_at = now
        history = list(events)
        for s in outcome.steps:
            at = datetime.fromtimestamp(s.at, timezone.utc)
            if s.fired_timer:  # due when reached (a past date): no job wrote its `timer_fired`
                history.append(history_row(instance.id, "timer_fired", at, bpmn_id=s.bpmn_id, task_id=s.fired_timer,
                                           data={"due": at.isoformat()}))
            history.append(history_row(instance.id, "activity_completed", at, bpmn_id=s.bpmn_id, name=s.name,
                                       element_type=s.type))
        previous_status, instance.status = instance.status, outcome.status
        ended: list[dict] = []
        if outcome.status == COMPLETED:
            instance.ended_at = now
            instance.end_reason = "completed"
            ended.append(history_row(instance.id, "ended", now))
        if new:
            self._insert_new(session, instance, now)
        elif expected_revision is not None:  # the first statement: `Stale` leaves nothing written
            self._update_unless_changed(session, instance, expected_revision)
        participants.status_changed(session, instance, previous_status)
        if outcome.status == ERROR:  # its `error` row goes after `started` and the steps that ran
            history += self._open_incident(session, instance, outcome, now)
        closed = closed_unnamed(before.user_task_ids, outcome.user_tasks, events)
        taken = parked_taken_away(before.parked, outcome)
        if history or ended or closed or taken:
            if session.new or session.dirty:  # Core statements do not flush: earlier ORM events go first
                session.flush()
            history += (cancelled_tasks(session, instance.id, now, closed)
                        + cancelled_parked(instance.id, now, taken, before.user_task_ids) + ended)
            if history:
                direct_sql.execute(session, HISTORY_INSERT, history)
        if taken:  # no post of the step is sent, no vote or image taken, no worker fetches or completes it
            service_calls.cancel_open_calls(session, instance.id, left_behind(instance),
                                            task_ids=[step.task_id for step in taken])
        task_rows = self._sync_tasks(session, instance, before.user_task_ids, outcome.user_tasks)
        self._sync_messages(session, instance, before.messages, set(outcome.messages))
        self._sync_timers(session, instance, before.timers, set(outcome.timers))
        for request in outcome.requests:
            service_calls.record(session, instance.id, request)
        for message in outcome.thrown:  # message flows to other instances, correlated by the job runner
            session.add(Job(instance_id=instance.id, kind="message_throw", due_at=now, payload={
                "name": message.name, "payload": message.payload, "correlations": message.correlations,
                "business_key": instance.business_key}))
        if outcome.status == RUNNING and not self._continue_pending(session, instance.id):
            session.add(Job(instance_id=instance.id, kind="continue", due_at=now))
        if outcome.status == RUNNING or outcome.requests or outcome.thrown:
            session.info["wake_jobs"] = True
        run.baseline = Waiting(frozenset(v.id for v in outcome.user_tasks), frozenset(outcome.timers),
                               frozenset(outcome.messages), frozenset(outcome.parked))
        return task_rows if len(task_rows) == len(outcome.user_tasks) else None

    @staticmethod
    def _insert_new(session: Session, instance: ProcessInstance, now: datetime) -> None:
        instance.started_at = instance.started_at or now
        instance.revision = 1  # what the ORM's version counter starts at
        columns = ProcessInstance.__table__.columns
        direct_sql.execute(session, INSTANCE_INSERT, {c.key: getattr(instance, c.key) for c in columns})

    @staticmethod
    def _update_unless_changed(session: Session, instance: ProcessInstance, revision: int) -> None:
        changed = direct_sql.execute(session, INSTANCE_UPDATE, {
            **{name: getattr(instance, name) for name in _WRITTEN_COLUMNS},
            "instance_id": instance.id, "read_revision": revision, "new_revision": revision + 1})
        if changed != 1:
            raise Stale(f"instance {instance.id} changed while this request worked on it")
        instance.revision = revision + 1

    @staticmethod
    def _continue_pending(session: Session, instance_id: str) -> bool:
        return session.scalars(select(Job.id).where(Job.instance_id == instance_id, Job.kind == "continue",
                                                    Job.status == PENDING).limit(1)).first() is not None

    def _open_incident(self, session: Session, instance: ProcessInstance, outcome: Outcome,
                       now: datetime) -> list[dict]:
        """Open an incident unless one is open; returns its `error` history row, which the caller
        writes with the others (added to the session, it was flushed ahead of `started`)."""
        error = outcome.error
        open_incident = session.scalars(
            select(Incident.id).where(Incident.instance_id == instance.id, Incident.resolved_at.is_(None))
        ).first()
        if open_incident is not None:
            return []
        session.add(Incident(instance_id=instance.id, task_id=error.task_id, bpmn_id=error.element_id,
                             message=error.message))
        return [history_row(instance.id, "error", now, bpmn_id=error.element_id, task_id=error.task_id,
                            data={"message": error.message})]

    def _sync_tasks(self, session: Session, instance: ProcessInstance, before: frozenset[str],
                    ready: list[UserTaskView]) -> list[dict]:
        """Delete the rows of tasks that closed, insert those that opened; returns the inserted rows."""
        now_ids = {view.id for view in ready}
        gone = [tid for tid in before if tid not in now_ids]
        if gone:  # task_candidates rows go with them (ON DELETE CASCADE)
            direct_sql.execute(session, OPEN_TASK_DELETE, [{"task_id": task_id} for task_id in gone])
        new = [view for view in ready if view.id not in before]
        if not new:
            return []
        sort_people_asked(session, new)  # a review's or image step's names: users or groups (no query otherwise)
        created = {v.id: datetime.now(timezone.utc) for v in new}  # copied to the candidate rows (list order)
        rows = [
            {"id": v.id, "instance_id": instance.id, "definition_id": instance.definition_id,
             "definition_key": instance.definition_key, "bpmn_id": v.bpmn_id, "name": v.name, "type": v.type,
             "lane": v.lane, "assignee": v.assignee, "candidate_users": v.candidate_users,
             "candidate_groups": v.candidate_groups, "form": v.form, "documentation": v.documentation,
             "extensions": v.extensions, "priority": v.priority, "due": v.due,
             "created_at": created[v.id]}
            for v in new
        ]
        direct_sql.execute(session, OPEN_TASK_INSERT, rows)
        candidates = [
            {"task_id": v.id, "kind": kind, "name": name, "instance_id": instance.id,
             "definition_key": instance.definition_key, "created_at": created[v.id]}
            for v in new
            for kind, names in (("user", v.candidate_users), ("group", v.candidate_groups))
            for name in dict.fromkeys(names)
        ]
        if candidates:
            direct_sql.execute(session, CANDIDATE_INSERT, candidates)
        participants.add_for_tasks(session, instance, new)
        return rows

    def _sync_messages(self, session: Session, instance: ProcessInstance, before: frozenset[MessageWaiting],
                       after: set[MessageWaiting]) -> None:
        gone = [w.task_id for w in before - after]
        if gone:
            session.execute(delete(MessageWait).where(MessageWait.instance_id == instance.id,
                                                      MessageWait.task_id.in_(gone)))
        new = after - before
        if new:
            session.execute(insert(MessageWait), [
                {"instance_id": instance.id, "task_id": w.task_id, "bpmn_id": w.bpmn_id, "message_name": w.name,
                 "kind": w.kind}
                for w in new
            ])

    def _sync_timers(self, session: Session, instance: ProcessInstance, before: frozenset[TimerWait],
                     after: set[TimerWait]) -> None:
        if instance.status not in ACTIVE_STATUSES:
            after = set()
        gone = [t.task_id for t in before - after]
        if gone:
            session.execute(delete(Job).where(Job.instance_id == instance.id, Job.kind == "timer",
                                              Job.status == PENDING, Job.task_id.in_(gone)))
        new = after - before
        if new:
            session.execute(insert(Job), [
                {"instance_id": instance.id, "kind": "timer", "task_id": t.task_id, "due_at": t.due,
                 "payload": {"bpmn_id": t.bpmn_id}, "status": PENDING, "attempts": 0,
                 "created_at": datetime.now(timezone.utc)}
                for t in new
            ])

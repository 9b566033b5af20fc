"""Starting instances and acting on them: variables, termination, incidents, history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bpmn.catch_events import start_through_event
from bpmn.conditions import waits_for_condition
from bpmn.forms import FormInvalid, validate_camunda
from bpmn.runtime import Outcome, ProcessRun
from bpmn.start_forms import start_form_of
from bpmn.timer_starts import fire_start_event, start_by_hand

from ..access import Principal, instance_visible, require_admin  # noqa: F401 (require_admin: /engine-rest)
from ..models import (
    HistoryEvent,
    Incident,
    Job,
    MessageWait,
    OpenTask,
    ProcessInstance,
    TaskCandidate,
)
from ..models.base import new_id
from ..models.instances import ACTIVE_STATUSES, ERROR, RUNNING, TERMINATED
from ..models.jobs import FAILED, PENDING
from . import participants, service_calls
from .closings import cancelled_parked, cancelled_tasks, history_row
from .errors import BadRequest, Conflict, Invalid, NotFound, Stale
from .instance_search import InstanceFilter, search  # noqa: F401 (the API's names for the search)
from .specs import DefinitionInfo
from .store import PLAN_HOLDS, Dumped, InstanceStore


@dataclass
class PlannedStart:
    """A new instance run until it waits, not yet written (`plan_start`, then `write_start`)."""

    definition: DefinitionInfo
    instance: ProcessInstance
    run: ProcessRun
    outcome: Outcome
    dumped: Dumped
    variables: dict
    timer_start: str | None
    guessed_latest: bool = False  # `definition` is this process's guess of the key's latest version
    open_task_rows: list[dict] | None = None  # set by `write_start`: the rows of the tasks it opened


def plan_start(
    store: InstanceStore,
    definition: DefinitionInfo,
    variables: dict | None = None,
    business_key: str | None = None,
    user: str | None = None,
    timer_start: str | None = None,
    started_by_event: str | None = None,
) -> PlannedStart:
    """Create an instance and run it until it waits, without the database: nobody else can touch
    an instance that does not exist yet, so the engine work needs no transaction.

    `timer_start` names the timer start event that fired (the instance starts through it at once);
    `started_by_event`, the message or signal that starts the instance: it starts through the start
    events that catch it only (not through a plain start event beside them), and waits there for
    the caller to deliver it.
    """
    instance = ProcessInstance(
        id=new_id(),
        definition_id=definition.id,
        definition_key=definition.key,
        business_key=business_key,
        tenant_id=definition.tenant_id,
        status=RUNNING,
        started_by=user,
        started_at=datetime.now(timezone.utc),  # before the engine's steps, which the history lists after it
    )
    run = store.new_run(definition, variables or {})
    if started_by_event is not None:
        start_through_event(run.workflow, started_by_event)
    elif through := timer_start or start_by_hand(run.workflow.spec):  # a timer-only process by hand: at once
        fire_start_event(run.workflow, through)
    outcome = store.advance(run)
    return PlannedStart(definition, instance, run, outcome, store.dump(run), variables or {}, timer_start)


def plan_start_of(session: Session, store: InstanceStore, definition_id: str | None, definition_key: str | None,
                  variables: dict, business_key: str | None, user: str) -> PlannedStart:
    """`plan_start` of a definition named by id, or by key for its latest version. By key, the
    version is the newest this process knows of; `write_start` confirms it is still the newest."""
    if definition_id:
        info = store.specs.info(session, definition_id)
        return plan_start(store, info, filled_in_start_form(info, variables), business_key, user)
    if not definition_key:
        raise BadRequest("name the process: definition_key or definition_id")
    if session.info.get(PLAN_HOLDS):  # inside the write transaction: the version it reads is the latest
        info = store.specs.latest(session, definition_key)
        return plan_start(store, info, filled_in_start_form(info, variables), business_key, user)
    info = store.specs.latest_guess(session, definition_key)
    planned = plan_start(store, info, filled_in_start_form(info, variables), business_key, user)
    planned.guessed_latest = True
    return planned


def filled_in_start_form(definition: DefinitionInfo, variables: dict) -> dict:
    """A start through the API submits the process's start form, when its start event has one
    (`camunda:formData`): the values are checked and typed as a task's form values are, and fields
    left out take their defaults. The form comes from the parsed spec: no query."""
    form = start_form_of(definition.specs.spec)
    if not form or not form["fields"]:
        return variables
    try:
        return validate_camunda(form, variables)
    except FormInvalid as err:
        raise Invalid(f"the variables do not fit the start form: {err}", errors=err.errors) from err


def write_start(session: Session, store: InstanceStore, planned: PlannedStart) -> ProcessInstance:
    """Write a planned instance: the row once, with its state, and the rows derived from it."""
    if planned.guessed_latest and not store.specs.is_latest(session, planned.definition):
        raise Stale(f"a newer version of {planned.definition.key!r} was deployed while the instance started")
    instance = planned.instance
    started = {"variables": planned.variables, "business_key": instance.business_key,
               "definition_id": instance.definition_id}
    if planned.timer_start:
        started["timer_start"] = planned.timer_start
    started_event = history_row(instance.id, "started", instance.started_at, user=instance.started_by, data=started)
    planned.open_task_rows = store.save(session, instance, planned.run, planned.outcome, events=[started_event],
                                        new=True, dumped=planned.dumped)
    participants.add_starter(session, instance, planned.outcome)
    return instance


def start(
    session: Session,
    store: InstanceStore,
    definition: DefinitionInfo,
    variables: dict | None = None,
    business_key: str | None = None,
    user: str | None = None,
    timer_start: str | None = None,
    started_by_event: str | None = None,
) -> tuple[ProcessInstance, Outcome]:
    """Create an instance and run it until it waits, in the caller's transaction."""
    planned = plan_start(store, definition, variables, business_key, user, timer_start, started_by_event)
    return write_start(session, store, planned), planned.outcome


def get_visible(session: Session, principal: Principal, instance_id: str) -> ProcessInstance:
    instance = session.scalars(
        select(ProcessInstance).where(ProcessInstance.id == instance_id, instance_visible(principal))
    ).first()
    if instance is None:
        raise NotFound(f"no process instance with id {instance_id!r}")
    return instance


def open_tasks(session: Session, instance_id: str) -> list[OpenTask]:
    return list(session.scalars(select(OpenTask).where(OpenTask.instance_id == instance_id)
                                .order_by(OpenTask.created_at)))


def incidents(session: Session, instance_id: str, open_only: bool = False) -> list[Incident]:
    query = select(Incident).where(Incident.instance_id == instance_id)
    if open_only:
        query = query.where(Incident.resolved_at.is_(None))
    return list(session.scalars(query.order_by(Incident.id)))


def history(session: Session, instance_id: str, after_id: int = 0, limit: int = 500) -> list[HistoryEvent]:
    return list(session.scalars(
        select(HistoryEvent).where(HistoryEvent.instance_id == instance_id, HistoryEvent.id > after_id)
        .order_by(HistoryEvent.id).limit(limit)
    ))


def update_variables(session: Session, store: InstanceStore, instance_id: str, user: str,
                     values: dict, deletions: list[str] = ()) -> ProcessInstance:
    instance = store.lock(session, instance_id)
    if instance.status not in ACTIVE_STATUSES:
        raise Conflict(f"instance {instance_id} has ended; its variables can no longer change")
    run = store.load(session, instance)
    run.set_variables(values, list(deletions))
    session.add(HistoryEvent(instance_id=instance.id, kind="variables_changed", user=user,
                             data={"set": values, "deleted": list(deletions)}))
    participants.add_users(session, instance, user)
    if instance.status != ERROR and waits_for_condition(run.workflow):
        store.advance_and_save(session, instance, run, user)  # a conditional event may fire now
        return instance
    instance.state = run.dump()
    instance.variables = run.variables()
    instance.updated_at = datetime.now(timezone.utc)
    return instance


def terminate(session: Session, store: InstanceStore, instance_id: str, user: str,
              reason: str = "terminated") -> ProcessInstance:
    instance = store.lock(session, instance_id)
    if instance.status not in ACTIVE_STATUSES:
        raise Conflict(f"instance {instance_id} has already ended ({instance.status})")
    run = store.load(session, instance)
    run.cancel()
    now = datetime.now(timezone.utc)
    instance.state = run.dump()
    participants.set_status(session, instance, TERMINATED)
    instance.status = TERMINATED
    instance.ended_at = now
    instance.end_reason = reason
    # the open tasks, and the parked steps the task list never showed (a status to publish, an external task)
    cancelled = cancelled_tasks(session, instance.id, now)
    cancelled += cancelled_parked(instance.id, now, run.baseline.parked, run.baseline.user_task_ids)
    session.add_all(HistoryEvent(**row) for row in cancelled)
    _drop_derived_rows(session, instance.id)
    ended = f"instance {instance.id} was terminated" + ("" if reason == "terminated" else f" ({reason})")
    service_calls.cancel_open_calls(session, instance.id, ended)
    session.execute(delete(Job).where(Job.instance_id == instance.id))
    for incident in incidents(session, instance.id, open_only=True):
        incident.resolved_at = now
    session.add(HistoryEvent(instance_id=instance.id, kind="terminated", user=user, data={"reason": reason}))
    participants.add_users(session, instance, user)
    return instance


def _drop_derived_rows(session: Session, instance_id: str) -> None:
    session.execute(delete(TaskCandidate).where(TaskCandidate.instance_id == instance_id))
    session.execute(delete(OpenTask).where(OpenTask.instance_id == instance_id))
    session.execute(delete(MessageWait).where(MessageWait.instance_id == instance_id))


def job_failed(session: Session, store: InstanceStore, job: Job) -> None:
    """A job of the instance failed for the last time (the runner gave up after its attempts): the
    instance goes into `error` with an incident naming the job and its error, so an admin sees it
    and can retry (`retry` arms the job again). Before, such an instance waited for a job that
    would never run, and nothing could be retried."""
    instance = store.lock(session, job.instance_id)
    if instance.status not in ACTIVE_STATUSES:
        return
    message = f"the {job.kind} job failed {job.attempts} times: {job.last_error or 'no error recorded'}"
    bpmn_id = (job.payload or {}).get("bpmn_id")
    if instance.status != ERROR:
        participants.set_status(session, instance, ERROR)
        instance.status = ERROR
    if not incidents(session, instance.id, open_only=True):
        session.add(Incident(instance_id=instance.id, task_id=job.task_id, bpmn_id=bpmn_id, message=message))
    session.add(HistoryEvent(instance_id=instance.id, kind="error", bpmn_id=bpmn_id, task_id=job.task_id,
                             data={"message": message, "job": job.kind}))


def retry(session: Session, store: InstanceStore, instance_id: str, user: str,
          variables: dict | None = None) -> tuple[ProcessInstance, Outcome]:
    """Run the failed step again, after an admin corrected the data it needs; jobs of the instance
    the runner gave up on (`job_failed`) are due again, with their attempts counted afresh."""
    instance = store.lock(session, instance_id)
    if instance.status != ERROR:
        raise Conflict(f"instance {instance_id} has no incident to retry (status {instance.status})")
    rearmed = session.execute(
        update(Job).where(Job.instance_id == instance.id, Job.status == FAILED)
        .values(status=PENDING, attempts=0, due_at=datetime.now(timezone.utc), last_error=None,
                locked_by=None, locked_until=None)).rowcount
    if rearmed:
        session.info["wake_jobs"] = True
    run = store.load(session, instance)
    if variables:
        run.set_variables(variables)
    run.retry()
    now = datetime.now(timezone.utc)
    for incident in incidents(session, instance.id, open_only=True):
        incident.resolved_at = now
    session.add(HistoryEvent(instance_id=instance.id, kind="retried", user=user, data={"variables": variables or {}}))
    participants.add_users(session, instance, user)
    participants.set_status(session, instance, RUNNING)
    instance.status = RUNNING
    outcome = store.advance_and_save(session, instance, run, user)
    return instance, outcome


"""Parked service tasks: recording their requests, and finishing them with a result or an error.

Social steps and Camunda external tasks both park their service task (see bpmn.service_tasks).
Whoever does the work (the social job handlers, an external worker through fetchAndLock)
finishes the call here, which completes the task or throws a BPMN error at it and runs the
instance on, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpmn.errors import NotWaiting, RunError
from bpmn.runtime import Outcome
from bpmn.service_tasks import ServiceRequest

from ..models import HistoryEvent, ServiceCall
from ..models.instances import ACTIVE_STATUSES
from . import participants
from .errors import BadRequest, Conflict, NotFound

if TYPE_CHECKING:  # the store records calls through this module; only the type goes the other way
    from .store import InstanceStore

# What happens right after a call is recorded, by operator prefix (e.g. the social module queues
# a job). Registered by the modules that handle the operators; external tasks need nothing.
Dispatcher = Callable[[Session, ServiceCall], None]
DISPATCHERS: dict[str, Dispatcher] = {}


# What happens when a call ends without its work being done (its step failed, was interrupted,
# or its instance ended), by operator prefix: the social module closes the step's review, so that
# nobody votes on a step the process has left. Called with the call and why it ended.
Closer = Callable[[Session, ServiceCall, str], None]
CLOSERS: dict[str, Closer] = {}


def register_dispatcher(prefix: str, dispatcher: Dispatcher) -> None:
    DISPATCHERS[prefix] = dispatcher


def register_closer(prefix: str, closer: Closer) -> None:
    CLOSERS[prefix] = closer


def _ended_without_result(session: Session, call: ServiceCall, why: str) -> None:
    for prefix, closer in CLOSERS.items():
        if call.operator.startswith(prefix):
            closer(session, call, why)


def record(session: Session, instance_id: str, request: ServiceRequest) -> ServiceCall:
    call = ServiceCall(instance_id=instance_id, task_id=request.task_id, bpmn_id=request.bpmn_id,
                       operator=request.operator, params=request.params, request=request.to_json())
    session.add(call)
    for prefix, dispatcher in DISPATCHERS.items():
        if request.operator.startswith(prefix):
            session.flush()
            dispatcher(session, call)
    return call


def cancel_open_calls(session: Session, instance_id: str, why: str, task_ids: list[str] | None = None) -> None:
    """Cancel the instance's pending calls (all, or those of `task_ids`): their step ended another
    way (termination, a boundary event, the instance's end). `why` is kept as the call's
    error_message, so whoever still acts on the step (a vote on its review) is told the reason."""
    query = select(ServiceCall).where(ServiceCall.instance_id == instance_id, ServiceCall.status == "pending")
    if task_ids is not None:
        query = query.where(ServiceCall.task_id.in_(task_ids))
    now = datetime.now(timezone.utc)
    for call in session.scalars(query).all():
        if call.status != "pending":  # finished in this transaction, not yet flushed
            continue
        call.status, call.error_message, call.finished_at = "cancelled", why, now
        _ended_without_result(session, call, why)


def get_call(session: Session, call_id: str) -> ServiceCall:
    call = session.get(ServiceCall, call_id)
    if call is None:
        raise NotFound(f"no service call {call_id!r}")
    return call


def _load_parked(session: Session, store: InstanceStore, call: ServiceCall):
    if call.status != "pending":
        raise Conflict(f"service call {call.id} is already {call.status}")
    instance = store.lock(session, call.instance_id)
    if instance.status not in ACTIVE_STATUSES:
        call.status = "cancelled"
        raise Conflict(f"instance {instance.id} has ended ({instance.status})")
    return instance, store.load(session, instance)


def finish(session: Session, store: InstanceStore, call: ServiceCall, result: Any,
           user: str | None = None, variables: dict | None = None) -> Outcome:
    """The work is done: the task gets its result (and `variables`), the instance runs on."""
    instance, run = _load_parked(session, store, call)
    if variables:
        task = run.find_task(call.task_id)
        if task is not None:
            task.data.update(variables)
    try:
        step = run.finish_service_task(call.task_id, result)
    except NotWaiting as err:
        raise Conflict(str(err)) from err
    except RunError as err:  # an output mapping failed on this result: the task stays parked
        raise BadRequest(f"{err.element_id}: {err.message}") from err
    call.status, call.result, call.finished_at = "done", {"value": result}, datetime.now(timezone.utc)
    session.add(HistoryEvent(instance_id=instance.id, kind="service_completed", bpmn_id=step.bpmn_id,
                             name=step.name, element_type=step.type, task_id=call.task_id, user=user,
                             data={"operator": call.operator}))
    participants.add_users(session, instance, user)
    return store.advance_and_save(session, instance, run, user)


def fail(session: Session, store: InstanceStore, call: ServiceCall, code: str, message: str,
         user: str | None = None, variables: dict | None = None) -> Outcome:
    """Throw BPMN error `code` at the task; uncaught, the instance gets an incident.

    `variables` go to every open task of the instance, not only the failing one: the boundary
    event that catches the error carries its own copy of the data onto the error path.
    """
    instance, run = _load_parked(session, store, call)
    if variables:
        run.set_variables(variables)
    try:
        caught = run.throw_error(call.task_id, code, message)
    except NotWaiting as err:
        raise Conflict(str(err)) from err
    call.status, call.error_message, call.finished_at = "failed", message, datetime.now(timezone.utc)
    _ended_without_result(session, call, f"the step failed: {message}")
    session.add(HistoryEvent(instance_id=instance.id, kind="service_failed", bpmn_id=call.bpmn_id,
                             task_id=call.task_id, user=user,
                             data={"operator": call.operator, "code": code, "message": message,
                                   "caught": caught}))
    participants.add_users(session, instance, user)
    return store.advance_and_save(session, instance, run, user)


def pending_for_instance(session: Session, instance_id: str) -> list[ServiceCall]:
    return list(session.scalars(select(ServiceCall).where(ServiceCall.instance_id == instance_id,
                                                          ServiceCall.status == "pending")))

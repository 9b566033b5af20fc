"""Correlating messages to waiting instances, or starting instances at message start events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpmn.errors import NotWaiting

from ..access import Principal, instance_visible
from ..models import MessageStart, MessageWait, ProcessInstance
from . import instances, participants, variable_match
from .closings import history_row
from .errors import BadRequest, Conflict, NotFound
from .store import InstanceStore, PlannedAdvance


@dataclass
class Correlation:
    name: str
    business_key: str | None = None
    instance_id: str | None = None
    correlation_keys: dict | None = None  # instance variables that must be equal
    variables: dict | None = None  # set on the instance before it continues
    all: bool = False


@dataclass
class Delivery:
    instance: ProcessInstance
    started: bool


def _waiting(session: Session, msg: Correlation, visible_to: Principal | None) -> list[str]:
    """Ids of the instances waiting for `msg` whose variables match its correlation keys, in one
    query that compares the keys' values in the database (server.services.variable_match): only
    the matching instances' variables are read, whatever number of others wait for the name."""
    name = MessageWait.message_name
    if msg.business_key:
        # Without statistics SQLite would look up every wait for the name and join each instance
        # (2.3 ms with 2,000 waiting); an expression hides the name's index, so the key's leads.
        name = name + ""
    query = (select(MessageWait.instance_id, ProcessInstance.variables)
             .join(ProcessInstance, ProcessInstance.id == MessageWait.instance_id)
             .where(name == msg.name, MessageWait.kind == "message"))
    if visible_to is not None:
        query = query.where(instance_visible(visible_to))
    if msg.instance_id:
        query = query.where(MessageWait.instance_id == msg.instance_id)
    if msg.business_key:
        query = query.where(ProcessInstance.business_key == msg.business_key)
    dialect = session.get_bind().dialect.name
    query = query.where(*variable_match.sql_conditions(ProcessInstance.variables, msg.correlation_keys, dialect))
    return list(dict.fromkeys(instance_id for instance_id, variables in session.execute(query)
                              if variable_match.matches(variables, msg.correlation_keys)))


def _may_start_instances(msg: Correlation) -> bool:
    """Only a message aimed at no particular instance may start one at a message start event."""
    return msg.instance_id is None and not msg.correlation_keys


def _starts_a_process(session: Session, msg: Correlation) -> bool:
    return session.scalars(select(MessageStart.id).where(
        MessageStart.message_name == msg.name, MessageStart.kind == "message").limit(1)).first() is not None


def _nothing_waits(msg: Correlation) -> NotFound:
    return NotFound(f"no instance is waiting for message {msg.name!r} with the given correlation, "
                    "and no process starts with it")


@dataclass
class PlannedCorrelation:
    msg: Correlation
    user: str
    deliveries: list[PlannedAdvance]  # none: the message starts instances, when written


def plan_correlation(session: Session, store: InstanceStore, msg: Correlation, user: str,
                     visible_to: Principal | None = None, waiting: list[str] | None = None) -> PlannedCorrelation:
    """Find where `msg` goes and run the waiting instances on, writing nothing: the engine work
    runs outside the write transaction (server.context.Cafe.optimistic), and a message nothing
    waits for is refused from this read. With `visible_to`, only instances that caller may see are
    candidates (server.access): a user's message cannot set variables on other people's
    instances. Without it (the server's own message flows and inbound watches), every waiting
    instance is. `waiting`: the candidates, when the caller has found (and locked) them."""
    if not msg.name:
        raise BadRequest("a message needs a name")
    if waiting is None:
        waiting = _waiting(session, msg, visible_to)
    if len(waiting) > 1 and not msg.all:
        raise Conflict(f"message {msg.name!r} matches {len(waiting)} waiting instances; "
                       "narrow it with a business key, instance id or correlation keys, or set all")
    if not waiting and not (_may_start_instances(msg) and _starts_a_process(session, msg)):
        raise _nothing_waits(msg)
    return PlannedCorrelation(msg, user, [_plan_delivery(session, store, instance_id, msg, user)
                                          for instance_id in waiting])


def write_correlation(session: Session, store: InstanceStore, planned: PlannedCorrelation) -> list[Delivery]:
    """Write planned deliveries (`Stale` when an instance changed since it was read), or start
    instances at message start events. Those starts run the engine in this transaction: they
    are rare, and planning them apart would duplicate the start path."""
    if planned.deliveries:
        return [Delivery(_write_delivery(session, store, d, planned.user), started=False)
                for d in planned.deliveries]
    started = _start_by_message(session, store, planned.msg, planned.user)
    if not started:
        raise _nothing_waits(planned.msg)
    return started


def deliver(optimistic: Callable, store: InstanceStore, msg: Correlation, caller: Principal) -> list[Delivery]:
    """A request's delivery: planned from a read and written with a revision check, through
    `optimistic` (server.context.Cafe.optimistic), so the engine runs outside the write transaction.
    The caller's message reaches only instances they may see (server.access)."""
    return optimistic(lambda session: plan_correlation(session, store, msg, caller.name, caller),
                      lambda session, planned: write_correlation(session, store, planned))


def correlate(session: Session, store: InstanceStore, msg: Correlation, user: str,
              visible_to: Principal | None = None) -> list[Delivery]:
    """Plan and write in the caller's transaction (job handlers, which hold their own). On
    PostgreSQL the waiting instances are locked before they are read, so the plan cannot go stale."""
    waiting = None
    if msg.name and session.get_bind().dialect.name == "postgresql":
        waiting = _waiting(session, msg, visible_to)
        for instance_id in waiting:
            session.expunge(store.lock(session, instance_id))  # the row lock stays; the object goes
    return write_correlation(session, store, plan_correlation(session, store, msg, user, visible_to, waiting))


def _plan_delivery(session: Session, store: InstanceStore, instance_id: str, msg: Correlation,
                   user: str) -> PlannedAdvance:
    instance = store.read_detached(session, instance_id)
    run = store.load(session, instance)
    try:
        caught_by = run.deliver_message(msg.name, payload=msg.variables, variables=msg.variables)
    except NotWaiting as err:
        raise Conflict(str(err)) from err
    received = history_row(instance.id, "message_received", datetime.now(timezone.utc), name=msg.name, user=user,
                           bpmn_id=caught_by, data={"variables": msg.variables or {}})
    outcome = store.advance(run)
    return PlannedAdvance(instance, instance.revision, run, outcome, store.dump(run), cause=received)


def _write_delivery(session: Session, store: InstanceStore, planned: PlannedAdvance, user: str) -> ProcessInstance:
    store.write_planned(session, planned)
    participants.add_users(session, planned.instance, user)
    return planned.instance


def _start_by_message(session: Session, store: InstanceStore, msg: Correlation, user: str) -> list[Delivery]:
    keys = sorted(set(session.scalars(select(MessageStart.definition_key)
                                      .where(MessageStart.message_name == msg.name,
                                             MessageStart.kind == "message"))))
    deliveries = []
    for key in keys:
        definition = store.specs.latest(session, key)
        if not session.scalars(select(MessageStart).where(
                MessageStart.definition_id == definition.id, MessageStart.message_name == msg.name,
                MessageStart.kind == "message")).first():
            continue
        instance = _start_at_message(session, store, definition, msg, user)
        deliveries.append(Delivery(instance, started=True))
        if not msg.all:
            break
    return deliveries


def _start_at_message(session: Session, store: InstanceStore, definition, msg: Correlation,
                      user: str) -> ProcessInstance:
    """A message start event waits for its message right after creation; deliver it there."""
    instance, outcome = instances.start(session, store, definition, dict(msg.variables or {}),
                                        msg.business_key, user, started_by_event=msg.name)
    if any(w.name == msg.name for w in outcome.messages):
        return _write_delivery(session, store, _plan_delivery(session, store, instance.id, msg, user), user)
    return instance

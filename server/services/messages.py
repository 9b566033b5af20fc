"""Correlating messages to waiting instances, or starting instances at message start events."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpmn.errors import NotWaiting

from ..access import Principal, instance_visible
from ..models import HistoryEvent, MessageStart, MessageWait, ProcessInstance
from . import instances, participants
from .errors import BadRequest, Conflict, NotFound
from .store import InstanceStore


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


def _matches(variables: dict | None, keys: dict | None) -> bool:
    variables = variables or {}
    return all(variables.get(k) == v for k, v in (keys or {}).items())


def _waiting(session: Session, msg: Correlation, visible_to: Principal | None) -> list[str]:
    """Ids of the instances waiting for `msg` whose variables match its correlation keys. Their
    ids and variables come in one query: loading each instance (its state document included) to
    compare the keys cost a statement and a large row per candidate."""
    query = (select(MessageWait.instance_id, ProcessInstance.variables)
             .join(ProcessInstance, ProcessInstance.id == MessageWait.instance_id)
             .where(MessageWait.message_name == msg.name, MessageWait.kind == "message"))
    if visible_to is not None:
        query = query.where(instance_visible(visible_to))
    if msg.instance_id:
        query = query.where(MessageWait.instance_id == msg.instance_id)
    if msg.business_key:
        query = query.where(ProcessInstance.business_key == msg.business_key)
    return list(dict.fromkeys(instance_id for instance_id, variables in session.execute(query)
                              if _matches(variables, msg.correlation_keys)))


def _may_start_instances(msg: Correlation) -> bool:
    """Only a message aimed at no particular instance may start one at a message start event."""
    return msg.instance_id is None and not msg.correlation_keys


def _starts_a_process(session: Session, msg: Correlation) -> bool:
    return session.scalars(select(MessageStart.id).where(
        MessageStart.message_name == msg.name, MessageStart.kind == "message").limit(1)).first() is not None


def _nothing_waits(msg: Correlation) -> NotFound:
    return NotFound(f"no instance is waiting for message {msg.name!r} with the given correlation, "
                    "and no process starts with it")


def check_expected(session: Session, msg: Correlation, visible_to: Principal | None = None) -> None:
    """`NotFound` now if `correlate` would find nothing to deliver `msg` to. A read, for callers
    that answer such messages (retried webhooks, late replies) without opening a write
    transaction, which on SQLite would hold the database's one writer."""
    if (msg.name and not _waiting(session, msg, visible_to)
            and not (_may_start_instances(msg) and _starts_a_process(session, msg))):
        raise _nothing_waits(msg)


def correlate(session: Session, store: InstanceStore, msg: Correlation, user: str,
              visible_to: Principal | None = None) -> list[Delivery]:
    """With `visible_to`, only instances that caller may see are candidates (server.access): a
    user's message cannot set variables on other people's instances. Without it (the server's
    own message flows and inbound watches), every waiting instance is."""
    if not msg.name:
        raise BadRequest("a message needs a name")
    waiting = _waiting(session, msg, visible_to)
    if waiting:
        if len(waiting) > 1 and not msg.all:
            raise Conflict(f"message {msg.name!r} matches {len(waiting)} waiting instances; "
                           "narrow it with a business key, instance id or correlation keys, or set all")
        return [Delivery(_deliver(session, store, instance_id, msg, user), started=False) for instance_id in waiting]
    if _may_start_instances(msg):  # `_start_by_message` finds the processes that start with it
        started = _start_by_message(session, store, msg, user)
        if started:
            return started
    raise _nothing_waits(msg)


def _deliver(session: Session, store: InstanceStore, instance_id: str, msg: Correlation, user: str):
    instance = store.lock(session, instance_id)
    run = store.load(session, instance)
    try:
        run.deliver_message(msg.name, payload=msg.variables, variables=msg.variables)
    except NotWaiting as err:
        raise Conflict(str(err)) from err
    session.add(HistoryEvent(instance_id=instance.id, kind="message_received", name=msg.name, user=user,
                             data={"variables": msg.variables or {}}))
    participants.add_users(session, instance, user)
    store.advance_and_save(session, instance, run, user)
    return instance


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
        instance, _ = _start_at_message(session, store, definition, msg, user)
        deliveries.append(Delivery(instance, started=True))
        if not msg.all:
            break
    return deliveries


def _start_at_message(session, store, definition, msg: Correlation, user):
    """A message start event waits for its message right after creation; deliver it there."""
    instance, outcome = instances.start(session, store, definition, dict(msg.variables or {}),
                                        msg.business_key, user)
    if any(w.name == msg.name for w in outcome.messages):
        _deliver(session, store, instance.id, msg, user)
    return instance, outcome

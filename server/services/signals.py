"""Broadcasting signals: unlike a message, a signal reaches every instance waiting for it and
starts every process that has a start event for it (the latest version of each)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpmn.errors import NotWaiting

from ..access import Principal, instance_visible
from ..models import HistoryEvent, MessageStart, MessageWait, ProcessInstance
from . import instances, participants
from .errors import BadRequest
from .messages import Delivery
from .store import InstanceStore


@dataclass
class Signal:
    name: str
    variables: dict | None = None  # set on every instance the signal reaches
    instance_id: str | None = None  # only this instance (Camunda's executionId); starts nothing


def broadcast(session: Session, store: InstanceStore, signal: Signal, user: str | None,
              visible_to: Principal | None = None) -> list[Delivery]:
    """Deliver to every waiting instance, then start instances at signal start events.

    Nobody waiting is not an error: a signal is fire-and-forget, as in Camunda. Instances are
    locked in id order, so two concurrent broadcasts cannot deadlock on PostgreSQL. With
    `visible_to`, the signal reaches only the instances that caller may see (server.access).
    """
    if not signal.name:
        raise BadRequest("a signal needs a name")
    query = select(MessageWait.instance_id).where(MessageWait.message_name == signal.name,
                                                  MessageWait.kind == "signal")
    if visible_to is not None:
        query = query.join(ProcessInstance, ProcessInstance.id == MessageWait.instance_id).where(
            instance_visible(visible_to))
    if signal.instance_id:
        query = query.where(MessageWait.instance_id == signal.instance_id)
    deliveries = []
    for instance_id in sorted(set(session.scalars(query))):
        instance = _deliver(session, store, instance_id, signal, user)
        if instance is not None:
            deliveries.append(Delivery(instance, started=False))
    if signal.instance_id is None:
        deliveries.extend(_start_by_signal(session, store, signal, user))
    return deliveries


def _deliver(session: Session, store: InstanceStore, instance_id: str, signal: Signal,
             user: str | None) -> ProcessInstance | None:
    instance = store.lock(session, instance_id)
    run = store.load(session, instance)
    try:
        caught_by = run.deliver_signal(signal.name, signal.variables)
    except NotWaiting:  # the wait ended between the index query and the lock
        return None
    # one row per catching element: parallel branches (or a boundary and a catch) may each take it
    session.add_all(HistoryEvent(instance_id=instance.id, kind="signal_received", name=signal.name, user=user,
                                 bpmn_id=bpmn_id, data={"variables": signal.variables or {}})
                    for bpmn_id in dict.fromkeys(caught_by))
    participants.add_users(session, instance, user)
    store.advance_and_save(session, instance, run, user)
    return instance


def _start_by_signal(session: Session, store: InstanceStore, signal: Signal, user: str | None) -> list[Delivery]:
    keys = sorted(set(session.scalars(select(MessageStart.definition_key).where(
        MessageStart.message_name == signal.name, MessageStart.kind == "signal"))))
    started = []
    for key in keys:
        definition = store.specs.latest(session, key)
        if not session.scalars(select(MessageStart.id).where(
                MessageStart.definition_id == definition.id, MessageStart.message_name == signal.name,
                MessageStart.kind == "signal")).first():
            continue  # an older version started with this signal, the latest does not
        instance, outcome = instances.start(session, store, definition, dict(signal.variables or {}), None, user,
                                            started_by_event=signal.name)
        if any(w.kind == "signal" and w.name == signal.name for w in outcome.messages):
            _deliver(session, store, instance.id, signal, user)
        started.append(Delivery(instance, started=True))
    return started

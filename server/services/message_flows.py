"""Message flows between instances: a message one instance throws reaches another.

Each executable process of a collaboration is its own definition; a send task, message throw
event or message end event whose message the sending instance does not catch itself becomes a
`message_throw` job (written with the sender's step, so it is never lost). The job correlates it:

1. to an instance waiting for that message name - when the sender has a business key, only
   instances with the same business key (or none); SpiffWorkflow's correlation properties then
   decide, and a waiting instance whose properties do not match is skipped; the instance waiting
   longest gets it;
2. otherwise to the latest version of each other process with a message start event for it,
   started with the sender's business key (so a reply finds its way back); a process never starts
   itself this way, which would let one diagram multiply its instances without end;
3. otherwise the job fails and is retried with back-off: the receiver may not be waiting yet.

The body reaches the receiver as a message delivered through the API would: merged into the
data (plain), into `messageVariable` (Spiff), into `camunda:resultVariable` where a Camunda
diagram names one and merged into the data otherwise (bpmn.catch_events.CamundaMessage).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpmn.errors import NotWaiting

from ..models import HistoryEvent, Job, MessageStart, MessageWait, ProcessInstance
from ..models.instances import ACTIVE_STATUSES
from . import instances
from .store import InstanceStore


class NobodyWaiting(LookupError):
    """No instance takes the message and no process starts with it (yet): retry later."""


def deliver_thrown(session: Session, store: InstanceStore, job: Job) -> None:
    """The `message_throw` job: hand the message over, or raise NobodyWaiting to be retried."""
    name, body, business_key = job.payload["name"], job.payload.get("payload"), job.payload.get("business_key")
    for instance_id in _waiting(session, name, business_key, job.instance_id):
        if _deliver(session, store, instance_id, name, body, job.instance_id):
            session.delete(job)
            return
    sender = session.get(ProcessInstance, job.instance_id) if job.instance_id else None
    if _start(session, store, name, body, business_key, job.instance_id, sender.definition_key if sender else None):
        session.delete(job)
        return
    raise NobodyWaiting(f"no instance waits for message {name!r} and no process starts with it")


def _waiting(session: Session, name: str, business_key: str | None, sender: str | None) -> list[str]:
    query = (select(MessageWait.instance_id, ProcessInstance.business_key)
             .join(ProcessInstance, ProcessInstance.id == MessageWait.instance_id)
             .where(MessageWait.message_name == name, MessageWait.kind == "message",
                    ProcessInstance.status.in_(ACTIVE_STATUSES))
             .order_by(ProcessInstance.started_at, ProcessInstance.id))
    if sender is not None:
        query = query.where(ProcessInstance.id != sender)
    rows = session.execute(query).all()
    if business_key is not None:
        rows = [r for r in rows if r.business_key in (business_key, None)]
    return list(dict.fromkeys(r.instance_id for r in rows))


def _deliver(session: Session, store: InstanceStore, instance_id: str, name: str, body, sender: str | None) -> bool:
    instance = store.lock(session, instance_id)
    run = store.load(session, instance)
    try:
        caught_by = run.deliver_message(name, payload=body)
    except NotWaiting:  # correlation properties differ, or the wait ended since the query
        return False
    session.add(HistoryEvent(instance_id=instance.id, kind="message_received", name=name, bpmn_id=caught_by,
                             data={"from_instance": sender, "payload": body}))
    store.advance_and_save(session, instance, run)
    return True


def _start(session: Session, store: InstanceStore, name: str, body, business_key: str | None,
           sender: str | None, sender_key: str | None) -> bool:
    keys = sorted(set(session.scalars(select(MessageStart.definition_key).where(
        MessageStart.message_name == name, MessageStart.kind == "message"))) - {sender_key})
    started = False
    for key in keys:
        definition = store.specs.latest(session, key)
        if session.scalars(select(MessageStart.id).where(
                MessageStart.definition_id == definition.id, MessageStart.message_name == name,
                MessageStart.kind == "message")).first() is None:
            continue  # an older version started with this message, the latest does not
        instance, outcome = instances.start(session, store, definition, {}, business_key, None, started_by_event=name)
        if any(w.name == name and w.kind == "message" for w in outcome.messages):
            _deliver(session, store, instance.id, name, body, sender)
        started = True
    return started

"""Keeping `instance_participants` (server/models/participants.py) in step with the facts it copies.

Called where the facts are made: an instance starts (its starter), tasks open (their assignees
and candidate users and groups), a task is claimed or assigned, the history names a user (who
completed a task, sent a message, retried...), an instance's status changes. Each call is one
statement, and none reads first: an INSERT ... ON CONFLICT DO NOTHING of every party the event
names (most events name someone already there), or an UPDATE of the copied status.

The statements are Core statements on the table, so they never flush the session's pending
changes early: a flush in the middle of `InstanceStore.save` would write the instance row twice,
and on PostgreSQL it would take row locks sooner than the code around it expects.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, inspect, literal, select, text, union_all, update
from sqlalchemy.orm import Session

from bpmn.runtime import Outcome
from bpmn.tasks import UserTaskView

from .. import direct_sql
from ..db import dialect_insert
from ..models import InstanceParticipant, ProcessInstance
from ..models.participants import GROUP, USER

TABLE = InstanceParticipant.__table__
COLUMNS = ("instance_id", "party_kind", "party_name", "status", "definition_key", "started_at")


# SQLAlchemy compiles an ON CONFLICT statement again at every execution (it has no cache key),
# which cost more than the rest of a start's SQL; the same statement as text, with the columns'
# types for their parameters, compiles once. Both databases spell it this way.
_INSERT_NEW = text(
    f"INSERT INTO {TABLE.name} ({', '.join(COLUMNS)}) VALUES ({', '.join(':' + c for c in COLUMNS)}) "
    "ON CONFLICT DO NOTHING"
).bindparams(*(bindparam(c, type_=TABLE.c[c].type) for c in COLUMNS))
_SET_STATUS = update(TABLE).where(TABLE.c.instance_id == bindparam("instance")).values(status=bindparam("new_status"))


def add(session: Session, instance: ProcessInstance, parties: Iterable[tuple[str, str | None]]) -> None:
    """The (kind, name) `parties` take part in `instance` from now on (unnamed ones are skipped)."""
    named = [(kind, name) for kind, name in dict.fromkeys(parties) if name]
    if not named:
        return
    if inspect(instance).pending:  # the row must exist (foreign key) and started_at be set
        session.flush()
    rows = [{"instance_id": instance.id, "party_kind": kind, "party_name": name, "status": instance.status,
             "definition_key": instance.definition_key, "started_at": instance.started_at}
            for kind, name in named]
    direct_sql.execute(session, _INSERT_NEW, rows)


def add_users(session: Session, instance: ProcessInstance, *users: str | None) -> None:
    """Users named by an event on `instance` (the history's `user`, a new assignee)."""
    add(session, instance, ((USER, user) for user in users))


def add_users_by_id(session: Session, instance_id: str, *users: str | None) -> None:
    """`add_users` for a caller that holds only the instance's id (a claim holds the task): the
    copied columns are read by the INSERT itself, from the instance's row."""
    names = [user for user in dict.fromkeys(users) if user]
    if not names:
        return
    parties = union_all(*(
        select(ProcessInstance.id, literal(USER), literal(name), ProcessInstance.status,
               ProcessInstance.definition_key, ProcessInstance.started_at).where(ProcessInstance.id == instance_id)
        for name in names))
    session.execute(dialect_insert(session, TABLE).from_select(COLUMNS, parties).on_conflict_do_nothing())


def add_for_tasks(session: Session, instance: ProcessInstance, views: list[UserTaskView]) -> None:
    """Assignees and candidate users and groups of tasks that just opened, and the starter: the
    first tasks of a new instance then need no statement of their own for the starter
    (`add_starter`); for later tasks the starter's row is there already and costs nothing."""
    add(session, instance, [
        (USER, instance.started_by),
        *((USER, v.assignee) for v in views),
        *((USER, name) for v in views for name in v.candidate_users),
        *((GROUP, name) for v in views for name in v.candidate_groups),
    ])


def add_starter(session: Session, instance: ProcessInstance, outcome: Outcome) -> None:
    """The starter of a new instance, after its first save; when that save opened tasks,
    `add_for_tasks` wrote the starter with them and nothing is sent."""
    if not outcome.user_tasks:
        add_users(session, instance, instance.started_by)


def set_status(session: Session, instance: ProcessInstance, status: str) -> None:
    """Call before `instance.status` takes `status`: the rows' copy follows when it changes."""
    if status != instance.status:
        _copy_status(session, instance, status)


def status_changed(session: Session, instance: ProcessInstance, previous: str) -> None:
    """`set_status` for a caller that changed `instance.status` from `previous` and wrote the
    instance first (a write whose revision check must come before anything else it writes)."""
    if previous != instance.status:
        _copy_status(session, instance, instance.status)


def _copy_status(session: Session, instance: ProcessInstance, status: str) -> None:
    """Only an instance read from the database has rows (it may be detached: read outside the
    write transaction); a new one's rows are written after its status is set, so it needs nothing."""
    if inspect(instance).has_identity:
        direct_sql.execute(session, _SET_STATUS, {"instance": instance.id, "new_status": status})

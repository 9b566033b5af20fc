"""server.direct_sql: the hot paths' statements, sent straight to SQLite's driver, store exactly
what the session would store, report the rows they changed, and fail with SQLAlchemy's errors.
On PostgreSQL the same calls go through the session, and the same tests hold."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import bindparam, delete, insert, select, text
from sqlalchemy.exc import IntegrityError

from server import direct_sql
from server.models import HistoryEvent, OpenTask, ProcessInstance
from server.services.closings import history_row
from server.services.store import HISTORY_INSERT, INSTANCE_UPDATE, OPEN_TASK_INSERT
from tests.api.engine_support import diagram

AT = datetime(2026, 11, 27, 12, 30, 5, 123456, tzinfo=timezone.utc)
DATA = {"approved": True, "note": "Grüße", "amounts": [1, 2.5], "nested": {"none": None}}


@pytest.fixture
def instance_id(admin_api) -> str:
    admin_api.deploy(diagram("claims.bpmn"))
    return admin_api.start("claims", {"amount": 3})["id"]


def _stored_history(db, instance_id: str, kind: str) -> tuple:
    """The columns as the database holds them (text for dates and JSON on SQLite), not as read back."""
    with db.engine.connect() as connection:
        return connection.execute(text(
            "SELECT at, kind, bpmn_id, user, data FROM history_events WHERE instance_id = :id AND kind = :kind"
        ), {"id": instance_id, "kind": kind}).one()


def test_a_row_sent_directly_is_stored_as_the_session_stores_it(cafe, instance_id):
    with cafe.db.transaction() as session:
        direct_sql.execute(session, HISTORY_INSERT, history_row(
            instance_id, "by_driver", AT, bpmn_id="Review", user="ann", data=DATA))
        session.execute(HISTORY_INSERT, [history_row(instance_id, "by_session", AT, bpmn_id="Review", user="ann",
                                                     data=DATA)])
    direct, through_session = (_stored_history(cafe.db, instance_id, kind) for kind in ("by_driver", "by_session"))
    assert direct[0] == through_session[0] and direct[2:] == through_session[2:]
    with cafe.db.read() as session:
        event = session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id,
                                                           HistoryEvent.kind == "by_driver")).one()
    assert (event.at, event.data, event.user) == (AT, DATA, "ann")


def test_several_rows_go_in_one_call_and_a_delete_counts_what_it_removed(cafe, instance_id):
    rows = [history_row(instance_id, "batch", AT, name=f"step {i}") for i in range(5)]
    history = HistoryEvent.__table__
    remove = delete(history).where(history.c.instance_id == bindparam("instance"), history.c.name == bindparam("step"))
    with cafe.db.transaction() as session:
        direct_sql.execute(session, HISTORY_INSERT, rows)
        assert direct_sql.execute(session, remove, [{"instance": instance_id, "step": f"step {i}"}
                                                    for i in (1, 3, 9)]) == 2
    with cafe.db.read() as session:
        names = session.scalars(select(HistoryEvent.name).where(HistoryEvent.instance_id == instance_id,
                                                                HistoryEvent.kind == "batch")
                                .order_by(HistoryEvent.id)).all()
    assert names == ["step 0", "step 2", "step 4"]


def test_an_update_reports_whether_the_revision_it_checked_was_still_there(cafe, instance_id):
    with cafe.db.read() as session:
        instance = session.get(ProcessInstance, instance_id)
    values = {"state": instance.state, "variables": {"amount": 4}, "status": instance.status, "updated_at": AT,
              "ended_at": None, "end_reason": None, "instance_id": instance_id}
    with cafe.db.transaction() as session:
        assert direct_sql.execute(session, INSTANCE_UPDATE, {
            **values, "read_revision": instance.revision + 7, "new_revision": instance.revision + 8}) == 0
        assert direct_sql.execute(session, INSTANCE_UPDATE, {
            **values, "read_revision": instance.revision, "new_revision": instance.revision + 1}) == 1
    with cafe.db.read() as session:
        updated = session.get(ProcessInstance, instance_id)
    assert (updated.revision, updated.variables, updated.updated_at) == (instance.revision + 1, {"amount": 4}, AT)


def test_a_column_left_to_its_python_default_still_gets_it(cafe, instance_id):
    """Such a statement cannot go directly (the default is computed per row): it takes the session's way."""
    before = datetime.now(timezone.utc)
    with cafe.db.transaction() as session:
        direct_sql.execute(session, insert(HistoryEvent.__table__), {"instance_id": instance_id, "kind": "defaulted"})
    with cafe.db.read() as session:
        event = session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id,
                                                           HistoryEvent.kind == "defaulted")).one()
    assert event.at >= before.replace(microsecond=0)


def test_a_constraint_violation_is_sqlalchemys_integrity_error_and_nothing_is_kept(cafe, instance_id):
    table = OpenTask.__table__
    with cafe.db.read() as session:
        row = dict(session.execute(select(table).where(table.c.instance_id == instance_id)).mappings().one())
    with pytest.raises(IntegrityError), cafe.db.transaction() as session:
        direct_sql.execute(session, HISTORY_INSERT, history_row(instance_id, "before_the_failure", AT))
        direct_sql.execute(session, OPEN_TASK_INSERT, row)  # the same task id again
    with cafe.db.read() as session:
        assert session.scalars(select(HistoryEvent.id).where(HistoryEvent.instance_id == instance_id,
                                                             HistoryEvent.kind == "before_the_failure")).all() == []


def test_a_lookup_returns_the_first_value_or_none(cafe, instance_id):
    table = ProcessInstance.__table__
    lookup = select(table.c.definition_key).where(table.c.id == bindparam("instance_id"))
    with cafe.db.read() as session:
        assert direct_sql.scalar(session, lookup, {"instance_id": instance_id}) == "claims"
        assert direct_sql.scalar(session, lookup, {"instance_id": "no-such-instance"}) is None

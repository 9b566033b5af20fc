"""Group commit on SQLite (server.db.Database.write_together): writes that meet at the writer lock
share one transaction and one commit, and a write that fails is undone alone."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event, select

from server.models import Group, HistoryEvent, ProcessInstance
from server.services.errors import Stale
from tests.api.engine_support import diagram

pytestmark = pytest.mark.sqlite_only


def _wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.005)


def _add_group(name: str, error: Exception | None = None):
    def work(session):
        session.add(Group(name=name))
        session.flush()  # the row is written before the error: the savepoint must take it back
        if error is not None:
            raise error
        return name
    return work


def test_writes_waiting_at_the_lock_share_one_commit_and_fail_alone(cafe):
    db = cafe.db
    commits: list[int] = []
    event.listen(db.engine, "commit", lambda conn: commits.append(1))
    leader_inside, release = threading.Event(), threading.Event()

    def leader(session):
        leader_inside.set()
        assert release.wait(10)
        session.add(Group(name="leader"))
        return "leader"

    followers = {
        "g1": _add_group("g1"),
        "broken": _add_group("broken", ValueError("bad input")),
        "g2": _add_group("g2"),
        "stale": _add_group("stale", Stale("changed meanwhile")),
        "g3": _add_group("g3"),
    }
    with ThreadPoolExecutor(max_workers=6) as pool:
        first = pool.submit(db.write_together, leader)
        assert leader_inside.wait(10)
        futures = {}
        for name, work in followers.items():  # queued in this order while the leader writes
            futures[name] = pool.submit(db.write_together, work)
            _wait_for(lambda: len(db._waiting_writes) == len(futures))
        release.set()
        assert first.result(10) == "leader"
        outcomes = {}
        for name, future in futures.items():
            try:
                outcomes[name] = future.result(10)
            except Exception as err:  # noqa: BLE001 - each thread gets its own error
                outcomes[name] = err

    assert [outcomes["g1"], outcomes["g2"], outcomes["g3"]] == ["g1", "g2", "g3"]
    assert isinstance(outcomes["broken"], ValueError) and str(outcomes["broken"]) == "bad input"
    assert isinstance(outcomes["stale"], Stale)
    with db.read() as session:
        names = set(session.scalars(select(Group.name).where(Group.name.in_(
            ["leader", "g1", "g2", "g3", "broken", "stale"]))))
    assert names == {"leader", "g1", "g2", "g3"}
    assert len(commits) == 2  # the leader's transaction, then one for all five that waited


def test_a_lone_failing_write_is_rolled_back_and_raised(cafe):
    with pytest.raises(ValueError, match="bad input"):
        cafe.db.write_together(_add_group("alone", ValueError("bad input")))
    with cafe.db.read() as session:
        assert session.scalar(select(Group.id).where(Group.name == "alone")) is None
    assert cafe.db.write_together(_add_group("alone")) == "alone"


def test_concurrent_starts_through_the_api_are_all_written(app, admin_api):
    admin_api.deploy(diagram("claims.bpmn"))
    token = admin_api.token

    def start(i: int) -> dict:
        client = app.test_client()
        response = client.post("/api/v1/process-instances", headers={"Authorization": f"Bearer {token}"},
                               json={"definition_key": "claims", "variables": {"amount": i}})
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        started = list(pool.map(start, range(40)))
    ids = [body["id"] for body in started]
    assert len(set(ids)) == 40
    with app.extensions["processcafe"].db.read() as session:
        written = session.scalars(select(ProcessInstance.id).where(ProcessInstance.id.in_(ids))).all()
        history = session.scalars(select(HistoryEvent.instance_id).where(
            HistoryEvent.instance_id.in_(ids), HistoryEvent.kind == "started")).all()
    assert sorted(written) == sorted(ids)
    assert sorted(history) == sorted(ids)
    for body in started[:5]:  # the start's answer, built from the rows it wrote, is what a read shows
        read = admin_api.get(f"/api/v1/process-instances/{body['id']}").get_json()
        assert body["tasks"] and body["tasks"] == read["tasks"]
        assert body["variables"] == read["variables"] == {"amount": started.index(body)}

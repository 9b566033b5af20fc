"""Group commit on SQLite (server.db.Database.write_together): writes that meet at the writer lock
share one transaction and one commit; a write refused before it wrote fails alone, one that fails
after writing takes its group back with it and the others are told to plan again."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event, select

from server.db import GroupRolledBack
from server.models import Group, HistoryEvent, ProcessInstance
from server.services.errors import Stale
from tests.api.engine_support import diagram, history
from tests.distributed.cluster import wait_until

pytestmark = pytest.mark.sqlite_only


def _add_group(name: str, error: Exception | None = None, refuse_first: bool = False):
    """A write of one group row; `error` is raised after the row is written, or before anything
    is written with `refuse_first` (as a refused check does)."""
    def work(session):
        if refuse_first and error is not None:
            raise error
        session.add(Group(name=name))
        session.flush()
        if error is not None:
            raise error
        return name
    return work


def _run_group(db, followers: dict) -> tuple[dict, int]:
    """Run `followers` as one group: they queue (in order) while a first write holds the lock.
    Returns each follower's result or exception, and the number of commits."""
    commits: list[int] = []

    def count(conn) -> None:
        commits.append(1)

    event.listen(db.engine, "commit", count)
    leader_inside, release = threading.Event(), threading.Event()

    def leader(session):
        leader_inside.set()
        assert release.wait(10)
        session.add(Group(name="leader"))
        return "leader"

    try:
        with ThreadPoolExecutor(max_workers=len(followers) + 1) as pool:
            first = pool.submit(db.write_together, leader)
            assert leader_inside.wait(10)
            futures = {}
            for name, work in followers.items():
                futures[name] = pool.submit(db.write_together, work)
                assert wait_until(lambda: len(db._waiting_writes) == len(futures), 10, 0.005)
            release.set()
            assert first.result(10) == "leader"
            outcomes = {}
            for name, future in futures.items():
                try:
                    outcomes[name] = future.result(10)
                except Exception as err:  # noqa: BLE001 - each thread gets its own error
                    outcomes[name] = err
    finally:
        event.remove(db.engine, "commit", count)
    return outcomes, len(commits)


def _stored_groups(db, names) -> set[str]:
    with db.read() as session:
        return set(session.scalars(select(Group.name).where(Group.name.in_(list(names)))))


def test_writes_waiting_at_the_lock_share_one_commit_and_a_refused_one_fails_alone(cafe):
    outcomes, commits = _run_group(cafe.db, {
        "g1": _add_group("g1"),
        "refused": _add_group("refused", Stale("changed meanwhile"), refuse_first=True),
        "g2": _add_group("g2"),
        "g3": _add_group("g3"),
    })
    assert [outcomes["g1"], outcomes["g2"], outcomes["g3"]] == ["g1", "g2", "g3"]
    assert isinstance(outcomes["refused"], Stale)
    assert _stored_groups(cafe.db, ["leader", "g1", "g2", "g3", "refused"]) == {"leader", "g1", "g2", "g3"}
    assert commits == 2  # the first write's transaction, then one for the four that waited


def test_a_write_failing_after_it_wrote_rolls_back_its_group_and_the_others_are_told(cafe):
    outcomes, commits = _run_group(cafe.db, {
        "h1": _add_group("h1"),
        "broken": _add_group("broken", ValueError("bad input")),
        "h2": _add_group("h2"),
    })
    assert isinstance(outcomes["broken"], ValueError) and str(outcomes["broken"]) == "bad input"
    assert isinstance(outcomes["h1"], GroupRolledBack) and isinstance(outcomes["h2"], GroupRolledBack)
    assert _stored_groups(cafe.db, ["leader", "h1", "h2", "broken"]) == {"leader"}
    assert commits == 1


def test_a_lone_failing_write_is_rolled_back_and_raised(cafe):
    with pytest.raises(ValueError, match="bad input"):
        cafe.db.write_together(_add_group("alone", ValueError("bad input")))
    assert _stored_groups(cafe.db, ["alone"]) == set()
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


def test_concurrent_completions_of_one_task_record_exactly_one(app, admin_api):
    admin_api.deploy(diagram("claims.bpmn"))
    started = admin_api.start("claims", {"amount": 1})
    [task] = started["tasks"]
    token = admin_api.token

    def complete(_: int) -> int:
        client = app.test_client()
        return client.post(f"/api/v1/tasks/{task['id']}/complete", headers={"Authorization": f"Bearer {token}"},
                           json={"variables": {"verdict": "ok"}}).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = sorted(pool.map(complete, range(10)))
    assert statuses == [200] + [409] * 9
    completions = [e for e in history(admin_api, started["id"]) if e["kind"] == "task_completed"]
    assert [e["task_id"] for e in completions] == [task["id"]]

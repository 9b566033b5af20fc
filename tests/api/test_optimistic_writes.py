"""Completions and message deliveries run the engine outside the write transaction
(server.context.Cafe.optimistic): what another request writes in between must neither be lost
nor let a stale plan through."""

from __future__ import annotations

import pytest

from server.access import Principal
from server.services import messages, tasks
from server.services.errors import Conflict, NotFound
from tests.api.engine_support import diagram, get_instance, history, problem

TASKS = "/api/v1/tasks"


def _complete_with_interference(cafe, principal: Principal, task_id: str, values: dict, interfere) -> tuple:
    """Complete through `Cafe.optimistic`, running `interfere()` (a real request) once, after the
    first plan was made and before it is written. Returns the instance and the number of plans."""
    plans = []

    def plan(session):
        planned = tasks.plan_completion(session, cafe.store, principal, task_id, values)
        plans.append(planned)
        if len(plans) == 1:
            interfere()
        return planned

    instance = cafe.optimistic(plan, lambda session, planned: tasks.write_completion(session, cafe.store, planned))
    return instance, len(plans)


def test_a_change_made_while_the_engine_ran_is_kept_and_the_completion_planned_again(app, cafe, admin_api):
    admin_api.deploy(diagram("claims.bpmn"))
    started = admin_api.start("claims", {"amount": 1})
    [task] = started["tasks"]
    url = f"/api/v1/process-instances/{started['id']}/variables"

    def patch_variables():
        response = admin_api.patch(url, json={"set": {"note": "added meanwhile"}})
        assert response.status_code == 200, response.get_json()

    with app.app_context():
        instance, plans = _complete_with_interference(
            cafe, Principal("admin", is_admin=True), task["id"], {"verdict": "ok"}, patch_variables)
    assert plans == 2  # the first plan was stale and thrown away
    after = get_instance(admin_api, started["id"])
    assert after["variables"]["note"] == "added meanwhile"  # not overwritten by the stale plan
    assert after["variables"]["verdict"] == "ok"
    assert [t["bpmn_id"] for t in after["tasks"]] == ["audit"]
    completions = [e for e in history(admin_api, started["id"]) if e["kind"] == "task_completed"]
    assert len(completions) == 1


@pytest.mark.parametrize("how", ["claim", "assign"])
def test_a_claim_made_while_the_engine_ran_wins(app, cafe, admin_api, user_api, how):
    """A claim or an assignment counts as a change of the instance (its revision goes up): the
    completion planned before it is planned again, and then refused."""
    admin_api.deploy(diagram("claims.bpmn"))
    clara = user_api("clara", groups=["clerks"])
    cleo = user_api("cleo", groups=["clerks"])
    started = admin_api.start("claims")
    [task] = started["tasks"]

    def cleo_gets_it():
        if how == "claim":
            response = cleo.post(f"{TASKS}/{task['id']}/claim")
        else:
            response = admin_api.put(f"{TASKS}/{task['id']}/assignee", json={"user": "cleo"})
        assert response.status_code == 200, response.get_json()

    with app.app_context():
        try:
            _complete_with_interference(cafe, Principal("clara", ("clerks",)), task["id"], {}, cleo_gets_it)
        except Conflict as err:
            assert "claimed by cleo" in str(err)
        else:
            raise AssertionError("a completion planned before cleo's claim went through")
    still = get_instance(admin_api, started["id"])
    assert [t["assignee"] for t in still["tasks"]] == ["cleo"]
    assert still["revision"] == started["revision"] + 1  # the claim's change, nothing of clara's
    assert not [e for e in history(admin_api, started["id"]) if e["kind"] == "task_completed"]
    problem(clara.post(f"{TASKS}/{task['id']}/complete", json={"variables": {}}), 409)


def _deliver_with_interference(cafe, msg: messages.Correlation, interfere) -> tuple:
    """Deliver through `Cafe.optimistic`, running `interfere()` once between the first plan and
    its write. Returns the deliveries and the plans made."""
    plans = []

    def plan(session):
        planned = messages.plan_correlation(session, cafe.store, msg, "admin")
        plans.append(planned)
        if len(plans) == 1:
            interfere()
        return planned

    deliveries = cafe.optimistic(plan, lambda session, planned: messages.write_correlation(session, cafe.store,
                                                                                            planned))
    return deliveries, plans


def test_a_change_made_while_a_message_ran_the_engine_is_kept_and_the_delivery_planned_again(app, cafe,
                                                                                           admin_api):
    admin_api.deploy(diagram("message_catch_camunda.bpmn"))
    started = admin_api.start("payment_camunda", {"customer": "ann"}, business_key="order-1")

    def patch_variables():
        response = admin_api.patch(f"/api/v1/process-instances/{started['id']}/variables",
                                   json={"set": {"note": "added meanwhile"}})
        assert response.status_code == 200, response.get_json()

    msg = messages.Correlation("payment_received", business_key="order-1", variables={"amount": 150})
    with app.app_context():
        [delivery], plans = _deliver_with_interference(cafe, msg, patch_variables)
    assert len(plans) == 2  # the first plan was stale and thrown away
    assert (delivery.instance.id, delivery.instance.status) == (started["id"], "completed")
    after = get_instance(admin_api, started["id"])
    assert after["variables"]["note"] == "added meanwhile"  # not overwritten by the stale plan
    assert (after["variables"]["amount"], after["variables"]["size"]) == (150, "big")
    received = [e for e in history(admin_api, started["id"]) if e["kind"] == "message_received"]
    assert len(received) == 1


def test_a_message_delivered_while_another_ran_the_engine_is_delivered_once(app, cafe, admin_api):
    admin_api.deploy(diagram("message_catch_camunda.bpmn"))
    started = admin_api.start("payment_camunda", business_key="order-1")

    def the_same_message_first():
        response = admin_api.post("/api/v1/messages", json={
            "name": "payment_received", "business_key": "order-1", "variables": {"amount": 5}})
        assert response.status_code == 200, response.get_json()

    msg = messages.Correlation("payment_received", business_key="order-1", variables={"amount": 150})
    with app.app_context(), pytest.raises(NotFound):  # planned again, nothing waits for it any more
        _deliver_with_interference(cafe, msg, the_same_message_first)
    after = get_instance(admin_api, started["id"])
    assert (after["status"], after["variables"]["amount"]) == ("completed", 5)
    received = [e for e in history(admin_api, started["id"]) if e["kind"] == "message_received"]
    assert len(received) == 1


def test_a_start_by_key_after_a_new_version_runs_the_new_version(admin_api, tmp_path):
    """A server process remembers the latest version of a key it has started; a version deployed
    since (by any server process) is found when the write checks the guess, and the start is
    planned again on it."""
    source = diagram("claims.bpmn").read_text()
    admin_api.deploy(diagram("claims.bpmn"))
    first = admin_api.start("claims")
    changed = tmp_path / "claims.bpmn"
    changed.write_text(source.replace('name="Handle the claim"', 'name="Handle the claim, v2"'))
    admin_api.deploy(changed)
    second = admin_api.start("claims")
    assert (first["version"], second["version"]) == (1, 2)
    assert second["tasks"][0]["name"] == "Handle the claim, v2"

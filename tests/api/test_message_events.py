"""Messages at event-based gateways and boundary events: the first event wins a race with an
overdue timer, non-interrupting boundary events stay armed, and a message sets its variables
(no `<element id>_Response`). The job runner is driven by hand (`run_jobs`), so "the timer is due
but has not fired yet" is a state these tests hold on purpose, not a lucky interleaving."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from sqlalchemy import select

from server.models import Job
from tests.api.engine_support import completed_elements, diagram, get_instance, history, kinds, problem
from tests.conftest import run_jobs

MESSAGES = "/api/v1/messages"


def send(api, name: str, **body):
    return api.post(MESSAGES, json={"name": name, **body})


def timer_jobs(cafe, instance_id: str) -> list[Job]:
    with cafe.db.transaction() as session:
        return list(session.scalars(select(Job).where(Job.instance_id == instance_id, Job.kind == "timer")))


def wait_until_due(cafe, instance_id: str) -> None:
    """Sleep until the instance's timer is overdue, without letting the job runner fire it."""
    [job] = timer_jobs(cafe, instance_id)
    due = job.due_at if job.due_at.tzinfo else job.due_at.replace(tzinfo=timezone.utc)
    time.sleep(max(0.0, (due - datetime.now(timezone.utc)).total_seconds()) + 0.1)


def received(api, instance_id: str) -> list[tuple[str, str | None]]:
    return [(e["name"], e["bpmn_id"]) for e in history(api, instance_id) if e["kind"] == "message_received"]


def test_a_message_beats_the_overdue_timer_of_an_event_based_gateway(admin_api, cafe):
    admin_api.deploy(diagram("event_gateway_race.bpmn"))
    instance = admin_api.start("event_gateway_race", {"patience": "PT1S"}, business_key="X1")
    wait_until_due(cafe, instance["id"])

    assert send(admin_api, "m_answer", business_key="X1").status_code == 200
    run_jobs(cafe)  # the timer's job finds nothing left to fire
    now = get_instance(admin_api, instance["id"])
    assert [t["bpmn_id"] for t in now["tasks"]] == ["by_message"]
    assert "too_late" not in completed_elements(admin_api, instance["id"])
    assert "timer_fired" not in kinds(admin_api, instance["id"])
    assert received(admin_api, instance["id"]) == [("m_answer", "answered")]
    assert timer_jobs(cafe, instance["id"]) == []


def test_a_fired_timer_leaves_nothing_for_the_message(admin_api, cafe):
    admin_api.deploy(diagram("event_gateway_race.bpmn"))
    instance = admin_api.start("event_gateway_race", {"patience": "PT1S"}, business_key="X2")
    wait_until_due(cafe, instance["id"])
    run_jobs(cafe)
    problem(send(admin_api, "m_answer", business_key="X2"), 404)
    assert [t["bpmn_id"] for t in get_instance(admin_api, instance["id"])["tasks"]] == ["by_timer"]


def test_a_message_boundary_beats_an_overdue_interrupting_timer(admin_api, cafe):
    admin_api.deploy(diagram("boundary_race.bpmn"))
    instance = admin_api.start("boundary_race", business_key="X3")
    wait_until_due(cafe, instance["id"])

    assert send(admin_api, "m_stop", business_key="X3").status_code == 200
    run_jobs(cafe)
    now = get_instance(admin_api, instance["id"])
    assert [t["bpmn_id"] for t in now["tasks"]] == ["after_stop"]
    elements = completed_elements(admin_api, instance["id"])
    assert "stop" in elements and "deadline" not in elements
    assert "timer_fired" not in kinds(admin_api, instance["id"])
    assert received(admin_api, instance["id"]) == [("m_stop", "stop")]


def test_a_non_interrupting_message_boundary_stays_armed(admin_api):
    admin_api.deploy(diagram("message_boundaries.bpmn"))
    instance = admin_api.start("message_boundaries", business_key="S1")
    assert send(admin_api, "m_pay", business_key="S1", variables={"amount": 5}).status_code == 200
    [ship] = get_instance(admin_api, instance["id"])["tasks"]

    for n in (1, 2):
        response = send(admin_api, "m_update", business_key="S1", variables={"n": n})
        assert response.status_code == 200, response.get_json()
    now = get_instance(admin_api, instance["id"])
    assert [t["id"] for t in now["tasks"]] == [ship["id"]]
    assert completed_elements(admin_api, instance["id"]).count("note_update") == 2
    assert now["variables"]["n"] == 2

    # an interrupting message still ends the task, and with it the armed boundary event
    assert send(admin_api, "m_cancel", business_key="S1").status_code == 200
    assert get_instance(admin_api, instance["id"])["variables"]["outcome"] == "refunded"
    problem(send(admin_api, "m_update", business_key="S1"), 404)
    assert received(admin_api, instance["id"]) == [
        ("m_pay", "paid"), ("m_update", "updated"), ("m_update", "updated"), ("m_cancel", "cancelled")]


def test_camunda_messages_set_their_variables_and_no_response_variable(admin_api):
    admin_api.deploy(diagram("message_boundaries.bpmn"))
    instance = admin_api.start("message_boundaries", business_key="V1")
    send(admin_api, "m_pay", business_key="V1", variables={"amount": 5})
    send(admin_api, "m_update", business_key="V1")
    variables = get_instance(admin_api, instance["id"])["variables"]
    assert variables["amount"] == 5
    assert not [name for name in variables if name.endswith("_Response")], variables

    # camunda:resultVariable, where the diagram names one, still receives the payload
    send(admin_api, "m_cancel", business_key="V1", variables={"why": "late"})
    variables = get_instance(admin_api, instance["id"])["variables"]
    assert variables["why"] == "late" and variables["cancellation"] == {"why": "late"}
    assert not [name for name in variables if name.endswith("_Response")], variables



def test_a_camunda_message_start_event_sets_the_variables_only(admin_api):
    admin_api.deploy(diagram("message_start_camunda.bpmn"))
    [item] = send(admin_api, "order_placed_camunda", variables={"quantity": 4}).get_json()["items"]
    started = get_instance(admin_api, item["instance_id"])
    assert started["variables"] == {"quantity": 4, "total": 12}
    assert received(admin_api, started["id"]) == [("order_placed_camunda", "order_placed")]

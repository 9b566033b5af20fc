"""An external task that a boundary event, an event sub-process or a terminate end event takes
away is gone for its workers too: its service call is cancelled with the reason, fetchAndLock no
longer hands it out, and a worker that had locked it hears 404 (Camunda's answer for a task that
no longer exists) when it completes it, extends its lock or reports a failure. The history names
the step as cancelled. Before, the call stayed pending: the task list's bookkeeping only closed
the calls of steps it showed (reviews, images), and an external task is not among them."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import event, select

from server.models import ServiceCall
from tests.api.engine_support import history
from tests.camunda.conftest import error
from tests.conftest import run_jobs

TOPIC = "interruptible"


def fetch(camunda, worker: str) -> list[dict]:
    response = camunda.post("/external-task/fetchAndLock", json={
        "workerId": worker, "maxTasks": 5, "asyncResponseTimeout": 0,
        "topics": [{"topicName": TOPIC, "lockDuration": 60_000}]})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def start_locked(camunda, wait: str = "PT1H") -> tuple[dict, dict]:
    """A started instance (its boundary timer fires after `wait`) whose external task worker w1
    has fetched and locked."""
    camunda.deploy("external_interrupted.bpmn")
    instance = camunda.start("external_interrupted", {"order": {"value": 7}, "wait": {"value": wait}})
    [task] = fetch(camunda, "w1")
    assert task["activityId"] == "work" and task["processInstanceId"] == instance["id"]
    return instance, task


def correlate(camunda, name: str, instance_id: str) -> None:
    response = camunda.post("/message", json={"messageName": name, "processInstanceId": instance_id})
    assert response.status_code in (200, 204), response.get_data(as_text=True)


def call_of(cafe, call_id: str) -> ServiceCall:
    with cafe.db.read() as session:
        return session.get(ServiceCall, call_id)


def assert_gone(camunda, admin_api, cafe, instance: dict, task: dict, why: str) -> None:
    call = call_of(cafe, task["id"])
    assert call.status == "cancelled" and why in call.error_message, (call.status, call.error_message)
    assert fetch(camunda, "w2") == []
    assert camunda.get(f"/external-task/count?processInstanceId={instance['id']}").get_json() == {"count": 0}
    for action, body in (("complete", {}), ("extendLock", {"newDuration": 1000}),
                         ("failure", {"errorMessage": "late", "retries": 1}),
                         ("bpmnError", {"errorCode": "LATE"})):
        answer = error(camunda.post(f"/external-task/{task['id']}/{action}", json={"workerId": "w1", **body}), 404)
        assert task["id"] in answer["message"], (action, answer)
    assert call_of(cafe, task["id"]).status == "cancelled"
    [cancelled] = [e for e in history(admin_api, instance["id"]) if e["kind"] == "task_cancelled"
                   and e["bpmn_id"] == "work"]
    assert cancelled["task_id"] == call.task_id and cancelled["name"] == "Work outside"


def test_a_message_boundary_event_takes_the_external_task_from_its_worker(camunda, admin_api, cafe):
    instance, task = start_locked(camunda)
    correlate(camunda, "call_off", instance["id"])
    assert_gone(camunda, admin_api, cafe, instance, task, "interrupted")
    names = {t["taskDefinitionKey"] for t in camunda.get(f"/task?processInstanceId={instance['id']}").get_json()}
    assert names == {"handle", "finish_early"}  # the process went on without the step


def test_a_timer_boundary_event_takes_the_external_task_from_its_worker(camunda, admin_api, cafe):
    instance, task = start_locked(camunda, wait="PT1S")
    time.sleep(1.2)  # the engine's own timer must be due, not only its job
    run_jobs(cafe)
    assert "timer_fired" in [e["kind"] for e in history(admin_api, instance["id"])]
    assert_gone(camunda, admin_api, cafe, instance, task, "interrupted")


def test_an_event_sub_process_takes_the_external_task_from_its_worker(camunda, admin_api, cafe):
    instance, task = start_locked(camunda)
    correlate(camunda, "abort", instance["id"])
    assert admin_api.get(f"/api/v1/process-instances/{instance['id']}").get_json()["status"] == "completed"
    assert_gone(camunda, admin_api, cafe, instance, task, "has ended")


def test_a_terminate_end_event_takes_the_external_task_from_its_worker(camunda, admin_api, cafe):
    instance, task = start_locked(camunda)
    [early] = [t for t in camunda.get(f"/task?processInstanceId={instance['id']}").get_json()
               if t["taskDefinitionKey"] == "finish_early"]
    assert camunda.post(f"/task/{early['id']}/complete", json={}).status_code == 204
    assert admin_api.get(f"/api/v1/process-instances/{instance['id']}").get_json()["status"] == "completed"
    assert_gone(camunda, admin_api, cafe, instance, task, "has ended (completed)")


def test_terminating_the_instance_names_the_external_task_in_its_history(camunda, admin_api, cafe):
    instance, task = start_locked(camunda)
    assert camunda.delete(f"/process-instance/{instance['id']}").status_code == 204
    assert_gone(camunda, admin_api, cafe, instance, task, "was terminated")


@pytest.mark.parametrize("action", ["complete", "bpmnError"])
def test_a_worker_that_answers_first_leaves_no_cancelled_step(camunda, admin_api, cafe, action):
    """The step left with its answer: nothing of it is cancelled, and the boundary no longer waits."""
    instance, task = start_locked(camunda)
    body = {"workerId": "w1", "errorCode": "ANY"} if action == "bpmnError" else {"workerId": "w1"}
    assert camunda.post(f"/external-task/{task['id']}/{action}", json=body).status_code == 204
    assert call_of(cafe, task["id"]).status == ("done" if action == "complete" else "failed")
    assert "task_cancelled" not in [e["kind"] for e in history(admin_api, instance["id"])]
    with cafe.db.read() as session:
        assert session.scalars(select(ServiceCall.status).where(ServiceCall.status == "cancelled")).all() == []


def test_an_instance_with_nothing_parked_reads_no_service_calls(camunda, cafe):
    """What was parked is compared in memory (the stored state's parked steps against the advance's):
    completing a user task of an instance that has no parked step sends nothing to service_calls."""
    instance, _ = start_locked(camunda)
    correlate(camunda, "call_off", instance["id"])
    [handle] = [t for t in camunda.get(f"/task?processInstanceId={instance['id']}").get_json()
                if t["taskDefinitionKey"] == "handle"]
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(cafe.db.engine, "before_cursor_execute", record)
    try:
        assert camunda.post(f"/task/{handle['id']}/complete", json={}).status_code == 204
    finally:
        event.remove(cafe.db.engine, "before_cursor_execute", record)
    assert any("open_tasks" in s for s in statements), statements  # the completion read its task here
    assert [s for s in statements if "service_calls" in s] == []

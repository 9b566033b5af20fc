"""`POST /external-task/{id}/bpmnError`: the error's code and message reach the process
variables only through the catching event's `camunda:errorCodeVariable` and
`camunda:errorMessageVariable` (and the request's own `variables`), as in Camunda. They used to
overwrite the instance's variables called `code` and `message`."""

from __future__ import annotations


def fetch_one(camunda, topic: str) -> dict:
    response = camunda.post("/external-task/fetchAndLock", json={
        "workerId": "w1", "maxTasks": 1, "topics": [{"topicName": topic, "lockDuration": 60_000}]})
    [task] = response.get_json()
    return task


def throw(camunda, task: dict, **extra) -> None:
    response = camunda.post(f"/external-task/{task['id']}/bpmnError", json={
        "workerId": "w1", "errorCode": "PUBLISH_REJECTED", "errorMessage": "rejected", **extra})
    assert response.status_code == 204, response.get_json()


def variables(camunda, instance: dict) -> dict:
    return {name: dto["value"]
            for name, dto in camunda.get(f"/process-instance/{instance['id']}/variables").get_json().items()}


def open_tasks(camunda, instance: dict) -> list[str]:
    return [t["taskDefinitionKey"] for t in camunda.get(f"/task?processInstanceId={instance['id']}").get_json()]


def test_a_caught_error_leaves_variables_called_code_and_message_alone(camunda):
    camunda.deploy("external_publish.bpmn")
    instance = camunda.start("external_publish", {"orderId": {"value": 1}, "code": {"value": 42},
                                                  "message": {"value": "keep-me"}})
    throw(camunda, fetch_one(camunda, "social.publishStatus"), variables={"reason": {"value": "spam"}})
    assert open_tasks(camunda, instance) == ["Task_handle"]
    held = variables(camunda, instance)
    assert held["code"] == 42 and held["message"] == "keep-me" and held["reason"] == "spam"


def test_the_catching_event_names_the_variables_for_code_and_message(camunda):
    camunda.deploy("external_error_variables.bpmn")
    instance = camunda.start("external_error_variables", {"code": {"value": 7}, "sku": {"value": "S-1"}})
    throw(camunda, fetch_one(camunda, "checkStock"))
    assert open_tasks(camunda, instance) == ["handle"]
    held = variables(camunda, instance)
    assert held["failureCode"] == "PUBLISH_REJECTED" and held["failureMessage"] == "rejected"
    assert held["code"] == 7 and "message" not in held

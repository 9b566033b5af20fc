"""External tasks through the app: who may work on them, locks held by other workers, extending
and releasing locks, and a retry timeout."""

from __future__ import annotations

import time

from tests.camunda.conftest import error

TOPIC = "social.publishStatus"


def fetch(client, worker: str, lock_ms: int = 60_000, **topic):
    response = client.post("/external-task/fetchAndLock", json={
        "workerId": worker, "maxTasks": 5, "asyncResponseTimeout": 0,
        "topics": [{"topicName": TOPIC, "lockDuration": lock_ms, **topic}]})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_only_workers_and_admins_fetch(camunda, camunda_user):
    camunda.deploy("external_publish.bpmn")
    camunda.start("external_publish", {"orderId": {"value": 1}})
    error(camunda_user("rita", ["reviewers"]).post("/external-task/fetchAndLock", json={
        "workerId": "w", "topics": [{"topicName": TOPIC, "lockDuration": 1000}]}), 403)
    worker = camunda_user("bot", ["external-workers"])
    [task] = fetch(worker, "bot-1", variables=["orderId"])
    assert set(task["variables"]) == {"orderId"}  # only the variables asked for
    assert task["activityId"] == "Activity_publish" and task["topicName"] == TOPIC
    assert task["retries"] is None and task["lockExpirationTime"].endswith("+0000")


def test_locks_belong_to_their_worker(camunda):
    camunda.deploy("external_publish.bpmn")
    instance = camunda.start("external_publish", {"orderId": {"value": 2}})
    [task] = fetch(camunda, "w1")
    assert fetch(camunda, "w2") == []
    body = error(camunda.post(f"/external-task/{task['id']}/complete", json={"workerId": "w2"}), 400,
                 "BadUserRequestException")
    assert "locked by worker 'w1'" in body["message"]
    error(camunda.post(f"/external-task/{task['id']}/extendLock", json={"workerId": "w2", "newDuration": 5}), 400)
    assert camunda.post(f"/external-task/{task['id']}/extendLock",
                        json={"workerId": "w1", "newDuration": 120_000}).status_code == 204
    assert camunda.get("/external-task/count?workerId=w1&locked=true").get_json() == {"count": 1}
    assert camunda.post(f"/external-task/{task['id']}/unlock").status_code == 204
    [again] = fetch(camunda, "w2")
    assert again["id"] == task["id"] and again["processInstanceId"] == instance["id"]
    error(camunda.post("/external-task/missing/complete", json={"workerId": "w2"}), 404)


def test_an_expired_lock_and_a_retry_timeout_make_the_task_fetchable_again(camunda):
    camunda.deploy("external_publish.bpmn")
    camunda.start("external_publish", {"orderId": {"value": 3}})
    [task] = fetch(camunda, "w1", lock_ms=200)
    time.sleep(0.3)
    [task] = fetch(camunda, "w2")
    assert camunda.post(f"/external-task/{task['id']}/failure", json={
        "workerId": "w2", "errorMessage": "busy", "retries": 2, "retryTimeout": 300}).status_code == 204
    assert fetch(camunda, "w3") == []
    time.sleep(0.4)
    [task] = fetch(camunda, "w3")
    assert task["retries"] == 2 and task["errorMessage"] == "busy"


def test_long_polling_returns_empty_after_the_timeout(camunda):
    began = time.monotonic()
    response = camunda.post("/external-task/fetchAndLock", json={
        "workerId": "w", "asyncResponseTimeout": 500, "topics": [{"topicName": "nothing", "lockDuration": 100}]})
    assert response.get_json() == [] and 0.45 < time.monotonic() - began < 2
    error(camunda.post("/external-task/fetchAndLock", json={"workerId": "w", "topics": []}), 400)


def test_an_admins_retry_of_the_instance_resolves_a_failed_external_task(camunda, admin_api):
    camunda.deploy("external_publish.bpmn")
    instance = camunda.start("external_publish", {"orderId": {"value": 4}})
    [task] = fetch(camunda, "w1")
    camunda.post(f"/external-task/{task['id']}/failure", json={"workerId": "w1", "errorMessage": "down",
                                                               "retries": 0})
    assert fetch(camunda, "w1") == []
    retried = admin_api.post(f"/api/v1/process-instances/{instance['id']}/retry", json={})
    assert retried.status_code == 200 and retried.get_json()["status"] == "waiting"
    [again] = fetch(camunda, "w1")
    assert again["id"] == task["id"]


def test_a_completion_its_output_mapping_cannot_use_is_a_400_and_the_task_stays_locked(camunda):
    """external_publish maps `postUrl` from `${url}`: completed without `url`, that expression
    fails. It was a 500; now the worker hears which parameter failed and can complete again."""
    camunda.deploy("external_publish.bpmn")
    instance = camunda.start("external_publish", {"orderId": {"value": 5}})
    [task] = fetch(camunda, "w1")
    body = error(camunda.post(f"/external-task/{task['id']}/complete", json={"workerId": "w1"}), 400)
    assert "postUrl" in body["message"] and "url" in body["message"]
    assert camunda.get("/external-task/count?workerId=w1&locked=true").get_json() == {"count": 1}
    done = camunda.post(f"/external-task/{task['id']}/complete", json={
        "workerId": "w1", "variables": {"url": {"value": "https://example.test/1", "type": "String"}}})
    assert done.status_code == 204, done.get_json()
    variables = camunda.get(f"/process-instance/{instance['id']}/variables").get_json()
    assert variables["postUrl"]["value"] == "https://example.test/1"

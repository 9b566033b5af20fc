"""A real external-task worker (camunda-external-task-client-python3) against a real server:
fetchAndLock with long polling, complete with variables (the instance continues), failure with
retries until an incident, and a BPMN error caught by the task's error boundary event."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from camunda.client.engine_client import EngineClient
from camunda.client.external_task_client import ExternalTaskClient
from camunda.external_task.external_task_worker import ExternalTaskWorker

from tests.camunda.support import REST, basic, deploy_form, diagram
from tests.system.server import ADMIN_PASSWORD, ServerProcess

TOPIC = "social.publishStatus"
AUTH = {"auth_basic": {"username": "admin", "password": ADMIN_PASSWORD}}


@pytest.fixture
def server(tmp_path, database_url):
    server = ServerProcess(tmp_path / "data", database_url).start()
    yield server
    server.stop()


def rest(server, method: str, path: str, **kwargs) -> requests.Response:
    headers = {"Authorization": basic("admin", ADMIN_PASSWORD), **kwargs.pop("headers", {})}
    return requests.request(method, server.url + REST + path, headers=headers, timeout=10, **kwargs)


def open_tasks(server, instance_id: str) -> list[str]:
    return [t["taskDefinitionKey"] for t in rest(server, "GET", f"/task?processInstanceId={instance_id}").json()]


@pytest.mark.slow
def test_worker_completes_fails_and_throws_bpmn_errors(server):
    body, content_type = deploy_form(diagram("external_publish.bpmn"))
    assert rest(server, "POST", "/deployment/create", data=body, headers={"Content-Type": content_type}).ok
    engine = EngineClient(server.url + REST, config=AUTH)
    config = {**AUTH, "maxTasks": 1, "lockDuration": 10_000, "asyncResponseTimeout": 3000, "sleepSeconds": 0}
    worker = ExternalTaskWorker(worker_id="worker-1", base_url=server.url + REST, config=config)

    # 1. complete with variables: the output parameter copies the result out, the instance goes on
    first = engine.start_process("external_publish", {"orderId": 7}, business_key="order-7")
    seen = {}

    def publish(task):
        seen.update(message=task.get_variable("message"), business_key=task.get_business_key())
        return task.complete({"url": "https://feed.example/posts/7", "published": True})

    worker.fetch_and_execute(TOPIC, publish)
    assert seen == {"message": "Order 7 was reviewed", "business_key": "order-7"}
    variables = rest(server, "GET", f"/process-instance/{first['id']}/variables").json()
    assert variables["postUrl"]["value"] == "https://feed.example/posts/7"
    assert variables["published"] == {"type": "Boolean", "value": True, "valueInfo": {}}
    assert open_tasks(server, first["id"]) == ["Task_check"]

    # 2. long polling: a fetch that waits is answered as soon as work appears
    client = ExternalTaskClient("worker-2", server.url + REST, {**AUTH, "asyncResponseTimeout": 10_000})
    timer = threading.Timer(1.0, lambda: engine.start_process("external_publish", {"orderId": 8}))
    began = time.monotonic()
    timer.start()
    [locked] = client.fetch_and_lock(TOPIC)
    waited = time.monotonic() - began
    timer.join()
    assert 0.9 < waited < 4, waited
    assert locked["workerId"] == "worker-2" and locked["variables"]["message"]["value"] == "Order 8 was reviewed"
    began = time.monotonic()
    assert ExternalTaskClient("worker-3", server.url + REST, {**AUTH, "asyncResponseTimeout": 1000}).fetch_and_lock(
        TOPIC) == []  # the only task is locked by worker-2
    assert 0.9 < time.monotonic() - began < 3

    # 3. failures count retries down; at 0 the instance gets an incident and the task is not fetched
    assert client.failure(locked["id"], "feed is down", "Traceback ...", retries=1, retry_timeout=0)
    assert rest(server, "GET", f"/external-task/{locked['id']}").json()["retries"] == 1
    failing = ExternalTaskWorker(worker_id="worker-2", base_url=server.url + REST, config=config)
    failing.fetch_and_execute(TOPIC, lambda task: task.failure("feed is still down", "Traceback ...",
                                                               max_retries=3, retry_timeout=0))
    task = rest(server, "GET", f"/external-task/{locked['id']}").json()
    assert task["retries"] == 0 and task["errorMessage"] == "feed is still down"
    assert rest(server, "GET", f"/external-task/{locked['id']}/errorDetails").text == "Traceback ..."
    instance = server.session().get(f"{server.url}/api/v1/process-instances/{locked['processInstanceId']}").json()
    assert instance["status"] == "error"
    [incident] = [i for i in instance["incidents"] if i["resolved_at"] is None]
    assert incident["bpmn_id"] == "Activity_publish" and incident["message"] == "feed is still down"
    quick = ExternalTaskClient("worker-4", server.url + REST, {**AUTH, "asyncResponseTimeout": 500})
    assert quick.fetch_and_lock(TOPIC) == []  # blocked by its incident
    assert rest(server, "GET", f"/external-task/count?topicName={TOPIC}&noRetriesLeft=true").json() == {"count": 1}
    # setting retries again resolves the incident and the task can be fetched
    assert rest(server, "PUT", f"/external-task/{locked['id']}/retries", json={"retries": 2}).status_code == 204
    instance = server.session().get(f"{server.url}/api/v1/process-instances/{locked['processInstanceId']}").json()
    assert instance["status"] == "waiting" and all(i["resolved_at"] for i in instance["incidents"])

    # 4. a BPMN error goes to the error boundary event; its variables come along
    worker.fetch_and_execute(TOPIC, lambda task: task.bpmn_error("PUBLISH_REJECTED", "the feed refused it",
                                                                 {"reason": "spam filter"}))
    assert open_tasks(server, locked["processInstanceId"]) == ["Task_handle"]
    variables = rest(server, "GET", f"/process-instance/{locked['processInstanceId']}/variables").json()
    assert variables["reason"]["value"] == "spam filter"
    history = rest(server, "GET", f"/history/activity-instance?processInstanceId={locked['processInstanceId']}")
    publish_activity = [a for a in history.json() if a["activityId"] == "Activity_publish"]
    assert publish_activity and publish_activity[-1]["canceled"] is True

"""Requests that meet on one instance or one process key, over real HTTP against a real server
(two processes): each either succeeds or gets a clear 409, never a 500, and no work that could
be done is refused. Found by a probe on PostgreSQL; run on SQLite as well."""

import threading
from collections.abc import Callable
from functools import partial

import pytest
import requests

from tests.system.server import ServerProcess

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BRANCHES = 8


def _definitions(process: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="{BPMN}" id="defs" '
            f'targetNamespace="http://processcafe.test/races">{process}</bpmn:definitions>').encode()


def _single_task(name: str) -> bytes:
    return _definitions(
        f'<bpmn:process id="race_single" name="{name}" isExecutable="true"><bpmn:startEvent id="s"/>'
        '<bpmn:userTask id="t" name="Task"/><bpmn:endEvent id="e"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/></bpmn:process>')


def _fan_out() -> bytes:
    tasks = "".join(f'<bpmn:userTask id="b{i}"/><bpmn:sequenceFlow id="in{i}" sourceRef="split" targetRef="b{i}"/>'
                    f'<bpmn:sequenceFlow id="out{i}" sourceRef="b{i}" targetRef="join"/>' for i in range(BRANCHES))
    return _definitions(
        '<bpmn:process id="race_fan" isExecutable="true"><bpmn:startEvent id="s"/>'
        '<bpmn:parallelGateway id="split"/><bpmn:parallelGateway id="join"/>'
        f'<bpmn:userTask id="after" name="After"/><bpmn:endEvent id="e"/>{tasks}'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="split"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="join" targetRef="after"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="e"/></bpmn:process>')


def _at_once(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    """Send the requests from one thread each, released together."""
    barrier = threading.Barrier(len(calls))
    responses: list[requests.Response | None] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        responses[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


@pytest.fixture
def server(tmp_path, database_url):
    process = ServerProcess(tmp_path / "data", database_url, serve_args=("--workers", "2")).start()
    yield process
    process.stop()


def _request(method: str, url: str, token: str, **kwargs) -> Callable[[], requests.Response]:
    return partial(requests.request, method, url, headers={"Authorization": token}, timeout=60, **kwargs)


def _deploy(server: ServerProcess, token: str, content: bytes) -> requests.Response:
    return requests.post(server.url + "/api/v1/deployments", files={"file": ("race.bpmn", content)},
                         headers={"Authorization": token}, timeout=60)


def _deployed(server: ServerProcess, content: bytes) -> tuple[requests.Session, str]:
    """An admin session and its token, after deploying `content`."""
    api = server.session()
    token = api.headers["Authorization"]
    assert _deploy(server, token, content).status_code == 201
    return api, token


@pytest.mark.slow
def test_deployments_of_one_key_at_once_get_distinct_versions(server):
    api, token = _deployed(server, _single_task("v1"))
    for round_ in range(3):
        responses = _at_once([partial(_deploy, server, token, _single_task(f"round {round_} deployer {i}"))
                              for i in range(3)])
        assert [r.status_code for r in responses] == [201] * 3, [r.text[:300] for r in responses]
    definitions = api.get(server.url + "/api/v1/process-definitions", params={"key": "race_single"}).json()["items"]
    versions = sorted(d["version"] for d in definitions)
    assert versions == list(range(1, 11)), versions


@pytest.mark.slow
def test_every_branch_of_a_parallel_split_completed_at_once_succeeds(server):
    api, token = _deployed(server, _fan_out())
    for _ in range(3):
        instance = api.post(server.url + "/api/v1/process-instances", json={"definition_key": "race_fan"}).json()
        assert len(instance["tasks"]) == BRANCHES
        responses = _at_once([_request("POST", f"{server.url}/api/v1/tasks/{task['id']}/complete", token,
                                       json={"variables": {}}) for task in instance["tasks"]])
        assert [r.status_code for r in responses] == [200] * BRANCHES, [r.text[:300] for r in responses]
        after = api.get(f"{server.url}/api/v1/process-instances/{instance['id']}").json()
        assert [t["name"] for t in after["tasks"]] == ["After"], after["tasks"]


@pytest.mark.slow
def test_a_release_or_assignment_racing_the_completion_is_409_not_500(server):
    api, token = _deployed(server, _single_task("v1"))
    for round_ in range(12):
        instance = api.post(server.url + "/api/v1/process-instances", json={"definition_key": "race_single"}).json()
        task_url = f"{server.url}/api/v1/tasks/{instance['tasks'][0]['id']}"
        assert api.post(task_url + "/claim").status_code == 200
        release = (_request("PUT", task_url + "/assignee", token, json={"user": None}) if round_ % 2
                   else _request("POST", task_url + "/unclaim", token))
        done, released = _at_once([_request("POST", task_url + "/complete", token, json={"variables": {}}), release])
        # after the completion the task is gone: 404 when the release came too late to find it, 409
        # when it found it and then waited for the completion's lock
        assert done.status_code in (200, 409) and released.status_code in (200, 404, 409), (done.text, released.text)
        kinds = [e["kind"] for e in api.get(f"{server.url}/api/v1/process-instances/{instance['id']}/history")
                 .json()["items"]]
        if done.status_code == 200:
            assert kinds[-1] == "ended", kinds  # nothing written about the task after the instance ended

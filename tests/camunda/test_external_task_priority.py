"""External-task priorities: `camunda:taskPriority` on the service task (a number, or an
expression evaluated when the task is created) or, as the default of its tasks, on the process;
reported by fetchAndLock and GET /external-task, `usePriority` locks the highest first, and GET
/external-task filters and sorts by it. Before, every priority was 0."""

from __future__ import annotations

from tests.camunda.conftest import error
from tests.camunda.support import modeler_form
from tests.conftest import DIAGRAMS

PRIORITY_DIAGRAM = (DIAGRAMS / "camunda" / "external_priority.bpmn").read_bytes()


def _start_two(camunda) -> tuple[dict, dict]:
    camunda.deploy("external_priority.bpmn")
    first = camunda.start("external_priority", {"prio": {"value": 50, "type": "Integer"}}, "high")
    second = camunda.start("external_priority", {"prio": {"value": -3, "type": "Long"}}, "low")
    return first, second


def _fetch(camunda, max_tasks: int, **body) -> list[dict]:
    response = camunda.post("/external-task/fetchAndLock", json={
        "workerId": "w1", "maxTasks": max_tasks, "asyncResponseTimeout": 0,
        "topics": [{"topicName": "prio", "lockDuration": 60_000}], **body})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _priorities(tasks: list[dict]) -> list[tuple[str, str, int]]:
    return [(t["businessKey"], t["activityId"], t["priority"]) for t in tasks]


def test_priorities_are_reported_filtered_and_sorted(camunda):
    _start_two(camunda)
    listed = camunda.get("/external-task?topicName=prio&sortBy=taskPriority&sortOrder=desc").get_json()
    assert [t["priority"] for t in listed] == [50, 20, 20, 7, 7, -3]
    assert {(k, a): p for k, a, p in _priorities(listed)} == {
        ("high", "by_expression"): 50, ("high", "literal"): 20, ("high", "process_default"): 7,
        ("low", "by_expression"): -3, ("low", "literal"): 20, ("low", "process_default"): 7}
    one = listed[0]
    assert camunda.get(f"/external-task/{one['id']}").get_json()["priority"] == 50

    def count(query: str) -> int:
        return camunda.get(f"/external-task/count?{query}").get_json()["count"]

    assert count("priorityHigherThanOrEquals=20") == 3
    assert count("priorityLowerThanOrEquals=7") == 3
    assert count("priorityHigherThanOrEquals=7&priorityLowerThanOrEquals=20") == 4
    assert count("priorityLowerThanOrEquals=-4") == 0
    ascending = camunda.get("/external-task?sortBy=taskPriority&sortOrder=asc").get_json()
    assert [t["priority"] for t in ascending] == [-3, 7, 7, 20, 20, 50]


def test_fetch_with_use_priority_locks_the_highest_first(camunda):
    _start_two(camunda)
    [first] = _fetch(camunda, 1, usePriority=True)
    assert (first["businessKey"], first["activityId"], first["priority"]) == ("high", "by_expression", 50)
    assert [t["priority"] for t in _fetch(camunda, 3, usePriority=True)] == [20, 20, 7]
    assert sorted(t["priority"] for t in _fetch(camunda, 5, usePriority=False)) == [-3, 7]
    assert _fetch(camunda, 5, usePriority=True) == []
    error(camunda.post("/external-task/fetchAndLock", json={
        "workerId": "w1", "usePriority": "yes", "topics": [{"topicName": "prio", "lockDuration": 1000}]}), 400)


def test_without_use_priority_the_oldest_first(camunda):
    _start_two(camunda)
    assert {t["businessKey"] for t in _fetch(camunda, 3)} == {"high"}


def test_a_priority_that_is_no_whole_number(camunda, admin_api):
    """A literal is checked when deployed (ParseException naming the element); an expression's
    value when the task is created: the instance gets an incident naming the element."""
    body, content_type = modeler_form([("deployment-name", "bad")], [(
        "bad.bpmn", PRIORITY_DIAGRAM.replace(b'camunda:taskPriority="20"', b'camunda:taskPriority="urgent"'),
        "text/xml")])
    refused = error(camunda.post("/deployment/create", data=body, content_type=content_type), 400, "ParseException")
    assert "camunda:taskPriority 'urgent' is not a whole number" in refused["message"]
    assert "literal" in refused["message"]

    camunda.deploy("external_priority.bpmn")
    started = camunda.start("external_priority", {"prio": {"value": "high", "type": "String"}}, "bad")
    [failed] = camunda.get("/process-instance?withIncident=true&businessKey=bad").get_json()
    assert failed["id"] == started["id"]
    [incident] = admin_api.get(f"/api/v1/process-instances/{started['id']}").get_json()["incidents"]
    assert incident["bpmn_id"] == "by_expression" and "camunda:taskPriority '${prio}'" in incident["message"]
    assert camunda.get("/external-task/count?activityId=by_expression").get_json()["count"] == 0

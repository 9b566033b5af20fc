"""What a worker asks for is what it gets: fetchAndLock's topic filters (business key,
definition, tenant, process variables) are conditions of the lock, so a worker never locks
another worker's tasks; a filter the server cannot honour is a 400, and `GET /external-task`
takes Camunda's documented filters and sort keys. The probe that found these: a topic with
`"businessKey": "nomatch"` locked a task of another business key, and a worker subscribed with
process_variables={"x": "highx"} got the tasks of every instance."""

from __future__ import annotations

from tests.camunda.conftest import error

TOPIC = "social.publishStatus"


def fetch(camunda, worker: str = "w1", max_tasks: int = 10, **topic) -> list[dict]:
    response = camunda.post("/external-task/fetchAndLock", json={
        "workerId": worker, "maxTasks": max_tasks, "asyncResponseTimeout": 0,
        "topics": [{"topicName": TOPIC, "lockDuration": 60_000, **topic}]})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def keys(tasks: list[dict]) -> list[str]:
    return sorted(task["businessKey"] for task in tasks)


def start_three(camunda) -> list[dict]:
    camunda.deploy("external_publish.bpmn")
    return [camunda.start("external_publish", {"orderId": {"value": n}, "x": {"value": x}}, key)
            for n, x, key in ((1, "lowx", "a"), (2, "highx", "b"), (3, "highx", "c"))]


def test_topic_filters_decide_what_is_locked(camunda):
    instances = start_three(camunda)
    assert fetch(camunda, businessKey="nomatch") == []
    assert fetch(camunda, processDefinitionKey="other") == []
    assert fetch(camunda, processDefinitionIdIn=["other:1:x"]) == []
    assert fetch(camunda, tenantIdIn=["tenant-1"]) == []
    # what the external task client sends: plain values, and its other topic keys
    highx = fetch(camunda, "w-high", processVariables={"x": "highx"}, includeExtensionProperties=True,
                  deserializeValues=True, variables=None)
    assert keys(highx) == ["b", "c"] and {t["workerId"] for t in highx} == {"w-high"}
    [a] = fetch(camunda, "w-a", businessKey="a", processDefinitionKeyIn=["external_publish"],
                processDefinitionId=instances[0]["definitionId"], withoutTenantId=True)
    assert a["processInstanceId"] == instances[0]["id"]
    assert camunda.get("/external-task/count?locked=true").get_json() == {"count": 3}


def test_process_variables_compare_by_json_value_and_type(camunda):
    """On SQLite json_extract gives 1 for true: an older task whose flag is 1 must neither be
    locked for `true` nor keep the matching task from being fetched one at a time."""
    camunda.deploy("external_publish.bpmn")
    for n, flag in ((1, 1), (2, "true"), (3, True), (4, None)):
        camunda.start("external_publish", {"orderId": {"value": n}, "flag": {"value": flag}}, f"k{n}")
    assert keys(fetch(camunda, max_tasks=1, processVariables={"flag": True})) == ["k3"]
    assert keys(fetch(camunda, processVariables={"flag": 1.0})) == ["k1"]
    assert keys(fetch(camunda, processVariables={"flag": None})) == ["k4"]
    assert keys(fetch(camunda, processVariables={"missing": None})) == ["k2"]


def test_filters_that_cannot_be_honoured_are_a_400_naming_them(camunda):
    start_three(camunda)
    for topic, name in (({"processDefinitionVersionTag": "1.0"}, "processDefinitionVersionTag"),
                        ({"processVariables": {"x": {"value": "highx", "type": "String"}}}, "'x'"),
                        ({"processVariables": ["x"]}, "processVariables"),
                        ({"tenantIdIn": ["t"], "withoutTenantId": True}, "withoutTenantId"),
                        ({"businessKey": 7}, "businessKey"),
                        ({"processDefinitionIdIn": "one"}, "processDefinitionIdIn")):
        body = error(camunda.post("/external-task/fetchAndLock", json={
            "workerId": "w", "topics": [{"topicName": TOPIC, "lockDuration": 1000, **topic}]}), 400)
        assert name in body["message"], (topic, body)
    assert camunda.get("/external-task/count?locked=true").get_json() == {"count": 0}


def test_local_variables_and_extension_properties(camunda):
    camunda.deploy("external_error_variables.bpmn")
    camunda.start("external_error_variables", {"sku": {"value": "S-9"}, "other": {"value": 1}})
    response = camunda.post("/external-task/fetchAndLock", json={"workerId": "w", "topics": [
        {"topicName": "checkStock", "lockDuration": 1000, "localVariables": True, "includeExtensionProperties": True}]})
    [task] = response.get_json()
    assert set(task["variables"]) == {"sku"} and task["extensionProperties"] == {"warehouse": "north"}
    camunda.post(f"/external-task/{task['id']}/unlock")
    [task] = camunda.post("/external-task/fetchAndLock", json={"workerId": "w", "topics": [
        {"topicName": "checkStock", "lockDuration": 1000}]}).get_json()
    assert set(task["variables"]) == {"sku", "other"} and task["extensionProperties"] == {}


def test_the_list_takes_camundas_filters_and_sort_keys(camunda):
    instances = start_three(camunda)
    ids = [i["id"] for i in instances]
    [locked] = fetch(camunda, businessKey="b")

    def listed(query: str) -> list[str]:
        response = camunda.get(f"/external-task?{query}")
        assert response.status_code == 200, response.get_json()
        count = camunda.get(f"/external-task/count?{query}").get_json()["count"]
        tasks = response.get_json()
        assert count == len(tasks)
        return [t["processInstanceId"] for t in tasks]

    assert listed("activityId=Activity_publish") == ids and listed("activityId=other") == []
    assert listed("activityIdIn=other,Activity_publish") == ids
    assert listed(f"processDefinitionId={instances[0]['definitionId']}") == ids
    assert listed("processDefinitionId=other:1:x") == []
    assert listed(f"executionId={ids[2]}") == [ids[2]]
    assert listed(f"processInstanceIdIn={ids[0]},{ids[2]}") == [ids[0], ids[2]]
    assert listed(f"externalTaskIdIn={locked['id']}") == [ids[1]]
    assert listed("tenantIdIn=tenant-1") == []
    assert listed("priorityHigherThanOrEquals=0") == ids and listed("priorityHigherThanOrEquals=1") == []
    assert listed("lockExpirationAfter=2000-01-01T00:00:00.000%2B0000") == [ids[1]]
    assert listed("lockExpirationAfter=2999-01-01T00:00:00.000%2B0000") == []
    assert listed("suspended=true") == [] and listed("active=true") == ids
    assert listed("sortBy=processInstanceId&sortOrder=desc") == sorted(ids, reverse=True)
    assert listed("sortBy=createTime&sortOrder=asc") == ids
    body = error(camunda.get("/external-task?sortBy=nonsense&sortOrder=asc"), 400)
    assert "sortBy" in body["message"]
    error(camunda.get("/external-task/count?lockExpirationAfter=yesterday"), 400)

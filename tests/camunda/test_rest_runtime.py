"""/engine-rest through the app: instances, tasks, messages, signals and history."""

from __future__ import annotations

from datetime import datetime

from tests.camunda.conftest import error

DATE = "%Y-%m-%dT%H:%M:%S.%f%z"


def test_task_queries_claim_and_complete(camunda, camunda_user):
    camunda.deploy("order_review.bpmn")
    instance = camunda.start("order_review", {"orderId": {"value": "A-1", "type": "String"}}, "order-1")
    rita, otto = camunda_user("rita", ["reviewers"]), camunda_user("otto", ["reviewers"])
    [task] = rita.get("/task?candidateGroup=reviewers").get_json()
    assert task["taskDefinitionKey"] == "Task_review" and task["processInstanceId"] == instance["id"]
    assert task["assignee"] is None and task["priority"] == 50
    datetime.strptime(task["created"], DATE)
    assert rita.get(f"/task/{task['id']}/identity-links").get_json() == [
        {"userId": None, "groupId": "reviewers", "type": "candidate"}]
    assert rita.get(f"/task/{task['id']}/form-variables").get_json() == {
        "approved": {"type": "Boolean", "value": False, "valueInfo": {}},
        "comment": {"type": "String", "value": None, "valueInfo": {}}}

    assert rita.post(f"/task/{task['id']}/claim", json={"userId": "rita"}).status_code == 204
    assert rita.post(f"/task/{task['id']}/claim", json={"userId": "rita"}).status_code == 204  # again: fine
    body = error(otto.post(f"/task/{task['id']}/claim", json={"userId": "otto"}), 500, "TaskAlreadyClaimedException")
    assert body["message"] == f"Task '{task['id']}' is already claimed by someone else."
    # candidate queries hide assigned tasks unless asked to include them
    assert camunda.get("/task?candidateGroup=reviewers").get_json() == []
    assert len(camunda.get("/task?candidateGroup=reviewers&includeAssignedTasks=true").get_json()) == 1
    assert camunda.get("/task?assignee=rita").get_json()[0]["assignee"] == "rita"
    assert otto.get(f"/task/{task['id']}").status_code == 404  # someone else's task is not visible

    assert rita.post(f"/task/{task['id']}/unclaim").status_code == 204
    assert rita.post(f"/task/{task['id']}/claim", json={"userId": "rita"}).status_code == 204
    done = rita.post(f"/task/{task['id']}/complete", json={
        "variables": {"approved": {"value": True, "type": "Boolean"}, "comment": {"value": "fine"}},
        "withVariablesInReturn": True})
    assert done.status_code == 200
    assert done.get_json()["approved"] == {"type": "Boolean", "value": True, "valueInfo": {}}
    error(rita.post(f"/task/{task['id']}/complete", json={}), 404)
    error(camunda.get(f"/task/{task['id']}"), 404)



def test_set_assignee_takes_any_user_id_as_camunda_does(camunda):
    """Unlike the native API (a user of this server or 404), as Camunda: ids may come from elsewhere."""
    camunda.deploy("order_review.bpmn")
    instance = camunda.start("order_review")
    [task] = camunda.get(f"/task?processInstanceId={instance['id']}").get_json()
    assert camunda.post(f"/task/{task['id']}/assignee", json={"userId": "from-ldap"}).status_code == 204
    assert camunda.get(f"/task/{task['id']}").get_json()["assignee"] == "from-ldap"
    assert camunda.post(f"/task/{task['id']}/assignee", json={"userId": None}).status_code == 204
    assert camunda.get(f"/task/{task['id']}").get_json()["assignee"] is None

def test_instance_variables_and_delete(camunda):
    camunda.deploy("order_review.bpmn")
    instance = camunda.start("order_review", {"amount": {"value": 12.5, "type": "Double"}}, "order-2")
    path = f"/process-instance/{instance['id']}"
    shown = camunda.get(path).get_json()
    assert shown["businessKey"] == "order-2" and shown["definitionKey"] == "order_review" and shown["links"] == []
    assert camunda.get(f"{path}/variables").get_json() == {"amount": {"type": "Double", "value": 12.5, "valueInfo": {}}}
    assert camunda.post(f"{path}/variables", json={"modifications": {"note": {"value": "x"}},
                                                   "deletions": ["amount"]}).status_code == 204
    assert camunda.put(f"{path}/variables/count", json={"value": "3", "type": "Long"}).status_code == 204
    assert camunda.get(f"{path}/variables/count").get_json() == {"type": "Integer", "value": 3, "valueInfo": {}}
    assert set(camunda.get(f"{path}/variables").get_json()) == {"note", "count"}
    assert camunda.delete(f"{path}/variables/note").status_code == 204
    error(camunda.get(f"{path}/variables/note"), 404)
    assert camunda.get("/process-instance?activityIdIn=Task_review").get_json()[0]["id"] == instance["id"]

    assert camunda.delete(path, json={}).status_code == 204  # pycamunda sends a body on DELETE
    error(camunda.get(path), 404)
    historic = camunda.get(f"/history/process-instance/{instance['id']}").get_json()
    assert historic["state"] == "EXTERNALLY_TERMINATED" and historic["endTime"] is not None
    assert camunda.get("/history/process-instance/count?externallyTerminated=true").get_json() == {"count": 1}
    assert camunda.get("/process-instance/count").get_json() == {"count": 0}


def test_message_correlation_answers(camunda):
    camunda.deploy("order_review.bpmn")
    instance = camunda.start("order_review", {}, "order-3")
    [task] = camunda.get(f"/task?processInstanceId={instance['id']}").get_json()
    camunda.post(f"/task/{task['id']}/complete", json={"variables": {"approved": {"value": True}}})
    message = {"messageName": "PaymentReceived", "businessKey": "order-3",
               "processVariables": {"paid": {"value": True, "type": "Boolean"}}}
    error(camunda.post("/message", json={**message, "businessKey": "other"}), 400,
          "MismatchingMessageCorrelationException")
    [result] = camunda.post("/message", json={**message, "resultEnabled": True}).get_json()
    assert result["resultType"] == "Execution" and result["execution"]["processInstanceId"] == instance["id"]
    assert result["processInstance"] is None
    historic = camunda.get(f"/history/process-instance/{instance['id']}").get_json()
    assert historic["state"] == "COMPLETED"
    variables = camunda.get(f"/history/variable-instance?processInstanceId={instance['id']}&variableName=paid")
    assert [(v["name"], v["type"], v["value"]) for v in variables.get_json()] == [("paid", "Boolean", True)]
    error(camunda.post("/message", json={}), 400)
    # a business key that is not a string is Camunda's 400, not a server error (it was on PostgreSQL)
    assert "businessKey" in error(camunda.post("/message", json={**message, "businessKey": 5}), 400)["message"]
    assert "businessKey" in error(camunda.post("/process-definition/key/order_review/start",
                                               json={"businessKey": ["order-9"]}), 400)["message"]


def test_signal_reaches_waiting_instances_and_starts_processes(camunda):
    camunda.deploy("signals.bpmn")
    waiting = [camunda.start("wait_for_alert") for _ in range(2)]
    assert camunda.post("/signal", json={"name": "NobodyListens"}).status_code == 204
    response = camunda.post("/signal", json={"name": "AlertRaised", "variables": {"level": {"value": 3}}})
    assert response.status_code == 204
    for instance in waiting:
        historic = camunda.get(f"/history/process-instance/{instance['id']}").get_json()
        assert historic["state"] == "COMPLETED"
        [level] = camunda.get(f"/history/variable-instance?processInstanceId={instance['id']}").get_json()
        assert level["name"] == "level" and level["value"] == 3
    [started] = camunda.get("/process-instance?processDefinitionKey=handle_alert").get_json()
    assert camunda.get(f"/process-instance/{started['id']}/variables").get_json()["level"]["value"] == 3
    [task] = camunda.get("/task?candidateGroup=operators").get_json()
    assert task["processInstanceId"] == started["id"]


def test_activity_history_shows_what_ran_and_what_is_open(camunda):
    camunda.deploy("order_review.bpmn")
    instance = camunda.start("order_review")
    path = f"/history/activity-instance?processInstanceId={instance['id']}"
    activities = camunda.get(path).get_json()
    assert [(a["activityId"], a["activityType"], a["endTime"] is None) for a in activities] == [
        ("StartEvent_1", "startEvent", False), ("Task_review", "userTask", True)]
    for activity in activities:
        datetime.strptime(activity["startTime"], DATE)
    assert [a["activityId"] for a in camunda.get(path + "&unfinished=true").get_json()] == ["Task_review"]
    assert camunda.get(f"/history/activity-instance/count?processInstanceId={instance['id']}").get_json() == {
        "count": 2}
    [task] = camunda.get(f"/task?processInstanceId={instance['id']}").get_json()
    camunda.post(f"/task/{task['id']}/complete", json={})
    finished = camunda.get(path + "&finished=true").get_json()
    assert [a["activityId"] for a in finished] == ["StartEvent_1", "Task_review"]
    assert finished[1]["assignee"] == "admin" and finished[1]["durationInMillis"] >= 0
    assert [a["activityType"] for a in camunda.get(path + "&unfinished=true").get_json()] == [
        "intermediateMessageCatch"]


def test_historic_instance_fields_and_filters(camunda):
    camunda.deploy("order_review.bpmn")
    instance = camunda.start("order_review", {}, "order-9")
    [historic] = camunda.get("/history/process-instance?processInstanceBusinessKey=order-9").get_json()
    assert historic["id"] == instance["id"] and historic["state"] == "ACTIVE"
    assert historic["processDefinitionName"] == "Order review" and historic["processDefinitionVersion"] == 1
    assert historic["startActivityId"] == "StartEvent_1" and historic["startUserId"] == "admin"
    assert historic["endTime"] is None and historic["durationInMillis"] is None
    started = historic["startTime"].replace("+", "%2B")
    assert camunda.get(f"/history/process-instance/count?startedBefore={started}").get_json() == {"count": 0}
    early = "2000-01-01T00:00:00.000%2B0000"
    assert camunda.get(f"/history/process-instance/count?startedAfter={early}").get_json() == {"count": 1}
    assert camunda.get("/history/process-instance/count?unfinished=true").get_json() == {"count": 1}
    assert camunda.get("/history/process-instance/count?finished=true").get_json() == {"count": 0}
    error(camunda.get("/history/process-instance?startedAfter=yesterday"), 400)

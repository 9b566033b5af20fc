"""/task/{id}/form, /task/{id}/variables/{name} and /task/{id}/localVariables, with the
visibility of the other task endpoints: the assignee or, while unassigned, the candidates
(admins see all); anyone else gets 404."""

from __future__ import annotations

from tests.camunda.conftest import error

NO_FORM = {"key": None, "camundaFormRef": None, "contextPath": None}


def _task(client, instance_id: str, key: str) -> dict:
    [task] = client.get(f"/task?processInstanceId={instance_id}&taskDefinitionKey={key}").get_json()
    return task


def test_task_form_key(camunda, camunda_user):
    camunda.deploy("start_form.bpmn")
    instance = camunda.start("start_form")
    rita, otto = camunda_user("rita", ["reviewers"]), camunda_user("otto", ["editors"])
    check = _task(rita, instance["id"], "Task_check")
    assert rita.get(f"/task/{check['id']}/form").get_json() == {
        "key": "embedded:app:forms/check.html", "camundaFormRef": None, "contextPath": None}
    error(otto.get(f"/task/{check['id']}/form"), 404)
    error(rita.get("/task/no-such-task/form"), 404)

    assert rita.post(f"/task/{check['id']}/complete", json={}).status_code == 204
    pack = _task(rita, instance["id"], "Task_pack")
    assert rita.get(f"/task/{pack['id']}/form").get_json() == NO_FORM  # no key, no fields

    camunda.deploy("order_review.bpmn")
    review = _task(camunda, camunda.start("order_review")["id"], "Task_review")
    assert rita.get(f"/task/{review['id']}/form").get_json() == {  # fields, no key: Camunda's generated form
        "key": f"embedded:engine://engine/:engine/task/{review['id']}/rendered-form",
        "camundaFormRef": None, "contextPath": None}


def test_one_task_variable_read_changed_and_deleted(camunda, camunda_user):
    camunda.deploy("order_review.bpmn")
    instance = camunda.start("order_review", {"orderId": {"value": "A-1", "type": "String"}})
    rita, rosa = camunda_user("rita", ["reviewers"]), camunda_user("rosa", ["reviewers"])
    otto = camunda_user("otto", ["editors"])
    task_id = _task(rita, instance["id"], "Task_review")["id"]
    url = f"/task/{task_id}/variables"

    assert rita.get(f"{url}/orderId").get_json() == {"type": "String", "value": "A-1", "valueInfo": {}}
    body = error(rita.get(f"{url}/missing"), 404)
    assert body["message"] == "task variable with name missing does not exist"
    assert rita.put(f"{url}/amount", json={"value": "12", "type": "Long"}).status_code == 204
    assert camunda.get(f"/process-instance/{instance['id']}/variables/amount").get_json() == {
        "type": "Integer", "value": 12, "valueInfo": {}}
    assert rita.get(f"{url}/amount").get_json()["value"] == 12
    error(rita.put(f"{url}/amount", json={"value": "twelve", "type": "Long"}), 400)
    error(rita.put(f"{url}/amount", json="twelve"), 400)

    for method in ("get", "put", "delete"):  # not a candidate: the task does not exist for otto
        error(getattr(otto, method)(f"{url}/orderId", json={"value": "B-2"}), 404)
    assert rita.post(f"/task/{task_id}/claim", json={"userId": "rita"}).status_code == 204
    for method in ("get", "put", "delete"):  # a candidate, but rita holds it now
        error(getattr(rosa, method)(f"{url}/orderId", json={"value": "B-2"}), 404)
    assert camunda.get(f"/process-instance/{instance['id']}/variables/orderId").get_json()["value"] == "A-1"

    assert rita.delete(f"{url}/amount").status_code == 204
    error(rita.get(f"{url}/amount"), 404)
    assert "amount" not in camunda.get(f"/process-instance/{instance['id']}/variables").get_json()


def test_local_variables_are_empty_as_no_variable_belongs_to_a_task_alone(camunda, camunda_user):
    camunda.deploy("order_review.bpmn")
    instance = camunda.start("order_review", {"orderId": {"value": "A-1", "type": "String"}})
    rita, otto = camunda_user("rita", ["reviewers"]), camunda_user("otto", ["editors"])
    task_id = _task(rita, instance["id"], "Task_review")["id"]
    assert rita.get(f"/task/{task_id}/localVariables").get_json() == {}
    error(rita.get(f"/task/{task_id}/localVariables/orderId"), 404)
    error(otto.get(f"/task/{task_id}/localVariables"), 404)
    assert rita.get(f"/task/{task_id}/variables").get_json()["orderId"]["value"] == "A-1"

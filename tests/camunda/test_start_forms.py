"""Start forms: a start event's `camunda:formData` under /engine-rest and in the native API.

As in Camunda: `form-variables` lists the start form's fields with their types and defaults,
`startForm` gives its key, `submit-form` checks the submitted values (400 naming the field,
nothing started) and fills in defaults, and `/start` does not look at the form (Camunda Modeler's
Start button sends no variables at all).
"""

from __future__ import annotations

from tests.camunda.conftest import error
from tests.camunda.support import diagram


def _instances(client) -> int:
    return client.get("/process-instance/count?processDefinitionKey=start_form").get_json()["count"]


def test_start_form_variables_carry_types_and_defaults(camunda):
    deployed = camunda.deploy("start_form.bpmn").get_json()
    [definition_id] = deployed["deployedProcessDefinitions"]
    expected = {
        "customer": {"type": "String", "value": None, "valueInfo": {}},
        "amount": {"type": "Long", "value": 100, "valueInfo": {}},
        "rush": {"type": "Boolean", "value": False, "valueInfo": {}},
        "size": {"type": "String", "value": "m", "valueInfo": {}},
    }
    assert camunda.get(f"/process-definition/{definition_id}/form-variables").get_json() == expected
    assert camunda.get("/process-definition/key/start_form/form-variables").get_json() == expected
    assert camunda.get("/process-definition/key/start_form/form-variables?variableNames=amount,size").get_json() \
        == {"amount": expected["amount"], "size": expected["size"]}
    # a form of fields without a formKey: the key of Camunda's generated form
    assert camunda.get(f"/process-definition/{definition_id}/startForm").get_json() == {
        "key": f"embedded:engine://engine/:engine/process-definition/{definition_id}/rendered-form",
        "camundaFormRef": None, "contextPath": None}


def test_definition_without_start_form(camunda):
    camunda.deploy("order_review.bpmn")
    assert camunda.get("/process-definition/key/order_review/form-variables").get_json() == {}
    assert camunda.get("/process-definition/key/order_review/startForm").get_json() == {
        "key": None, "camundaFormRef": None, "contextPath": None}


def test_submit_form_checks_the_start_form_and_starts_nothing_on_bad_values(camunda):
    camunda.deploy("start_form.bpmn")
    url = "/process-definition/key/start_form/submit-form"
    body = error(camunda.post(url, json={"variables": {"amount": {"value": 5, "type": "Long"}}}), 400, "RestException")
    assert "Invalid value submitted for form field 'customer': is required" in body["message"]
    assert body["message"].startswith("Cannot instantiate process definition start_form:1:")
    for field, value, reason in (
            ("amount", {"value": "many"}, "must be a whole number"),
            ("amount", {"value": 0, "type": "Long"}, "must be at least 1"),
            ("rush", {"value": "maybe"}, "must be true or false"),
            ("size", {"value": "xl"}, "must be one of s, m, l"),
            ("customer", {"value": "x" * 21}, "must have at most 20 characters")):
        variables = {"customer": {"value": "ACME"}, field: value}
        body = error(camunda.post(url, json={"variables": variables}), 400, "RestException")
        assert f"Invalid value submitted for form field '{field}': {reason}" in body["message"], body
    assert _instances(camunda) == 0

    started = camunda.post(url, json={"businessKey": "order-1", "withVariablesInReturn": True, "variables": {
        "customer": {"value": "ACME", "type": "String"}, "amount": {"value": "7", "type": "String"},
        "note": {"value": "not a field"}}})
    assert started.status_code == 200, started.get_json()
    variables = camunda.get(f"/process-instance/{started.get_json()['id']}/variables").get_json()
    assert variables == {  # typed by the form, defaults filled in, other variables kept
        "customer": {"type": "String", "value": "ACME", "valueInfo": {}},
        "amount": {"type": "Integer", "value": 7, "valueInfo": {}},
        "rush": {"type": "Boolean", "value": False, "valueInfo": {}},
        "size": {"type": "String", "value": "m", "valueInfo": {}},
        "note": {"type": "String", "value": "not a field", "valueInfo": {}}}
    assert started.get_json()["variables"] == variables


def test_submit_form_by_id(camunda):
    [definition_id] = camunda.deploy("start_form.bpmn").get_json()["deployedProcessDefinitions"]
    url = f"/process-definition/{definition_id}/submit-form"
    error(camunda.post(url, json={}), 400, "RestException")
    assert camunda.post(url, json={"variables": {"customer": {"value": "ACME"}}}).status_code == 200
    assert _instances(camunda) == 1


def test_start_does_not_check_the_start_form_as_in_camunda(camunda):
    """Camunda Modeler's Start button posts `"variables": null` to /start; Camunda starts."""
    camunda.deploy("start_form.bpmn")
    started = camunda.post("/process-definition/key/start_form/start", json={"businessKey": None, "variables": None})
    assert started.status_code == 200, started.get_json()
    assert camunda.get(f"/process-instance/{started.get_json()['id']}/variables").get_json() == {}


def test_native_start_checks_the_start_form(admin_api):
    admin_api.deploy(diagram("start_form.bpmn"))
    refused = admin_api.post("/api/v1/process-instances", json={"definition_key": "start_form",
                                                                "variables": {"amount": "x"}})
    assert refused.status_code == 422, refused.get_json()
    assert set(refused.get_json()["errors"]) == {"customer", "amount"}
    listed = admin_api.get("/api/v1/process-instances?definition_key=start_form").get_json()
    assert listed["items"] == []
    started = admin_api.post("/api/v1/process-instances", json={"definition_key": "start_form",
                                                                "variables": {"customer": "ACME"}})
    assert started.status_code == 201, started.get_json()
    assert started.get_json()["variables"] == {"customer": "ACME", "amount": 100, "rush": False, "size": "m"}

"""/engine-rest/deployment/create: a DMN deployed alone, then the BPMN naming its decision."""

from __future__ import annotations

from tests.camunda.support import deploy_form
from tests.conftest import DIAGRAMS

COVERAGE = DIAGRAMS / "coverage"


def test_modeler_deploys_the_decision_then_the_diagram(camunda):
    body, content_type = deploy_form(COVERAGE / "discount.dmn")
    assert camunda.post("/deployment/create", data=body, content_type=content_type).status_code == 200
    body, content_type = deploy_form(COVERAGE / "business_rule_camunda.bpmn")
    response = camunda.post("/deployment/create", data=body, content_type=content_type)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["deployedProcessDefinitions"]
    response = camunda.post("/process-definition/key/cov_rule_camunda/start", json={
        "variables": {"category": {"value": "gold", "type": "String"}, "amount": {"value": 150, "type": "Integer"}},
        "withVariablesInReturn": True})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["variables"]["discount"]["value"] == 15

"""/engine-rest/deployment/create: a DMN deployed alone, then the BPMN naming its decision."""

from __future__ import annotations

from tests.camunda.support import deploy_form, modeler_form
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


CARRIER = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" xmlns:camunda="http://camunda.org/schema/1.0/dmn"
             id="shipping_rules" name="Shipping rules" namespace="http://processcafe.test/shipping">
  <decision id="carrier" name="Carrier" camunda:versionTag="v2" camunda:historyTimeToLive="30">
    <decisionTable id="carrier_table">
      <input id="in_weight">
        <inputExpression id="in_weight_expr" typeRef="number"><text>weight</text></inputExpression>
      </input>
      <output id="out_carrier" name="carrier" typeRef="string" />
      <rule id="r1"><inputEntry id="r1_in"><text>&lt; 10</text></inputEntry>
        <outputEntry id="r1_out"><text>"post"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


def _deploy_dmn(camunda, name: str, content: bytes, *extra: tuple[str, bytes, str]) -> dict:
    body, content_type = modeler_form([("deployment-name", "rules"), ("deployment-source", "Camunda Modeler"),
                                       ("enable-duplicate-filtering", "true")],
                                      [(name, content, "text/xml"), *extra])
    response = camunda.post("/deployment/create", data=body, content_type=content_type)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_deployment_reports_its_decisions_as_camunda_does(camunda):
    """One DecisionDefinitionDto per decision, versioned per key (a file of one decision has no
    decision requirements definition in Camunda)."""
    discount = (COVERAGE / "discount.dmn").read_bytes()
    first = _deploy_dmn(camunda, "discount.dmn", discount)
    assert first["deployedProcessDefinitions"] is None and first["deployedCaseDefinitions"] is None
    assert first["deployedDecisionRequirementsDefinitions"] is None
    [(decision_id, decision)] = first["deployedDecisionDefinitions"].items()
    assert decision_id.startswith("discount:1:")
    assert decision == {
        "id": decision_id, "key": "discount", "category": "http://processcafe.test/coverage", "name": "Discount",
        "version": 1, "resource": "discount.dmn", "deploymentId": first["id"],
        "decisionRequirementsDefinitionId": None, "decisionRequirementsDefinitionKey": None,
        "tenantId": None, "versionTag": None, "historyTimeToLive": None}

    files = [("shipping.dmn", CARRIER, "text/xml"),
             ("order.bpmn", (DIAGRAMS / "camunda" / "order_review.bpmn").read_bytes(), "text/xml")]
    changed = _deploy_dmn(camunda, "discount.dmn", discount.replace(b"Discount", b"Rebate"), *files)
    assert list(changed["deployedProcessDefinitions"].values())[0]["category"] == "http://bpmn.io/schema/bpmn"
    decisions = {d["key"]: d for d in changed["deployedDecisionDefinitions"].values()}
    assert {key: d["version"] for key, d in decisions.items()} == {"discount": 2, "carrier": 1}
    assert decisions["discount"]["name"] == "Rebate" and decisions["discount"]["deploymentId"] == changed["id"]
    assert decisions["carrier"]["versionTag"] == "v2" and decisions["carrier"]["historyTimeToLive"] == 30
    assert decisions["carrier"]["category"] == "http://processcafe.test/shipping"
    assert changed["deployedDecisionRequirementsDefinitions"] is None

    unchanged = _deploy_dmn(camunda, "discount.dmn", discount.replace(b"Discount", b"Rebate"), *files)
    assert unchanged["id"] == changed["id"]  # a duplicate: every map null
    assert unchanged["deployedDecisionDefinitions"] is None and unchanged["deployedProcessDefinitions"] is None

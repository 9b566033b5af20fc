"""The Camunda 7 element templates of the three social task types are valid, and a diagram using them
(as Camunda Modeler writes it when a template is applied) deploys and parks the step with its inputs."""

import json

import jsonschema
import pytest

from bpmn.definitions import parse_deployment
from bpmn.engine import CafeScriptEngine
from bpmn.runtime import ProcessRun
from bpmn.serializer import serializer_for
from tests.conftest import ROOT

TEMPLATES = ROOT / "element-templates" / "processcafe-social.json"
SCHEMA = ROOT / "node_modules" / "@camunda" / "element-templates-json-schema" / "resources" / "schema.json"


def test_templates_match_the_element_templates_schema():
    if not SCHEMA.exists():
        pytest.fail("the element-templates JSON schema comes from npm: run `scripts/dev setup` (npm install)")
    schema = json.loads(SCHEMA.read_text())
    templates = json.loads(TEMPLATES.read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(templates), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    assert [t["id"] for t in templates] == ["processcafe.social.publishStatus", "processcafe.social.collectReview",
                                            "processcafe.social.attachImage"]


def applied(template: dict) -> str:
    """The serviceTask XML Camunda Modeler writes when the template is applied with its defaults."""
    props = template["scopes"][0]["properties"]
    connector_id = next(p["value"] for p in props if p["binding"]["type"] == "property")
    inputs = "".join(f'<camunda:inputParameter name="{p["binding"]["name"]}">{p["value"]}</camunda:inputParameter>'
                     for p in props if p["binding"]["type"] == "camunda:inputParameter" and p["value"])
    outputs = "".join(f'<camunda:outputParameter name="{p["value"]}">{p["binding"]["source"]}</camunda:outputParameter>'
                      for p in props if p["binding"]["type"] == "camunda:outputParameter")
    return (f'<bpmn:serviceTask id="step" camunda:modelerTemplate="{template["id"]}" '
            'camunda:modelerTemplateVersion="1">'
            f"<bpmn:extensionElements><camunda:connector><camunda:inputOutput>{inputs}{outputs}"
            f"</camunda:inputOutput><camunda:connectorId>{connector_id}</camunda:connectorId></camunda:connector>"
            "</bpmn:extensionElements></bpmn:serviceTask>")


@pytest.mark.parametrize("index", [0, 1, 2])
def test_a_diagram_made_with_each_template_parks_its_step(index):
    template = json.loads(TEMPLATES.read_text())[index]
    xml = (
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">'
        '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="step"/>' + applied(template) +
        '<bpmn:sequenceFlow id="f2" sourceRef="step" targetRef="e"/><bpmn:endEvent id="e"/></bpmn:process>'
        "</bpmn:definitions>")
    [process] = parse_deployment([("t.bpmn", xml.encode())]).processes
    specs = serializer_for(process.dialect).load_specs(process.specs_json)
    run = ProcessRun.start(specs, process.dialect, CafeScriptEngine(process.dialect), {"orderId": "A-1"})
    [request] = run.advance().requests
    assert request.operator == template["scopes"][0]["properties"][0]["value"]
    assert "A-1" in json.dumps(request.params)
    run.finish_service_task(request.task_id, {"ok": True})
    assert run.advance().status == "completed"
    assert run.variables()[request.result_variable] == {"ok": True}

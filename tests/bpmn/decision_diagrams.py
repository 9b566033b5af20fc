"""Small DMN tables and the Camunda diagram that calls them, written out for the decision tests."""

from __future__ import annotations

from html import escape

from bpmn.dialect import Dialect
from bpmn.engine import CafeScriptEngine
from bpmn.runtime import ProcessRun
from bpmn.serializer import serializer_for


def dmn(did: str, hit: str, inputs: list[tuple[str, str]], outputs: list[tuple[str, str]],
        rules: list[tuple[list[str], list[str]]], aggregation: str | None = None,
        output_values: dict[str, str] | None = None) -> bytes:
    """A decision table; cell texts are given as written in the modeler (escaped here)."""
    ins = "".join(f'<input id="in_{n}" label="{n}"><inputExpression id="ie_{n}" typeRef="{t}">'
                  f"<text>{n}</text></inputExpression></input>" for n, t in inputs)
    outs = ""
    for n, t in outputs:
        values = (output_values or {}).get(n)
        inner = f"<outputValues><text>{escape(values, quote=False)}</text></outputValues>" if values else ""
        outs += f'<output id="out_{n}" label="{n}" name="{n}" typeRef="{t}">{inner}</output>'
    body = ""
    for k, (ins_, outs_) in enumerate(rules):
        body += f'<rule id="r{k}">' + "".join(
            f'<inputEntry id="r{k}i{j}"><text>{escape(x, quote=False)}</text></inputEntry>'
            for j, x in enumerate(ins_)) + "".join(
            f'<outputEntry id="r{k}o{j}"><text>{escape(x, quote=False)}</text></outputEntry>'
            for j, x in enumerate(outs_)) + "</rule>"
    agg = f' aggregation="{aggregation}"' if aggregation else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs_{did}" name="{did}" '
            f'namespace="http://test">\n<decision id="{did}" name="{did}">\n'
            f'<decisionTable id="t_{did}" hitPolicy="{hit}"{agg}>\n{ins}{outs}{body}\n'
            f"</decisionTable>\n</decision>\n</definitions>\n").encode()


def bpmn(pid: str, did: str, result_variable: str | None = None, mapping: str | None = None) -> bytes:
    attrs = f' camunda:resultVariable="{result_variable}"' if result_variable else ""
    attrs += f' camunda:mapDecisionResult="{mapping}"' if mapping else ""
    return f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_{pid}" targetNamespace="http://test">
  <bpmn:process id="{pid}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:businessRuleTask id="decide" name="Decide" camunda:decisionRef="{did}"{attrs}/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide"/>
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
'''.encode()


def run(parsed_process, variables: dict) -> tuple[str, dict, str | None]:
    """Start the stored form of a parsed process: (status, variables, incident message)."""
    dialect = Dialect.CAMUNDA
    specs = serializer_for(dialect).load_specs(parsed_process.specs_json)
    process = ProcessRun.start(specs, dialect, CafeScriptEngine(dialect), variables)
    outcome = process.advance()
    return outcome.status, process.variables(), outcome.error.message if outcome.error else None

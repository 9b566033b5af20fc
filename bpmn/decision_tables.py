"""Reading a DMN decision table's hit policy, output values and cells, and wiring `DecisionEngine` in.

SpiffWorkflow's DMN model drops what Camunda's hit policies need (the aggregation, the output
values PRIORITY and OUTPUT ORDER order by) and never looks at input entries before run time. This
module reads them from the XML once, for the deploy-time check (`table_problems`) and for the
engine of each business rule task (`DecisionParserMixin.get_engine`); `decision_converters` keeps
them in the stored spec. Specs stored before this existed restore with SpiffWorkflow's engine, so
definitions deployed earlier behave as they did.
"""

from __future__ import annotations

from dataclasses import replace

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.dmn.serializer.task_spec import BaseBusinessRuleTaskConverter

from .decision_engine import AGGREGATIONS, HIT_POLICIES, MAPPINGS, DecisionEngine, DecisionSettings
from .errors import DiagramProblem
from .feel_tests import FeelError, parse_unary_tests

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
SETTINGS_KEY = "cafe_settings"  # in the serialized decision table; absent in specs stored before


def _children(element: etree._Element, local: str) -> list[etree._Element]:
    return [c for c in element.iterchildren(etree.Element) if etree.QName(c).localname == local]


def _text(element: etree._Element) -> str | None:
    found = _children(element, "text")
    return found[0].text if found else None


def read_settings(decision: etree._Element, file: str | None) -> tuple[DecisionSettings, list[DiagramProblem]]:
    """The settings of the decision's table and every problem that would make it misbehave."""
    did = decision.get("id") or ""
    settings = DecisionSettings(decision_id=did, decision_name=decision.get("name") or "")
    tables = [t for t in decision.iter(etree.Element) if etree.QName(t).localname == "decisionTable"]
    if not tables:
        return settings, []  # reported by decisions._dmn_structure
    table = tables[0]
    problems: list[DiagramProblem] = []

    def problem(reason: str, element: etree._Element) -> None:
        problems.append(DiagramProblem(f"decision {did!r}: {reason}", file=file,
                                       element_id=element.get("id"), line=element.sourceline))

    policy = (table.get("hitPolicy") or "UNIQUE").strip().upper()
    aggregation = (table.get("aggregation") or "").strip().upper() or None
    if policy not in HIT_POLICIES:
        problem(f"unknown hit policy {policy!r}; use one of {', '.join(HIT_POLICIES)}", table)
    if aggregation is not None and aggregation not in AGGREGATIONS:
        problem(f"unknown aggregation {aggregation!r}; use one of {', '.join(AGGREGATIONS)}", table)
    elif aggregation is not None and policy != "COLLECT":
        problem(f"an aggregation ({aggregation}) needs hit policy COLLECT, not {policy}", table)
    inputs, outputs = _children(table, "input"), _children(table, "output")
    if aggregation is not None and len(outputs) != 1:
        problem(f"COLLECT {aggregation} aggregates a single output; the table has {len(outputs)}", table)
    output_values = tuple(_output_values(output, problem) for output in outputs)
    if policy in ("PRIORITY", "OUTPUT ORDER") and not any(output_values):
        problem(f"hit policy {policy} orders results by the outputs' output values, and no output lists "
                "any; add them (Output values in Camunda Modeler) or use FIRST or RULE ORDER", table)
    for row, rule in enumerate(_children(table, "rule"), start=1):
        entries = _children(rule, "inputEntry")
        if len(entries) != len(inputs) or len(_children(rule, "outputEntry")) != len(outputs):
            problem(f"rule {rule.get('id')!r} (row {row}) has {len(entries)} input and "
                    f"{len(_children(rule, 'outputEntry'))} output entries; the table has {len(inputs)} "
                    f"inputs and {len(outputs)} outputs", rule)
        for entry in entries:
            text = _text(entry)
            try:
                parse_unary_tests(text)
            except FeelError as err:
                problem(f"rule {rule.get('id')!r} (row {row}), input entry {entry.get('id')!r}: cannot read "
                        f"{(text or '').strip()!r}: {err}", entry)
    settings = replace(settings, hit_policy=policy, aggregation=aggregation, output_values=output_values)
    return settings, problems


def _output_values(output: etree._Element, problem) -> tuple | None:
    found = _children(output, "outputValues")
    text = (_text(found[0]) or "").strip() if found else ""
    if not text:
        return None
    try:
        values = parse_unary_tests(text).literals()
    except FeelError as err:
        problem(f"output {output.get('name') or output.get('id')!r}: cannot read the output values "
                f"{text!r}: {err}", output)
        return None
    if not all(v is None or isinstance(v, str | int | float | bool) for v in values):
        problem(f"output {output.get('name') or output.get('id')!r}: output values must be text, numbers or "
                "booleans", output)
        return None
    return tuple(values)


def task_mapping(node: etree._Element) -> dict:
    """`camunda:resultVariable` and `camunda:mapDecisionResult` of a business rule task."""
    variable = (node.get(f"{{{CAMUNDA_NS}}}resultVariable") or "").strip() or None
    mapping = (node.get(f"{{{CAMUNDA_NS}}}mapDecisionResult") or "resultList").strip()
    binding = (node.get(f"{{{CAMUNDA_NS}}}decisionRefBinding") or "latest").strip()
    if mapping not in MAPPINGS:
        raise ValidationException(f"camunda:mapDecisionResult {mapping!r} is not one of {', '.join(MAPPINGS)}",
                                  node=node, file_name="")
    if binding not in ("latest", "deployment"):
        raise ValidationException(f"camunda:decisionRefBinding {binding!r} is not supported: the decision "
                                  "deployed with this diagram, or else the latest deployed one, is used",
                                  node=node, file_name="")
    return {"result_variable": variable, "mapping": mapping}


class DecisionParserMixin:
    """For BpmnDmnParser subclasses: business rule tasks get a `DecisionEngine`."""

    dmn_parsers: dict

    def get_engine(self, decision_ref: str, node: etree._Element) -> DecisionEngine:
        dmn_parser = self.dmn_parsers.get(decision_ref)
        if dmn_parser is None:
            known = ", ".join(sorted(self.dmn_parsers)) or "none"
            raise ValidationException(
                f"no decision with id {decision_ref!r}: deploy its DMN file before this diagram or with it "
                f"(decisions found: {known})", node=node, file_name="")
        dmn_parser.parse()
        decision = dmn_parser.xpath("dmn:decision[1]")[0]
        settings, problems = read_settings(decision, dmn_parser.filename)
        if problems:  # a DMN deployed before these checks existed
            raise ValidationException(f"{dmn_parser.filename}: {problems[0].reason}", node=node, file_name="")
        settings = replace(settings, **task_mapping(node))
        return DecisionEngine(dmn_parser.decision.decisionTables[0], settings)


class _SettingsConverterMixin:
    def to_dict(self, spec) -> dict:
        dct = super().to_dict(spec)  # type: ignore[misc]
        if isinstance(spec.dmnEngine, DecisionEngine):
            dct["decision_table"][SETTINGS_KEY] = spec.dmnEngine.settings.to_dict()
        return dct

    def from_dict(self, dct: dict):
        settings = dct["decision_table"].get(SETTINGS_KEY)
        spec = super().from_dict(dct)  # type: ignore[misc]
        if settings is not None:
            spec.dmnEngine = DecisionEngine(spec.dmnEngine.decision_table, DecisionSettings.from_dict(settings))
        return spec


def decision_converters(config: dict) -> dict:
    """Serializer converters that keep `DecisionSettings` for every business rule task spec class."""
    return {
        spec_class: type(f"Cafe{converter.__name__}", (_SettingsConverterMixin, converter), {})
        for spec_class, converter in config.items()
        if isinstance(converter, type) and issubclass(converter, BaseBusinessRuleTaskConverter)
    }


def with_decisions(parser_class: type) -> type:
    """`parser_class` whose business rule tasks evaluate with `DecisionEngine`."""
    return type(parser_class.__name__, (DecisionParserMixin, parser_class), {})

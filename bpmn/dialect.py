"""Which modeler's conventions a diagram follows, and the parser and serializer that go with it.

SpiffWorkflow builds different spec classes per parser, and a workflow round-trips only through
the serializer config of the parser that built it, so the dialect is stored with each definition.
"""

from __future__ import annotations

import enum
import re

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from .camunda import CONVERTERS as CAMUNDA_CONVERTERS
from .camunda import CafeCamundaParser
from .catch_events import CAMUNDA_CONVERTERS as CAMUNDA_MESSAGE_CONVERTERS
from .decision_tables import decision_converters, with_decisions
from .event_subprocesses import converters as event_subprocess_converters
from .service_tasks import CafePlainParser, CafeSpiffParser, with_service_converters

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"


_PLAIN_CONFIG = {**with_service_converters(DEFAULT_CONFIG),
                 **event_subprocess_converters(DEFAULT_CONFIG, CafePlainParser.OVERRIDE_PARSER_CLASSES)}
_CAMUNDA_CONFIG = {**with_service_converters(CAMUNDA_CONFIG), **CAMUNDA_CONVERTERS,
                   **event_subprocess_converters(CAMUNDA_CONFIG, CafeCamundaParser.OVERRIDE_PARSER_CLASSES),
                   **CAMUNDA_MESSAGE_CONVERTERS}  # after SpiffWorkflow's entry: restored ones are ours
_SPIFF_CONFIG = {**with_service_converters(SPIFF_CONFIG),
                 **event_subprocess_converters(SPIFF_CONFIG, CafeSpiffParser.OVERRIDE_PARSER_CLASSES)}
for _config in (_CAMUNDA_CONFIG, _SPIFF_CONFIG):  # business rule tasks keep their DecisionSettings
    _config.update(decision_converters(_config))
_SPIFF_PARSER, _CAMUNDA_PARSER = with_decisions(CafeSpiffParser), with_decisions(CafeCamundaParser)


class Dialect(enum.StrEnum):
    """Expression language and extension set of a diagram."""

    SPIFF = "spiff"  # SpiffArena's modeler: Python expressions, spiffworkflow: extensions
    CAMUNDA = "camunda"  # Camunda Modeler: ${...} expressions, camunda: extensions
    PLAIN = "plain"  # any other tool: Python expressions, no extensions

    def new_parser(self) -> BpmnParser:
        if self is Dialect.SPIFF:
            return _SPIFF_PARSER()
        if self is Dialect.CAMUNDA:
            return _CAMUNDA_PARSER()
        return CafePlainParser()

    @property
    def serializer_config(self) -> dict:
        return {Dialect.SPIFF: _SPIFF_CONFIG, Dialect.CAMUNDA: _CAMUNDA_CONFIG}.get(self, _PLAIN_CONFIG)


def _uses_namespace(root: etree._Element, namespace: str) -> bool:
    prefix = f"{{{namespace}}}"
    for element in root.iter(etree.Element):
        if isinstance(element.tag, str) and element.tag.startswith(prefix):
            return True
        if any(name.startswith(prefix) for name in element.attrib):
            return True
    return False


def detect_dialect(root: etree._Element) -> Dialect:
    """Spiff extensions win over Camunda ones; a declared namespace decides when none is used."""
    if _uses_namespace(root, SPIFF_NS):
        return Dialect.SPIFF
    if _uses_namespace(root, CAMUNDA_NS):
        return Dialect.CAMUNDA
    declared = set((root.nsmap or {}).values())
    exporter = (root.get("exporter") or "").lower()
    if SPIFF_NS in declared:
        return Dialect.SPIFF
    if CAMUNDA_NS in declared or "camunda" in exporter or _writes_juel(root):
        return Dialect.CAMUNDA
    return Dialect.PLAIN


_JUEL_FIELD = re.compile(r"^\s*\$\{.*\}\s*$", re.DOTALL)
_CODE_FIELDS = ("conditionExpression", "completionCondition", "loopCondition", "loopCardinality", "condition",
                "timeDate", "timeDuration", "timeCycle")


def _writes_juel(root: etree._Element) -> bool:
    """Expressions written as `${...}` (a whole field) are JUEL: never valid Python, and what Camunda's
    Eclipse plugin and other Java-based tools export, with or without the camunda namespace."""
    return any(
        element.text and _JUEL_FIELD.match(element.text)
        for element in root.iter(etree.Element)
        if etree.QName(element).localname in _CODE_FIELDS
    )

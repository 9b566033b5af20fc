"""Which modeler's conventions a diagram follows, and the parser and serializer that go with it.

SpiffWorkflow builds different spec classes per parser, and a workflow round-trips only through
the serializer config of the parser that built it, so the dialect is stored with each definition.
"""

from __future__ import annotations

import enum

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from .camunda import CafeCamundaParser

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"


def _with_service_tasks(config: dict) -> dict:
    """SpiffWorkflow's default and Camunda serializer configs lack a converter for the ServiceTask
    their parsers build, so without this no plain or Camunda diagram with a service task (the
    social task types among them) could be stored."""
    return {**config, ServiceTask: config.get(ServiceTask, BpmnTaskSpecConverter)}


_PLAIN_CONFIG = _with_service_tasks(DEFAULT_CONFIG)
_CAMUNDA_CONFIG = _with_service_tasks(CAMUNDA_CONFIG)


class Dialect(enum.StrEnum):
    """Expression language and extension set of a diagram."""

    SPIFF = "spiff"  # SpiffArena's modeler: Python expressions, spiffworkflow: extensions
    CAMUNDA = "camunda"  # Camunda Modeler: ${...} expressions, camunda: extensions
    PLAIN = "plain"  # any other tool: Python expressions, no extensions

    def new_parser(self) -> BpmnParser:
        if self is Dialect.SPIFF:
            return SpiffBpmnParser()
        if self is Dialect.CAMUNDA:
            return CafeCamundaParser()
        return BpmnDmnParser()

    @property
    def serializer_config(self) -> dict:
        return {Dialect.SPIFF: SPIFF_CONFIG, Dialect.CAMUNDA: _CAMUNDA_CONFIG}.get(self, _PLAIN_CONFIG)


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
    if CAMUNDA_NS in declared or "camunda" in exporter:
        return Dialect.CAMUNDA
    return Dialect.PLAIN

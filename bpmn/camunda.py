"""Camunda Modeler extensions that SpiffWorkflow's CamundaParser reads only partly.

The stock parser keeps `camunda:properties` and forms. We also copy assignment attributes,
`camunda:inputOutput`, `camunda:connector` and external-task attributes into each spec's
`extensions`, which the Camunda serializer config keeps, so the runtime can act on them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from copy import deepcopy

from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.serializer.default.task_spec import SubWorkflowConverter
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.defaults import CallActivity, ReceiveTask, SendTask
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.task_spec import CAMUNDA_MODEL_NS, CallActivityParser, CamundaTaskParser
from SpiffWorkflow.camunda.specs.multiinstance_task import ParallelMultiInstanceTask, SequentialMultiInstanceTask

from .event_subprocesses import start_event_parser
from .forms import START_FORM
from .parser_fixes import ImplicitSplitMixin
from .service_tasks import CafeServiceTask
from .start_forms import read_start_form

CAMUNDA_ATTRIBUTES = (
    "assignee",
    "candidateUsers",
    "candidateGroups",
    "dueDate",
    "followUpDate",
    "priority",
    "formKey",
    "type",
    "topic",
    "class",
    "expression",
    "delegateExpression",
    "resultVariable",
    "modelerTemplate",
    "asyncBefore",
    "asyncAfter",
    "taskPriority",
)


def _q(local: str) -> str:
    return f"{{{CAMUNDA_MODEL_NS}}}{local}"


def parameter_value(element: etree._Element) -> object:
    """The value of an input/output parameter: text, a list or a map of texts."""
    for child in element:
        if child.tag == _q("list"):
            return [parameter_value(item) if len(item) else (item.text or "") for item in child]
        if child.tag == _q("map"):
            return {entry.get("key"): parameter_value(entry) for entry in child if entry.tag == _q("entry")}
        if child.tag == _q("script"):
            return {"script": child.text or "", "scriptFormat": child.get("scriptFormat")}
    return element.text or ""


def read_input_output(container: etree._Element | None) -> dict | None:
    if container is None:
        return None
    inputs = {p.get("name"): parameter_value(p) for p in container.iterfind(_q("inputParameter"))}
    outputs = {p.get("name"): parameter_value(p) for p in container.iterfind(_q("outputParameter"))}
    return {"inputs": inputs, "outputs": outputs}


ERROR_VARIABLES = ("errorCodeVariable", "errorMessageVariable")
"""Attributes of a catching `bpmn:errorEventDefinition`: the variables that receive the caught
error's code and message (bpmn.service_tasks.throw_error)."""


def read_camunda_extensions(node: etree._Element) -> dict:
    extensions: dict = {}
    for name in CAMUNDA_ATTRIBUTES:
        value = node.get(_q(name))
        if value is not None:
            extensions[name] = value
    loop = node.find(full_tag("multiInstanceLoopCharacteristics"))
    for name in ("asyncBefore", "asyncAfter") if loop is not None else ():  # Camunda's per-instance boundaries
        if loop.get(_q(name)) is not None and extensions.get(name, "").strip().lower() != "true":
            extensions[name] = loop.get(_q(name))
    error = node.find(full_tag("errorEventDefinition"))
    for name in ERROR_VARIABLES if error is not None else ():
        if error.get(_q(name)):
            extensions[name] = error.get(_q(name))
    if node.tag == full_tag("serviceTask") and "taskPriority" not in extensions:
        process = next(node.iterancestors(full_tag("process")), None)  # its taskPriority: its tasks' default
        if process is not None and process.get(_q("taskPriority")) is not None:
            extensions["taskPriority"] = process.get(_q("taskPriority"))
    start_form = read_start_form(node) if node.tag == full_tag("startEvent") else None
    if start_form:
        extensions[START_FORM] = start_form
    ext_elements = node.find(full_tag("extensionElements"))
    if ext_elements is None:
        return extensions
    io = read_input_output(ext_elements.find(_q("inputOutput")))
    if io:
        extensions["inputOutput"] = io
    properties = ext_elements.find(_q("properties"))
    if properties is not None:  # apart from the stock parser's copy, which mixes them with our keys
        extensions["extensionProperties"] = {p.get("name"): p.get("value") for p in properties.iterfind(_q("property"))
                                             if p.get("name")}
    for tag, key in (("in", "callInputs"), ("out", "callOutputs")):
        mappings = [dict(m.attrib) for m in ext_elements.iterfind(_q(tag))]
        if mappings:
            extensions[key] = mappings
    connector = ext_elements.find(_q("connector"))
    if connector is not None:
        connector_id = connector.find(_q("connectorId"))
        extensions["connector"] = {
            "id": (connector_id.text or "").strip() if connector_id is not None else "",
            **(read_input_output(connector.find(_q("inputOutput"))) or {"inputs": {}, "outputs": {}}),
        }
    return extensions


class _ExtensionsMixin:
    """Adds our copied Camunda attributes to whatever the stock parser extracts."""

    def parse_extensions(self, node=None):
        extensions = super().parse_extensions(node)  # type: ignore[misc]
        extensions.update(read_camunda_extensions(self.node))  # type: ignore[attr-defined]
        return extensions


_VARIABLE = re.compile(r"\s*\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\s*")


class _MultiInstanceMixin:
    """Camunda multi-instance on every task type: CamundaParser's script task parser lacks the
    `camunda:collection` support of its other parsers, and Camunda Modeler writes the collection
    as `${items}`, which SpiffWorkflow took for a variable named "${items}"."""

    def _add_multiinstance_task(self, loop_characteristics):
        collection = loop_characteristics.get(_q("collection"))
        if collection is not None and "{" in collection:
            match = _VARIABLE.fullmatch(collection)
            if match is None:
                self.raise_validation_exception(  # type: ignore[attr-defined]
                    f"camunda:collection {collection!r} must name a variable, as ${{items}} or items")
            loop_characteristics.set(_q("collection"), match.group(1))  # the parsed copy only
        CamundaTaskParser._add_multiinstance_task(self, loop_characteristics)


def settle_multi_instance_inputs(specs: Iterable[BpmnProcessSpec]) -> None:
    """Give restored Camunda multi-instance specs the inputs SpiffWorkflow sets on them only when
    such an activity starts (`SpiffWorkflow.camunda.specs.multiinstance_task.update_task_spec`).

    Why: a spec restored while an instance is inside the activity (a continue job on another
    worker, a server restart) never saw that start; a sequential loop over `camunda:collection`
    then read no input, took itself for finished after the next item and appended that item to
    the collection. A collection's input is the collection itself, and the element variable is
    the input item with a collection or a cardinality, so both are set here once.
    """
    for process in specs:
        for spec in process.task_specs.values():
            if not isinstance(spec, (SequentialMultiInstanceTask, ParallelMultiInstanceTask)):
                continue
            if spec.cardinality is None and spec.data_input is None and spec.data_output is not None:
                spec.data_input = TaskDataReference(spec.data_output.bpmn_id)
            if spec.input_item is None and spec.output_item is not None:
                spec.input_item = TaskDataReference(spec.output_item.bpmn_id)


def _with_extensions(parser_class: type) -> type:
    return type(f"Cafe{parser_class.__name__}",
                (_ExtensionsMixin, _MultiInstanceMixin, ImplicitSplitMixin, parser_class), {})


class CafeCallActivity(CallActivity):
    """A call activity with Camunda's `camunda:in` / `camunda:out` variable mappings.

    With mappings, only the mapped variables cross (`source`/`sourceExpression` -> `target`, or
    `variables="all"`), as in Camunda. Without any, SpiffWorkflow's rule stays: everything is
    copied in and out, unless the called process declares data inputs/outputs.
    """

    def copy_data(self, my_task, subworkflow):
        mappings = (self.extensions or {}).get("callInputs")
        if not mappings:
            super().copy_data(my_task, subworkflow)
            return
        engine = my_task.workflow.script_engine
        data = _mapped(mappings, dict(my_task.data), lambda e: engine.evaluate(my_task, e))
        start = subworkflow.get_next_task(subworkflow.task_tree, skip_subprocesses=True, spec_name="Start")
        start.set_data(**data)

    def update_data(self, my_task, subworkflow):
        mappings = (self.extensions or {}).get("callOutputs")
        if not mappings:
            super().update_data(my_task, subworkflow)
            return
        engine = my_task.workflow.script_engine
        scope = dict(subworkflow.last_task.data)
        my_task.data.update(_mapped(mappings, scope, lambda e: engine.evaluate_in(e, scope)))


def _mapped(mappings: list[dict], scope: dict, evaluate) -> dict:
    """Apply Camunda in/out mappings to `scope`; a missing source maps to None, as Camunda's null."""
    data: dict = {}
    for mapping in mappings:
        if mapping.get("variables") == "all":
            data.update(deepcopy(scope))
        elif mapping.get("target") and mapping.get("sourceExpression"):
            data[mapping["target"]] = evaluate(mapping["sourceExpression"])
        elif mapping.get("target") and mapping.get("source"):
            data[mapping["target"]] = deepcopy(scope.get(mapping["source"]))
    return data


CONVERTERS = {CafeCallActivity: SubWorkflowConverter}
"""Serializer converters for the spec classes defined here."""


class CafeCamundaParser(CamundaParser):
    """CamundaParser whose task specs carry every Camunda attribute we act on."""

    OVERRIDE_PARSER_CLASSES = {
        tag: (_with_extensions(parser), spec) for tag, (parser, spec) in CamundaParser.OVERRIDE_PARSER_CLASSES.items()
    }
    OVERRIDE_PARSER_CLASSES.update(
        {
            full_tag("serviceTask"): (_with_extensions(CamundaTaskParser), CafeServiceTask),
            full_tag("callActivity"): (_with_extensions(CallActivityParser), CafeCallActivity),
        }
    )
    OVERRIDE_PARSER_CLASSES.update(start_event_parser(OVERRIDE_PARSER_CLASSES))

    # send/receive tasks keep their message parsers; only the extension reading is added
    for _tag, _spec in (("sendTask", SendTask), ("receiveTask", ReceiveTask)):
        _parser, _ = CamundaParser.PARSER_CLASSES[full_tag(_tag)]
        OVERRIDE_PARSER_CLASSES[full_tag(_tag)] = (_with_extensions(_parser), _spec)
    # gateways read only the attributes, for camunda:asyncBefore/asyncAfter (`async_continuations`)
    for _tag in ("exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway"):
        _parser, _spec = CamundaParser.PARSER_CLASSES[full_tag(_tag)]
        OVERRIDE_PARSER_CLASSES[full_tag(_tag)] = (type(f"Cafe{_parser.__name__}", (_ExtensionsMixin, _parser), {}),
                                                   _spec)
    del _tag, _spec, _parser

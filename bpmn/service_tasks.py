"""Service tasks that hand their work to the server and wait, instead of calling out inline.

A social step or an external task must not do network I/O inside the engine step (the instance
is locked, and a crash would lose or repeat the call). Such a task evaluates its inputs, records
a `ServiceRequest` in its internal data and stays STARTED. The server turns the request into a
job written in the same transaction; when the work is done it finishes the task with a result
or throws a BPMN error at it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.specs.defaults import NoneTask, ServiceTask
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser as SpiffServiceTaskParser
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter as SpiffServiceTaskConverter
from SpiffWorkflow.spiff.specs.defaults import ScriptTask as SpiffScriptTask
from SpiffWorkflow.spiff.specs.defaults import ServiceTask as SpiffServiceTask

from .errors import RunError
from .event_subprocesses import start_event_parser
from .parser_fixes import PlainBusinessRuleTaskParser, SpiffScriptTaskParser, with_implicit_splits
from .social import OPERATORS
from .task_priority import task_priority

REQUEST_KEY = "service_request"
EXTERNAL_PREFIX = "external:"


@dataclass(frozen=True)
class ServiceRequest:
    """Work a parked service task asks the server to do."""

    task_id: str
    bpmn_id: str
    operator: str  # "social.publishStatus", ... or "external:<topic>"
    params: dict[str, Any]
    result_variable: str | None
    outputs: dict[str, Any] | None = None  # Camunda output parameters: name -> expression
    properties: dict[str, str] | None = None  # an external task's camunda:properties, for its worker
    priority: int = 0  # an external task's camunda:taskPriority (bpmn.task_priority)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> ServiceRequest:
        return cls(**data)

    @property
    def is_external(self) -> bool:
        return self.operator.startswith(EXTERNAL_PREFIX)


def parks(operator: str | None) -> bool:
    return bool(operator) and (operator in OPERATORS or operator.startswith(EXTERNAL_PREFIX))


@dataclass(frozen=True)
class ParkedStep:
    """A service task parked for work done outside the engine (a social step, an external task).

    The server keeps a service call open for each; when one is no longer parked and nobody
    finished it (a boundary or end event took it away), the server cancels its call, and these
    fields name it in the history without reading the (possibly pruned) task again."""

    task_id: str
    bpmn_id: str
    name: str | None
    type: str
    operator: str


def parked_step(task, request: ServiceRequest) -> ParkedStep:
    spec = task.task_spec
    return ParkedStep(str(task.id), spec.bpmn_id, spec.bpmn_name, type(spec).__name__, request.operator)


def _jsonable(value: Any) -> Any:
    """Inputs travel through the database as JSON; anything else becomes its text."""
    return json.loads(json.dumps(value, default=str))


def _park(task, operator: str, params: dict, result_variable: str | None, outputs: dict | None = None,
          properties: dict | None = None, priority: int = 0) -> None:
    request = ServiceRequest(str(task.id), task.task_spec.bpmn_id, operator, _jsonable(params),
                             result_variable, outputs, properties, priority)
    task.internal_data[REQUEST_KEY] = request.to_json()


def pending_request(task) -> ServiceRequest | None:
    data = task.internal_data.get(REQUEST_KEY)
    return ServiceRequest.from_json(data) if data else None


class CafeServiceTask(ServiceTask):
    """Plain and Camunda service tasks.

    `camunda:connector` with a social connector id, or `camunda:type="external"`, parks the task.
    A service task with no implementation completes at once (diagrams from other tools often
    carry service tasks that only document a step).
    """

    def _execute(self, task):
        extensions = self.extensions or {}
        engine = task.workflow.script_engine
        connector = extensions.get("connector") or {}
        if connector.get("id") and parks(connector["id"]):
            operator = connector["id"]
            params = {k: _evaluate_parameter(engine, task, v) for k, v in connector.get("inputs", {}).items()}
            outputs = connector.get("outputs") or None
            _park(task, operator, params, OPERATORS[operator].result_variable, outputs)
            return None
        if extensions.get("type") == "external":
            io = extensions.get("inputOutput") or {}
            params = {k: _evaluate_parameter(engine, task, v) for k, v in io.get("inputs", {}).items()}
            _park(task, EXTERNAL_PREFIX + extensions.get("topic", ""), params, None, io.get("outputs") or None,
                  extensions.get("extensionProperties") or None,
                  task_priority(engine, task, extensions.get("taskPriority")))
            return None
        return True


def _evaluate_parameter(engine, task, value: Any) -> Any:
    if isinstance(value, str):
        return engine.evaluate(task, value)
    if isinstance(value, list):
        return [_evaluate_parameter(engine, task, v) for v in value]
    if isinstance(value, dict) and "script" not in value:
        return {k: _evaluate_parameter(engine, task, v) for k, v in value.items()}
    return value


class SpiffCafeServiceTask(SpiffServiceTask):
    """SpiffArena service tasks: social operators park; other operators are called inline."""

    def _execute(self, task):
        if not parks(self.operation_name):
            return super()._execute(task)
        params = {name: p["value"] for name, p in self.evaluate_params(task).items()}
        default = OPERATORS[self.operation_name].result_variable if self.operation_name in OPERATORS else None
        chosen = self.result_variable if not self.result_variable.startswith("spiff__") else default
        _park(task, self.operation_name, params, chosen)
        return None


def finish_service_task(task, result: Any) -> None:
    """Store the result (through Camunda output parameters when the diagram has them), complete."""
    request = pending_request(task)
    engine = task.workflow.script_engine
    if request.outputs:
        scope = dict(task.data)
        if request.result_variable:
            scope[request.result_variable] = result
        if isinstance(result, dict):
            scope.update(result)
        for name, expression in request.outputs.items():
            try:
                task.data[name] = engine.evaluate_in(expression, scope) if isinstance(expression, str) else expression
            except Exception as err:  # the diagram's expression: any failure is the diagram's or the result's
                raise RunError(f"output parameter {name!r} ({expression!r}) failed: {type(err).__name__}: {err}",
                               element_id=task.task_spec.bpmn_id, task_id=str(task.id)) from err
    elif request.result_variable:
        task.data[request.result_variable] = result
    elif isinstance(result, dict):
        task.data.update(result)
    task.internal_data.pop(REQUEST_KEY, None)
    task.complete()


def throw_error(task, code: str, message: str) -> bool:
    """Throw BPMN error `code` at a parked task, for its error boundary event to catch.

    The boundary events attached to the task are tried first; then the enclosing process (an
    error propagates out of subprocesses). Uncaught, the task is put in ERROR for an incident.
    The code and message reach the process variables only where the catching event names them
    (`_error_payload`): SpiffWorkflow would merge the payload into the data, overwriting the
    instance's own variables called `code` and `message`.
    """
    event = BpmnEvent(ErrorEventDefinition(code, code=code), payload={"code": code, "message": message})
    for sibling in task.parent.children if task.parent else []:
        spec = sibling.task_spec
        definition = getattr(spec, "event_definition", None)
        if sibling is not task and definition is not None and spec.catches(sibling, event):
            spec.catch(sibling, event)
            _name_error_variables(task.workflow.top_workflow, event.payload, code, message)
            spec._update(sibling)
            return True
    workflow = task.workflow
    if workflow.parent_workflow is not None:
        event.target = workflow.parent_workflow
        before = len(workflow.top_workflow.bpmn_events)
        workflow.top_workflow.catch(event)
        if len(workflow.top_workflow.bpmn_events) == before:
            _name_error_variables(workflow.top_workflow, event.payload, code, message)
            return True
        workflow.top_workflow.bpmn_events.pop()
    task.internal_data["error"] = message
    task.error()
    return False


def _name_error_variables(top_workflow, payload: dict, code: str, message: str) -> None:
    """Give each task that caught `payload` the data its event definition asks for.

    A catching event keeps the payload in its internal data until it runs and then merges it
    into its data. A Camunda `errorEventDefinition` gets only the variables it names with
    `camunda:errorCodeVariable` / `camunda:errorMessageVariable`; a plain BPMN one gets nothing;
    a SpiffArena one (which stores the whole payload in its own `variableName`) is left as is.
    """
    for workflow in (top_workflow, *top_workflow.subprocesses.values()):
        for caught in workflow.tasks.values():
            definition = getattr(caught.task_spec, "event_definition", None)
            name = getattr(definition, "name", None)
            if name is None or caught.internal_data.get(name) is not payload or hasattr(definition, "variable"):
                continue
            caught.internal_data[name] = _error_payload(caught.task_spec.extensions or {}, code, message)


def _error_payload(extensions: dict, code: str, message: str) -> dict:
    named = {extensions.get("errorCodeVariable"): code, extensions.get("errorMessageVariable"): message}
    return {variable: value for variable, value in named.items() if variable}


class CafeSpiffParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = with_implicit_splits({
        **SpiffBpmnParser.PARSER_CLASSES,
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (SpiffServiceTaskParser, SpiffCafeServiceTask),
        full_tag("scriptTask"): (SpiffScriptTaskParser, SpiffScriptTask),
        **start_event_parser(SpiffBpmnParser.OVERRIDE_PARSER_CLASSES),
    })


class CafePlainParser(BpmnDmnParser):
    OVERRIDE_PARSER_CLASSES = with_implicit_splits({
        **BpmnDmnParser.PARSER_CLASSES,
        **BpmnDmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (TaskParser, CafeServiceTask),
        full_tag("businessRuleTask"): (PlainBusinessRuleTaskParser, NoneTask),
        **start_event_parser(BpmnDmnParser.PARSER_CLASSES),
    })


def with_service_converters(config: dict) -> dict:
    """Serializer configs need a converter for every spec class our parsers build."""
    return {
        **config,
        CafeServiceTask: BpmnTaskSpecConverter,
        SpiffCafeServiceTask: SpiffServiceTaskConverter,
    }

"""Serialized state of a running instance, without the spec.

SpiffWorkflow embeds the whole spec in every serialized workflow (over half its size and of its
restore time). A definition's spec is stored once, at deploy time; instance state leaves it out
and gets the already-restored spec objects handed back on load.
"""

from __future__ import annotations

import json
from functools import cache

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from . import catch_events
from .async_continuations import has_boundaries
from .camunda import settle_multi_instance_inputs
from .dialect import Dialect
from .multi_instance import cap_collections

STATE_FORMAT = f"cafe-1/spiff-{VERSION}"


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct


class SpecBundle:
    """A process spec and the specs of everything it calls, restored once per process."""

    def __init__(self, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]):
        self.spec = spec
        self.subprocess_specs = subprocess_specs
        cap_collections([spec, *subprocess_specs.values()])
        settle_multi_instance_inputs([spec, *subprocess_specs.values()])
        catch_events.apply([spec, *subprocess_specs.values()])
        self.has_async_boundaries = has_boundaries([spec, *subprocess_specs.values()])


class DialectSerializer:
    """Serializes specs and spec-less instance state for one dialect."""

    def __init__(self, dialect: Dialect):
        config = dict(dialect.serializer_config)
        config[BpmnWorkflow] = _SpeclessWorkflowConverter
        self.registry = BpmnWorkflowSerializer.configure(config)
        self.serializer = BpmnWorkflowSerializer(self.registry)

    def dump_specs(self, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> str:
        return json.dumps(
            {
                "spec": self.registry.convert(spec),
                "subprocess_specs": {name: self.registry.convert(s) for name, s in subprocess_specs.items()},
            }
        )

    def load_specs(self, text: str) -> SpecBundle:
        data = json.loads(text)
        return SpecBundle(
            self.registry.restore(data["spec"]),
            {name: self.registry.restore(s) for name, s in data["subprocess_specs"].items()},
        )

    def dump_state(self, workflow: BpmnWorkflow) -> str:
        return json.dumps(self.registry.convert(workflow), separators=(",", ":"))

    def load_state(self, text: str, specs: SpecBundle) -> BpmnWorkflow:
        data = json.loads(text)
        data["spec"] = specs.spec
        data["subprocess_specs"] = dict(specs.subprocess_specs)
        return self.registry.restore(data)


@cache
def serializer_for(dialect: Dialect) -> DialectSerializer:
    return DialectSerializer(dialect)

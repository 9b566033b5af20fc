"""Messages an instance throws to other instances (message flows between pools).

A send task, a message throw event or a message end event whose message nobody inside the
instance catches is left by SpiffWorkflow in `workflow.bpmn_events`. Each executable process of a
collaboration is deployed as its own definition, so such a message is for another instance: the
server correlates it like a message sent through the API. Only message events are taken here;
anything else thrown (signals, uncaught escalations) stays for whoever handles it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition as CamundaMessageEventDefinition


@dataclass(frozen=True)
class ThrownMessage:
    """A message for another instance: its name, body and the sender's correlation values."""

    name: str
    payload: Any
    correlations: dict


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def take_thrown_messages(workflow: BpmnWorkflow) -> list[ThrownMessage]:
    """Remove the uncaught message events from `workflow.bpmn_events` and return them.

    The body is dialect-neutral: the whole task data for plain diagrams, the evaluated payload
    expression for Spiff ones, the evaluated `camunda:expression` for Camunda ones (SpiffWorkflow
    wraps that one with the catching side's result variable, which the receiver decides).
    """
    thrown, kept = [], []
    for event in workflow.bpmn_events:
        definition = event.event_definition
        if not isinstance(definition, MessageEventDefinition):
            kept.append(event)
            continue
        payload = event.payload
        if isinstance(definition, CamundaMessageEventDefinition) and isinstance(payload, dict):
            payload = payload.get("payload")
        thrown.append(ThrownMessage(definition.name, _jsonable(payload), _jsonable(event.correlations or {})))
    workflow.bpmn_events[:] = kept
    return thrown

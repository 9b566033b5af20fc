"""`POST /message` (correlate to one waiting instance, or start one) and `POST /signal`
(broadcast to every waiting instance and signal start event)."""

from __future__ import annotations

from flask import Response

from ..context import cafe
from ..services import messages, signals
from ..services.errors import Conflict, NotFound
from .blueprint import bp, principal
from .definitions import instance_dto
from .dto import (
    CamundaError,
    bad_request,
    json_body,
    json_response,
    no_content,
    optional_text,
    typed_map,
    untyped_map,
)


def _result(delivery: messages.Delivery, with_variables: bool) -> dict:
    instance = delivery.instance
    result = {"resultType": "ProcessDefinition" if delivery.started else "Execution", "execution": None,
              "processInstance": None}
    if delivery.started:
        result["processInstance"] = instance_dto(instance)
    else:
        result["execution"] = {"id": instance.id, "processInstanceId": instance.id,
                               "ended": instance.ended_at is not None, "tenantId": instance.tenant_id}
    if with_variables:
        result["variables"] = typed_map(instance.variables)
    return result


@bp.post("/message")
def correlate() -> Response:
    """204 without `resultEnabled`, else 200 with one result per reached instance.

    Without `all`, nothing to correlate to or several candidates is Camunda's 400
    MismatchingMessageCorrelationException. With `all`, nothing to correlate to is an empty
    result, as Camunda's correlateAll: a sender that broadcasts "whoever waits" is not wrong
    when nobody does.
    """
    body = json_body()
    name = optional_text(body, "messageName")
    if not name:
        raise bad_request("No message name set")
    variables = untyped_map(body.get("processVariables")) | untyped_map(body.get("processVariablesLocal"))
    keys = untyped_map(body.get("correlationKeys")) | untyped_map(body.get("localCorrelationKeys"))
    correlation = messages.Correlation(
        name=name, business_key=optional_text(body, "businessKey"),
        instance_id=optional_text(body, "processInstanceId"),
        correlation_keys=keys or None, variables=variables, all=bool(body.get("all")))
    try:
        deliveries = messages.deliver(cafe().optimistic, cafe().store, correlation, principal())
        results = [_result(d, bool(body.get("variablesInResultEnabled"))) for d in deliveries]
    except NotFound as err:
        if not correlation.all:
            raise CamundaError(400, f"Cannot correlate message '{name}': {err.detail}",
                               "MismatchingMessageCorrelationException") from err
        results = []
    except Conflict as err:
        raise CamundaError(400, f"Cannot correlate message '{name}': {err.detail}",
                           "MismatchingMessageCorrelationException") from err
    return json_response(results) if body.get("resultEnabled") else no_content()


@bp.post("/signal")
def signal() -> Response:
    """Always 204, whether or not anything waited for the signal (as in Camunda)."""
    body = json_body()
    name = optional_text(body, "name")
    if not name:
        raise bad_request("No signal name given")
    broadcast = signals.Signal(name=name, variables=untyped_map(body.get("variables")),
                               instance_id=optional_text(body, "executionId"))
    with cafe().unit_of_work() as session:
        signals.broadcast(session, cafe().store, broadcast, principal().name, visible_to=principal())
    return no_content()

"""Reading what a worker asks for: the topics of `POST /external-task/fetchAndLock` with their
filters, and the query string of `GET /external-task`.

A filter this server cannot honour is a 400 naming it, never ignored: an ignored topic filter
made a worker lock, and hide from the worker it was meant for, every task of its topic.
"""

from __future__ import annotations

import math
from typing import Any

from ..services.external_task_queries import SORTS, ExternalTaskQuery, Topic
from .dto import LONG_RANGE, bad_request, optional_int, optional_text
from .params import Params

MAX_MS = 2**40  # the longest duration in milliseconds a request may ask for: about 34 years
DEFAULT_LOCK_MS = 300_000


def fetch_topics(body: dict) -> list[Topic]:
    topics = body.get("topics") or []
    if not isinstance(topics, list) or not topics:
        raise bad_request("fetchAndLock needs at least one topic: {\"topicName\", \"lockDuration\"}")
    return [_topic(topic) for topic in topics]


def _topic(raw: Any) -> Topic:
    if not isinstance(raw, dict) or not optional_text(raw, "topicName"):
        raise bad_request("every topic needs a topicName")
    lock_ms = optional_int(raw, "lockDuration", limit=MAX_MS) or DEFAULT_LOCK_MS
    if lock_ms <= 0:
        raise bad_request("lockDuration must be positive")
    if raw.get("processDefinitionVersionTag") is not None:
        raise bad_request("a topic's processDefinitionVersionTag cannot be honoured: this server keeps no "
                          "version tags (every definition's versionTag is null)")
    topic = Topic(
        name=raw["topicName"], lock_ms=lock_ms, business_key=optional_text(raw, "businessKey"),
        definition_id=optional_text(raw, "processDefinitionId"), definition_ids=_texts(raw, "processDefinitionIdIn"),
        definition_key=optional_text(raw, "processDefinitionKey"),
        definition_keys=_texts(raw, "processDefinitionKeyIn"), tenant_ids=_texts(raw, "tenantIdIn"),
        without_tenant=_flag(raw, "withoutTenantId"), process_variables=_process_variables(raw),
        variables=_texts(raw, "variables") if raw.get("variables") is not None else None,
        local_variables=_flag(raw, "localVariables"),
        extension_properties=_flag(raw, "includeExtensionProperties"))
    _flag(raw, "deserializeValues")  # no serialized objects are stored: every value is already plain JSON
    if topic.tenant_ids and topic.without_tenant:
        raise bad_request("a topic cannot ask for tenantIdIn and withoutTenantId together")
    return topic


def _texts(raw: dict, name: str) -> list[str]:
    value = raw.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"a topic's {name} must be a list of strings")
    return value


def _flag(raw: dict, name: str) -> bool:
    value = raw.get(name)
    if value is not None and not isinstance(value, bool):
        raise bad_request(f"a topic's {name} must be true or false")
    return bool(value)


def body_flag(body: dict, name: str) -> bool:
    """A true/false field of the request itself (fetchAndLock's `usePriority`); null is false."""
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise bad_request(f"{name} must be true or false")
    return bool(value)


def _process_variables(raw: dict) -> dict:
    """Plain values (not `{"value", "type"}` objects), each compared by equality. Lists and
    objects are refused: a Camunda variable never equals one, and no index could find them."""
    wanted = raw.get("processVariables")
    if wanted is None:
        return {}
    if not isinstance(wanted, dict):
        raise bad_request("a topic's processVariables must be an object of variable name: value")
    for name, value in wanted.items():
        if isinstance(value, (dict, list)):
            raise bad_request(f"processVariables '{name}': only a string, number, boolean or null can be "
                              "compared (send the plain value, not a typed {value, type} object)")
        if isinstance(value, float) and not math.isfinite(value):
            raise bad_request(f"processVariables '{name}' must be a finite number")
        if isinstance(value, int) and not isinstance(value, bool) and not LONG_RANGE[0] <= value <= LONG_RANGE[1]:
            raise bad_request(f"processVariables '{name}' is out of range of Long")
    return wanted


def list_query(params: Params) -> ExternalTaskQuery:
    """Camunda's documented filters of `GET /external-task` and `/count`, and its sort keys
    (an unknown sortBy is a 400 naming it)."""
    sort_by, descending = params.sorting({key: key for key in SORTS}, "createTime")
    return ExternalTaskQuery(
        id=params.text("externalTaskId"), ids=params.names("externalTaskIdIn"), topic=params.text("topicName"),
        worker_id=params.text("workerId"), instance_id=params.text("processInstanceId"),
        instance_ids=params.names("processInstanceIdIn"), execution_id=params.text("executionId"),
        activity_id=params.text("activityId"), activity_ids=params.names("activityIdIn"),
        definition_id=params.text("processDefinitionId"), tenant_ids=params.names("tenantIdIn"),
        locked=params.flag("locked"), not_locked=params.flag("notLocked"),
        lock_expiration_after=params.date("lockExpirationAfter"),
        lock_expiration_before=params.date("lockExpirationBefore"),
        with_retries_left=params.flag("withRetriesLeft"), no_retries_left=params.flag("noRetriesLeft"),
        priority_at_least=params.integer("priorityHigherThanOrEquals"),
        priority_at_most=params.integer("priorityLowerThanOrEquals"),
        suspended=params.flag("suspended"), sort_by=sort_by, descending=descending)

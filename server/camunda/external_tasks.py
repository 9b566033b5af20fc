"""External tasks for Camunda workers: fetchAndLock with long polling, complete, failure,
bpmnError, extendLock, unlock, retries, and the list.

Long polling waits outside any transaction: it asks a cheap read every `POLL_SECONDS` and takes
the write transaction only when there is something to lock, and it never waits longer than
`MAX_WAIT_SECONDS` (a worker simply asks again), so a waiting worker holds one request thread
and no database connection or lock.
"""

from __future__ import annotations

import time

from flask import Response

from ..context import cafe
from ..models import ProcessInstance, ServiceCall
from ..services import external_tasks
from ..services.repository import Page
from .blueprint import bp, principal
from .dto import (
    bad_request,
    format_date,
    json_body,
    json_response,
    no_content,
    optional_int,
    optional_text,
    typed_map,
    untyped_map,
)
from .external_task_params import MAX_MS, body_flag, fetch_topics, list_query
from .params import Params

POLL_SECONDS = 0.2
MAX_WAIT_SECONDS = 30.0
MAX_TEXT = 65_536  # characters of an error message or details (a worker's stack trace)


def task_dto(call: ServiceCall, instance: ProcessInstance | None, topic: external_tasks.Topic | None = None) -> dict:
    """`ExternalTaskDto`; a fetched task (`LockedExternalTaskDto`, with the `topic` that took it)
    adds its variables: the process variables (all, or the `variables` the topic asked for) and
    the task's inputs as local variables (only those with `localVariables`), and the task's
    `camunda:properties` when the topic asked for extension properties."""
    locked = call.worker_id is not None and call.locked_until is not None
    dto = {
        "id": call.id, "activityId": call.bpmn_id, "activityInstanceId": f"{call.bpmn_id}:{call.task_id}",
        "executionId": call.instance_id, "processInstanceId": call.instance_id,
        "processDefinitionId": instance.definition_id if instance else None,
        "processDefinitionKey": instance.definition_key if instance else None,
        "processDefinitionVersionTag": None, "topicName": external_tasks.topic_of(call),
        "workerId": call.worker_id, "lockExpirationTime": format_date(call.locked_until) if locked else None,
        "createTime": format_date(call.created_at), "retries": call.retries, "suspended": False,
        "priority": (call.request or {}).get("priority") or 0,
        "businessKey": instance.business_key if instance else None,
        "tenantId": instance.tenant_id if instance else None, "errorMessage": call.error_message,
        "errorDetails": call.error_details,
    }
    if topic is not None:
        process = {} if topic.local_variables else (instance.variables if instance else None) or {}
        dto["variables"] = typed_map({**process, **(call.params or {})}, topic.variables)
        properties = (call.request or {}).get("properties") if topic.extension_properties else None
        dto["extensionProperties"] = dict(properties or {})
    return dto


@bp.post("/external-task/fetchAndLock")
def fetch_and_lock() -> Response:
    body = json_body()
    worker_id = optional_text(body, "workerId")
    if not worker_id:
        raise bad_request("workerId is required")
    external_tasks.require_worker(principal())
    topics = fetch_topics(body)
    max_tasks = max(optional_int(body, "maxTasks") or 1, 1)
    use_priority = body_flag(body, "usePriority")
    wait = min(max((optional_int(body, "asyncResponseTimeout", limit=MAX_MS) or 0) / 1000, 0), MAX_WAIT_SECONDS)
    deadline = time.monotonic() + wait
    db = cafe().db
    while True:
        with db.read() as session:
            ready = external_tasks.has_work(session, topics)
        if ready:
            with cafe().unit_of_work() as session:
                locked = external_tasks.lock(session, worker_id, topics, max_tasks, use_priority)
                result = [task_dto(call, instance, topic) for call, instance, topic in locked]
            if result:
                return json_response(result)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return json_response([])
        time.sleep(min(POLL_SECONDS, remaining))


@bp.post("/external-task/<task_id>/complete")
def complete_external_task(task_id: str) -> Response:
    body = json_body()
    external_tasks.require_worker(principal())
    with cafe().unit_of_work() as session:
        external_tasks.complete(session, cafe().store, task_id, optional_text(body, "workerId"),
                                untyped_map(body.get("variables")), untyped_map(body.get("localVariables")),
                                principal().name)
    return no_content()


@bp.post("/external-task/<task_id>/failure")
def failure(task_id: str) -> Response:
    body = json_body()
    external_tasks.require_worker(principal())
    retries, retry_ms = optional_int(body, "retries"), optional_int(body, "retryTimeout", limit=MAX_MS) or 0
    worker_id = optional_text(body, "workerId")
    with cafe().unit_of_work() as session:
        external_tasks.failure(session, cafe().store, task_id, worker_id, optional_text(body, "errorMessage", MAX_TEXT),
                               optional_text(body, "errorDetails", MAX_TEXT), retries, retry_ms, principal().name)
    return no_content()


@bp.post("/external-task/<task_id>/bpmnError")
def bpmn_error(task_id: str) -> Response:
    body = json_body()
    external_tasks.require_worker(principal())
    raw_code = body.get("errorCode")  # Camunda's JSON reader takes a number for this string too
    error_code = str(raw_code) if type(raw_code) is int else optional_text(body, "errorCode")
    if not error_code:
        raise bad_request("errorCode is required")
    worker_id = optional_text(body, "workerId")
    with cafe().unit_of_work() as session:
        external_tasks.bpmn_error(session, cafe().store, task_id, worker_id, error_code,
                                  optional_text(body, "errorMessage", MAX_TEXT), untyped_map(body.get("variables")),
                                  principal().name)
    return no_content()


@bp.post("/external-task/<task_id>/extendLock")
def extend_lock(task_id: str) -> Response:
    body = json_body()
    external_tasks.require_worker(principal())
    duration = optional_int(body, "newDuration", limit=MAX_MS) or 0
    if duration <= 0:
        raise bad_request("newDuration must be positive")
    with cafe().unit_of_work() as session:
        external_tasks.extend_lock(session, task_id, optional_text(body, "workerId"), duration)
    return no_content()


@bp.post("/external-task/<task_id>/unlock")
def unlock(task_id: str) -> Response:
    external_tasks.require_worker(principal())
    with cafe().unit_of_work() as session:
        external_tasks.unlock(session, task_id)
    return no_content()


@bp.put("/external-task/<task_id>/retries")
def set_retries(task_id: str) -> Response:
    external_tasks.require_worker(principal())
    retries = optional_int(json_body(), "retries")
    if retries is None or retries < 0:
        raise bad_request("retries must be a number of at least 0")
    with cafe().unit_of_work() as session:
        external_tasks.set_retries(session, cafe().store, task_id, retries, principal().name)
    return no_content()


def _query() -> tuple[external_tasks.ExternalTaskQuery, Page]:
    params = Params()
    offset, limit = params.page()
    return list_query(params), Page(offset, limit)


@bp.get("/external-task")
def list_external_tasks() -> Response:
    external_tasks.require_worker(principal())
    query, page = _query()
    with cafe().db.read() as session:
        rows, _ = external_tasks.search(session, query, page)
        return json_response([task_dto(call, instance) for call, instance in rows])


@bp.get("/external-task/count")
def count_external_tasks() -> Response:
    external_tasks.require_worker(principal())
    query, page = _query()
    page.limit = 0
    with cafe().db.read() as session:
        return json_response({"count": external_tasks.search(session, query, page)[1]})


@bp.get("/external-task/<task_id>")
def get_external_task(task_id: str) -> Response:
    external_tasks.require_worker(principal())
    with cafe().db.read() as session:
        call = external_tasks.get(session, task_id)
        return json_response(task_dto(call, external_tasks.instance_of(session, call)))


@bp.get("/external-task/<task_id>/errorDetails")
def error_details(task_id: str) -> Response:
    external_tasks.require_worker(principal())
    with cafe().db.read() as session:
        details = external_tasks.get(session, task_id).error_details
    return Response(details or "", mimetype="text/plain")

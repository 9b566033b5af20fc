"""Every error leaves the API as an RFC 9457 problem document (`application/problem+json`)."""

from __future__ import annotations

import logging

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from .services.errors import ServiceError

log = logging.getLogger(__name__)
PROBLEM_TYPE = "application/problem+json"


def problem(status: int, title: str, detail: str | None = None, headers: dict | None = None, **extra) -> Response:
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update({k: v for k, v in extra.items() if v is not None})
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _handle_service_error(err: ServiceError) -> Response:
    return problem(err.status, err.title, err.detail, **err.extra)


def _handle_http_exception(err: HTTPException) -> Response:
    data = getattr(err, "data", None) or {}
    extra = {}
    if data.get("messages") or data.get("errors"):
        extra["errors"] = data.get("errors") or data.get("messages")
    detail = data.get("message") or err.description
    if isinstance(err, RequestEntityTooLarge):
        limit = request.max_content_length
        detail = f"the request body is larger than the limit of {limit} bytes" if limit else detail
    if err.code == 422 and "errors" in extra:
        detail = "the request does not match the API schema: " + _flatten(extra["errors"])
    headers = dict(data.get("headers") or {})
    retry_after = dict(err.get_headers()).get("Retry-After")  # a 429's or 503's
    if retry_after:
        headers.setdefault("Retry-After", retry_after)
    if err.code == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="processcafe", Basic realm="processcafe"')
    if isinstance(err, MethodNotAllowed) and err.valid_methods:
        headers.setdefault("Allow", ", ".join(sorted(err.valid_methods)))
    return problem(err.code or 500, err.name, detail, headers=headers, **extra)


def _flatten(errors, prefix: str = "") -> str:
    if isinstance(errors, dict):
        return "; ".join(_flatten(v, f"{prefix}{k}." if not str(k).isdigit() or prefix else f"{k}.")
                         for k, v in errors.items())
    if isinstance(errors, list):
        return f"{prefix.rstrip('.')}: " + ", ".join(str(e) for e in errors)
    return f"{prefix.rstrip('.')}: {errors}"


def _handle_unexpected(err: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return problem(500, "Internal server error", "the server failed; the error was logged")


def register_problem_handlers(app: Flask) -> None:
    app.register_error_handler(ServiceError, _handle_service_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)

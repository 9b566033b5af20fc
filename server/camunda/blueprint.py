"""The `/engine-rest` blueprint: Camunda-style authentication, CORS and errors for every route.

Camunda Modeler probes `GET /deployment?maxResults=0` without credentials and shows login fields
on a 401 carrying `WWW-Authenticate: Basic realm="default"`. It runs from `file://`, so its
preflights (OPTIONS, no credentials) are answered and the request's Origin, `null` included, is
echoed. Credentials are never allowed cross-site (no Allow-Credentials): a web page cannot use
a browser's stored login against this API.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, g, request
from werkzeug.exceptions import HTTPException

from ..access import Principal
from ..auth import authenticate
from ..services.errors import Conflict, Forbidden, NotFound, ServiceError
from .dto import PREFIX, CamundaError, json_response

log = logging.getLogger(__name__)

VERSION = "7.24.0"
bp = Blueprint("camunda", __name__, url_prefix=PREFIX)

_CORS = {
    "Access-Control-Allow-Headers": "authorization, content-type, accept",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Max-Age": "600",
}
_ERROR_TYPES = {400: "InvalidRequestException", 401: "AuthenticationException", 403: "AuthorizationException",
                404: "InvalidRequestException", 405: "NotAllowedException", 413: "InvalidRequestException"}


def principal() -> Principal:
    """The caller; `_authenticate` has run before every view of this blueprint."""
    return g.principal


def require_admin(action: str) -> Principal:
    caller = principal()
    if not caller.is_admin:
        raise CamundaError(403, f"The user '{caller.name}' is not permitted to {action}.", "AuthorizationException")
    return caller


@bp.before_request
def _authenticate() -> Response | None:
    if request.method == "OPTIONS":
        return Response(status=204)
    if authenticate() is None:
        return CamundaError(401, "Unauthorized: send basic credentials or a bearer token",
                            "AuthenticationException", headers={"WWW-Authenticate": 'Basic realm="default"'}).response()
    return None


@bp.after_request
def _cors(response: Response) -> Response:
    origin = request.headers.get("Origin")
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers.add("Vary", "Origin")
        response.headers.update(_CORS)
    elif request.method == "OPTIONS":
        response.headers.update(_CORS)
    return response


@bp.errorhandler(Exception)
def _error(err: Exception) -> Response:
    """Every failure in Camunda's `{"type", "message", "code"}` shape, never a problem document."""
    if isinstance(err, CamundaError):
        return err.response()
    if isinstance(err, ServiceError):
        status = {NotFound: 404, Forbidden: 403}.get(type(err), 400)
        kind = "BadUserRequestException" if isinstance(err, Conflict) else _ERROR_TYPES.get(status)
        return CamundaError(status, err.detail, kind).response()
    if isinstance(err, HTTPException):
        status = err.code or 500
        return CamundaError(status, err.description or err.name, _ERROR_TYPES.get(status, "RestException")).response()
    log.exception("unhandled error on %s %s", request.method, request.path)
    return CamundaError(500, "the server failed; the error was logged", "ProcessEngineException").response()


@bp.get("/version")
def version() -> Response:
    return json_response({"version": VERSION})


_ANY_METHOD = ["GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"]  # else a 405 problem document


@bp.route("/", defaults={"rest": ""}, methods=_ANY_METHOD)
@bp.route("/<path:rest>", methods=_ANY_METHOD)
def _unknown(rest: str) -> Response:
    """Unknown paths answer in Camunda's error shape (and with CORS headers), not as a problem."""
    raise CamundaError(404, f"{request.method} {PREFIX}/{rest} is not part of the supported Camunda REST subset",
                       "RestException")

"""The OpenAPI document tells the truth about errors and ids.

flask-smorest documents errors as `application/json` with its own `Error` schema, and only where a
decorator happens to add them (422 for bodies, `default`); the API answers every error as an RFC
9457 problem document (`application/problem+json`, server/problems.py) and any operation may
answer 400 (unreadable body), 401 (no credentials), 403, 404, 409, 413 (too large) or 422. So:

- `CafeApi` registers flask-smorest's per-status error responses with the problem schema and
  media type;
- `ErrorsAndIds`, an apispec plugin, adds those statuses to every operation, serves every
  response documented with the `Problem` schema (`alt_response(409, schema=Problem)`) as
  problem+json, and gives the path parameters the shape server/api/limits.py enforces (UUIDs,
  sha256, integer ids, 255 characters), so generated clients and fuzzers
  (tests/system/test_schemathesis.py) know what is valid;
- a request line longer than gunicorn accepts (4 KiB) never reaches the app: gunicorn itself
  answers 414 with a small HTML page, and the document says so.
"""

from __future__ import annotations

import http

from apispec import BasePlugin
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from ..problems import PROBLEM_TYPE
from .limits import ID_FORMATS, MAX_PATH_PARAM
from .schemas import Problem

ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 422)
URI_TOO_LONG = {"description": "The request line is longer than the HTTP server accepts (answered by gunicorn, "
                               "as HTML, before the app sees the request)",
                "content": {"text/html": {"schema": {"type": "string"}}}}


class ErrorsAndIds(BasePlugin):
    def path_helper(self, path=None, operations=None, parameters=None, **kwargs):
        for parameter in parameters or ():
            if not isinstance(parameter, dict) or parameter.get("in") != "path":
                continue
            schema = parameter.setdefault("schema", {})
            pattern = ID_FORMATS.get(parameter.get("name"))
            if pattern is not None:
                schema["pattern"] = f"^{pattern.pattern}$"
            elif schema.get("type") == "string":
                schema["maxLength"] = MAX_PATH_PARAM

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            for response in responses.values():
                _problem_media_type(response)
            for status in ERROR_STATUSES:
                if status not in responses and str(status) not in responses:
                    responses[str(status)] = http.HTTPStatus(status).name
            responses.setdefault("414", URI_TOO_LONG)


def _problem_media_type(response) -> None:
    """A response documented with the Problem schema is sent as problem+json, not application/json."""
    content = response.get("content") if isinstance(response, dict) else None
    body = (content or {}).get("application/json")
    schema = (body or {}).get("schema")
    is_problem = schema is Problem or isinstance(schema, Problem) or (
        isinstance(schema, dict) and schema.get("$ref", "").endswith("/Problem"))
    if is_problem:
        content[PROBLEM_TYPE] = content.pop("application/json")


class CafeApi(Api):
    ERROR_SCHEMA = Problem

    def __init__(self, app=None, **kwargs):
        spec_kwargs = dict(kwargs.pop("spec_kwargs", None) or {})
        spec_kwargs.setdefault("extra_plugins", [ErrorsAndIds()])
        super().__init__(app, spec_kwargs=spec_kwargs, **kwargs)

    def _register_responses(self):
        """flask-smorest's, with the problem document as the body of every error."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Any other error, e.g. 405, 500 or 503", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_TYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)

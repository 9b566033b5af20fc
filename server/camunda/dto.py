"""Camunda 7's JSON conventions: its date format, typed variables, error bodies and links.

Camunda clients parse dates with milliseconds and a numeric offset (`2013-01-23T13:42:42.657+0200`;
pycamunda rejects anything else), send and expect variables as `{"value", "type", "valueInfo"}`,
and read `type` and `message` of an error body.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from flask import Response, request

from ..api.limits import UnsafeJSON, load_json, request_json

PREFIX = "/engine-rest"
INT_RANGE = (-(2**31), 2**31 - 1)
SHORT_RANGE = (-(2**15), 2**15 - 1)
LONG_RANGE = (-(2**63), 2**63 - 1)
JSON_FORMAT = "application/json"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})?$")


class CamundaError(Exception):
    """An error answered in Camunda's shape: `{"type": ..., "message": ..., "code": null}`."""

    def __init__(self, status: int, message: str, type_: str = "InvalidRequestException",
                 details: dict | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.details = details
        self.headers = headers or {}

    def response(self) -> Response:
        body: dict[str, Any] = {"type": self.type, "message": self.message, "code": None}
        if self.details is not None:
            body["details"] = self.details
        response = json_response(body, self.status)
        response.headers.update(self.headers)
        return response


def bad_request(message: str) -> CamundaError:
    return CamundaError(400, message)


def not_found(message: str) -> CamundaError:
    return CamundaError(404, message)


def optional_int(body: dict, name: str, default: int | None = None, limit: int = 2**31 - 1) -> int | None:
    """A whole-number field of a request body (a JSON number or a numeric string), or `default`;
    400 for anything else or a value beyond +-`limit`."""
    value = body.get(name)
    if value is None:
        return default
    try:
        if isinstance(value, bool):
            raise TypeError(name)
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise bad_request(f"{name} must be a number, not {str(value)[:40]!r}") from None
    if abs(number) > limit:
        raise bad_request(f"{name} must be between {-limit} and {limit}")
    return number


def optional_text(body: dict, name: str, limit: int = 255) -> str | None:
    """A string field of a request body, or None; 400 for another type or an overlong value."""
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"{name} must be a string, not {type(value).__name__}")
    if value is not None and len(value) > limit:
        raise bad_request(f"{name} is longer than {limit} characters")
    return value


# -- responses ------------------------------------------------------------------------------------

def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status=status, mimetype="application/json")


def no_content() -> Response:
    return Response(status=204)


def self_link(path: str) -> list[dict]:
    """Camunda's `links` on a created resource: `[{"method", "href", "rel": "self"}]`."""
    return [{"method": "GET", "href": request.host_url.rstrip("/") + PREFIX + path, "rel": "self"}]


def json_body() -> dict:
    """The request's JSON object; an empty or missing body is `{}` (clients send `{}` on GET too)."""
    if not request.get_data(cache=True):
        return {}
    try:  # checked like every JSON body, whatever the Content-Type says (the request hook only sees JSON ones)
        body = request_json()
    except UnsafeJSON as err:
        raise bad_request(f"the request body {err}") from err
    except ValueError as err:
        raise bad_request(f"the request body is not valid JSON: {err}") from err
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    return body


# -- dates ----------------------------------------------------------------------------------------

def format_date(value: datetime | None) -> str | None:
    """`yyyy-MM-dd'T'HH:mm:ss.SSSZ`, always with milliseconds and an offset (UTC here)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}" + value.strftime("%z")


def parse_date(text: str, name: str = "date") -> datetime:
    """Camunda's format and its ISO 8601 relatives; a query string's `+` may arrive as a space."""
    value = (text or "").strip().replace(" ", "+")
    if not _DATE.match(value):
        raise bad_request(f"Cannot convert value '{text}' to java type java.util.Date for {name}: "
                          "use yyyy-MM-dd'T'HH:mm:ss.SSSZ")
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    except (ValueError, OverflowError):  # the right shape, no such date or time (month 13, offset +9999)
        raise bad_request(f"Cannot convert value '{text}' to java type java.util.Date for {name}: "
                          "no such date") from None


def format_text_date(value: str | None) -> str | None:
    """A date kept as text (a task's due date): in Camunda's format when it parses, else null."""
    if not value:
        return None
    try:
        return format_date(parse_date(value))
    except CamundaError:
        return None


# -- typed variables ------------------------------------------------------------------------------

def type_of(value: Any) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        if INT_RANGE[0] <= value <= INT_RANGE[1]:
            return "Integer"
        # a script may compute a number beyond Java's long; as Json its digits stay exact
        return "Long" if LONG_RANGE[0] <= value <= LONG_RANGE[1] else "Json"
    if isinstance(value, float):
        return "Double"
    if isinstance(value, str):
        return "String"
    return "Json"


def typed(value: Any) -> dict:
    """A variable as Camunda returns it; lists and objects are `Json`, their value a JSON text."""
    kind = type_of(value)
    if kind == "Json":
        value = json.dumps(value, default=str)
    return {"type": kind, "value": value, "valueInfo": {}}


def typed_map(variables: dict | None, names: Iterable[str] | None = None) -> dict:
    wanted = set(names) if names is not None else None
    return {k: typed(v) for k, v in (variables or {}).items() if wanted is None or k in wanted}


def untyped(name: str, dto: Any) -> Any:
    """The plain value of one `VariableValueDto`; a missing type is inferred from the JSON value."""
    if not isinstance(dto, dict):
        raise bad_request(f"variable '{name}' must be an object with 'value' and 'type'")
    value, kind, info = dto.get("value"), dto.get("type") or "", dto.get("valueInfo") or {}
    if not isinstance(kind, str):
        raise bad_request(f"the type of variable '{name}' must be a string, not {type(kind).__name__}")
    if not isinstance(info, dict):
        raise bad_request(f"the valueInfo of variable '{name}' must be an object")
    try:
        return _convert(kind.lower(), value, info)
    except (TypeError, ValueError, OverflowError, CamundaError) as err:  # CamundaError: a Date that is none
        text = str(value)
        shown = text if len(text) <= 80 else text[:80] + "..."
        raise bad_request(f"Cannot convert value '{shown}' of variable '{name}' to type {kind}: {err}") from None


def untyped_map(dtos: Any) -> dict:
    if dtos is None:
        return {}
    if not isinstance(dtos, dict):
        raise bad_request("variables must be an object of name: {value, type, valueInfo}")
    return {name: untyped(name, dto) for name, dto in dtos.items()}


def _convert(kind: str, value: Any, info: dict) -> Any:
    if value is None or kind == "null":
        return None
    if kind == "":  # inferred: a whole number must fit Java's long, as an explicit Long must
        if isinstance(value, int) and not isinstance(value, bool):
            _in_range(value, LONG_RANGE, "Long")
        return value
    if kind in ("json", "object"):
        return _object_value(kind, value, info)
    if kind in ("string", "xml"):
        return value if isinstance(value, str) else json.dumps(value) if isinstance(value, (dict, list)) \
            else str(value).lower() if isinstance(value, bool) else str(value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError("expected true or false")
    if kind in ("integer", "long", "short"):
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError("expected a whole number")
        number = int(value)
        _in_range(number, {"integer": INT_RANGE, "short": SHORT_RANGE}.get(kind, LONG_RANGE), kind.title())
        return number
    if kind == "double":
        if isinstance(value, bool):
            raise ValueError("expected a number")
        number = float(value)
        if not math.isfinite(number):  # "Infinity", "NaN": no JSON answer could carry them back
            raise ValueError("expected a finite number (NaN and Infinity cannot be stored)")
        return number
    if kind == "date":  # kept as text in Camunda's format: variables are stored as JSON
        return format_date(parse_date(str(value)))
    if kind in ("bytes", "file"):
        raise ValueError("binary variables are not supported; send the content as a String or Json")
    raise ValueError(f"unsupported value type '{kind}'")


def _in_range(number: int, bounds: tuple[int, int], name: str) -> None:
    if not bounds[0] <= number <= bounds[1]:
        raise ValueError(f"out of range of {name} ({bounds[0]} to {bounds[1]})")


def _object_value(kind: str, value: Any, info: dict) -> Any:
    """A Json value, or an Object serialized as JSON. Any other serialization (a Java-serialized
    object, Spin XML) is refused: variables are stored as JSON, and keeping the text as a String
    would hand a worker something else than it stored."""
    data_format = info.get("serializationDataFormat") or JSON_FORMAT
    if kind == "object" and data_format != JSON_FORMAT:
        raise ValueError(f"serializationDataFormat '{str(data_format)[:80]}' is not supported; "
                         f"only {JSON_FORMAT} objects can be stored")
    return load_json(value) if isinstance(value, str) else value

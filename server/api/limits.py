"""Limits on what a request may carry, checked once before any view runs.

Why a request hook and not the schemas: a JSON body nested a few thousand levels deep makes
Python's json parser raise RecursionError (a 500) before any schema sees it, and a body nested a
few hundred levels deep parses fine but then costs every later step that walks the variables
(serialization, the sandbox, history). So every JSON body, on every route (the native API,
/engine-rest, the web), is refused with 422 when it is nested deeper than `MAX_DEPTH` levels.
The same parse refuses NaN and Infinity, which Python's parser accepts but JSON does not (and
numbers like 1e400 that it reads as Infinity): stored as variables they are a 500 on PostgreSQL
and invalid JSON in every answer that shows them. A whole number of more than 4,300 digits is
refused (Python will not read it: the view's parser would raise). So is a string holding U+0000
(PostgreSQL's text columns and JSON functions cannot take it) or a lone surrogate (`"\\ud800"`:
no text column can, nor can a response be encoded with it), in JSON bodies, form fields and
query parameters alike.

Path parameters of the native API are checked here too, so that an id that cannot exist never
reaches the database: a 100 kB path segment, a task id that is not a UUID or a feed item id that
overflows a 64-bit integer (SQLite raises OverflowError on those) answer 404 like any unknown id.
"""

from __future__ import annotations

import json
import math
import re

from flask import Flask, g, request
from werkzeug.datastructures import MultiDict

from bpmn.json_values import depth_exceeds, unstorable_character

from ..services.errors import Invalid, NotFound

MAX_DEPTH = 32  # levels of objects and arrays in one JSON body, the body itself being level 1
MAX_INT_DIGITS = 4300  # Python's own limit on reading and printing whole numbers
MAX_PATH_PARAM = 255  # characters of one path parameter
UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
ID_FORMATS = {  # path parameters whose values have a known shape
    "instance_id": re.compile(UUID),
    "task_id": re.compile(UUID),
    "review_id": re.compile(UUID),
    "deployment_id": re.compile(UUID),
    "media_id": re.compile(r"[0-9a-f]{64}"),  # sha256 of the stored bytes
    "item_id": re.compile(r"[0-9]{1,18}"),
}
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# what U+0000 or a lone surrogate looks like in JSON text: an escape ("\u0000", "\ud800"; any
# "\u" is walked) or, in bytes the parser decodes with surrogatepass, ED A0..BF (or a raw NUL,
# which the parser refuses anyway)
_MAY_HOLD_UNSTORABLE = re.compile(rb"\\u|\xed[\xa0-\xbf]|\x00")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class UnsafeJSON(ValueError):
    """Valid to Python's parser, refused here: NaN or Infinity, a number beyond a float or of more
    than 4,300 digits, too deep a nesting, U+0000 or a lone surrogate."""


def _refuse_constant(name: str) -> None:
    raise UnsafeJSON(f"holds {name}, which JSON does not allow")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e400: Python reads Infinity, which no answer could show as JSON
        raise UnsafeJSON(f"holds the number {text[:40]}, beyond what a float can hold")
    return number


def _bounded_int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS:  # Python refuses to read or print longer ones
        raise UnsafeJSON(f"holds a whole number of more than {MAX_INT_DIGITS} digits")
    return int(text)


def load_json(data: bytes | str) -> object:
    """Parse JSON as the request hook does: `UnsafeJSON` for what is refused on every route (its
    message says why, e.g. "is nested deeper than 32 levels"), ValueError for what is not JSON."""
    too_deep = f"is nested deeper than {MAX_DEPTH} levels"
    try:
        document = json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_float,
                              parse_int=_bounded_int)
    except RecursionError:
        raise UnsafeJSON(too_deep) from None
    if depth_exceeds(document, MAX_DEPTH):
        raise UnsafeJSON(too_deep)
    suspect = isinstance(data, str) or _MAY_HOLD_UNSTORABLE.search(data)  # bodies: most need no walk
    character = unstorable_character(document) if suspect else None
    if character is not None:
        raise UnsafeJSON(f"holds the character {character}, which text fields cannot store")
    return document


def request_json() -> object:
    """The request body read by `load_json`, once per request: the request hook, the native API's
    argument parser and the /engine-rest views share the document (or the error, raised again)."""
    read = g.get("_body_json")
    if read is None:
        try:
            read = (load_json(request.get_data(cache=True)), None)
        except ValueError as err:
            read = (None, err)
        g._body_json = read
    document, error = read
    if error is not None:
        raise error
    return document


def _check_json_body() -> None:
    if request.method not in _BODY_METHODS or not request.is_json or not request.content_length:
        return
    try:
        request_json()
    except UnsafeJSON as err:
        raise Invalid(f"the JSON body {err}") from None
    except ValueError:
        return  # not JSON: the view's body parser answers that with its own 400


def _check_text_fields() -> None:
    """Form fields and query parameters: the characters no text column can store (see above)."""
    for where, fields in (("query parameter", request.args), ("form field", _form_fields())):
        for name, value in fields.items(multi=True):
            character = unstorable_character([name, value])
            if character is not None:
                raise Invalid(f"the {where} {name[:80]!r} holds the character {character}, "
                              "which text fields cannot store")


def _form_fields() -> MultiDict:
    if request.method in _BODY_METHODS and request.mimetype in _FORM_TYPES:
        return request.form
    return MultiDict()


def _check_path_params() -> None:
    if not request.path.startswith("/api/v1/"):
        return
    for name, value in (request.view_args or {}).items():
        if not isinstance(value, str):
            continue
        pattern = ID_FORMATS.get(name)
        if len(value) > MAX_PATH_PARAM or (pattern is not None and not pattern.fullmatch(value)):
            shown = value if len(value) <= 80 else value[:80] + "..."
            raise NotFound(f"no resource with {name} {shown!r}")


def register_input_limits(app: Flask) -> None:
    @app.before_request
    def check_input_limits() -> None:
        _check_path_params()
        _check_json_body()
        _check_text_fields()

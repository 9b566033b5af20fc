"""Forms of user tasks, and checking submitted values against them.

Two kinds: Camunda `formData` fields (string, long, boolean, date, enum with validation
constraints) and SpiffArena JSON-schema forms, whose schema is a separate file of the deployment.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

import jsonschema
import regex

CAMUNDA_TYPES = ("string", "long", "boolean", "date", "enum")
START_FORM = "startForm"  # where a start event's form is kept in its extensions (bpmn.start_forms)
PATTERN_SECONDS = 0.25  # one value against one pattern: a pattern written to backtrack forever stops here


def form_of(spec) -> dict | None:
    """Describe the form a spec declares, or None when it declares none."""
    start_form = (getattr(spec, "extensions", None) or {}).get(START_FORM)
    if start_form:  # already in this shape: read when the diagram was deployed
        return start_form
    form = getattr(spec, "form", None)
    if form is not None and (getattr(form, "fields", None) or getattr(form, "key", None)):
        return {
            "kind": "camunda",
            "key": getattr(form, "key", None),
            "fields": [_camunda_field(f) for f in form.fields],
        }
    properties = (getattr(spec, "extensions", None) or {}).get("properties") or {}
    if properties.get("formJsonSchemaFilename"):
        return {
            "kind": "json-schema",
            "schema_file": properties["formJsonSchemaFilename"],
            "ui_schema_file": properties.get("formUiSchemaFilename"),
        }
    return None


def _camunda_field(field) -> dict:
    validation = {v.name: v.config for v in getattr(field, "validation", [])}
    return {
        "id": field.id,
        "label": field.label or field.id,
        "type": field.type or "string",
        "default": field.default_value,
        "required": "required" in validation,
        "validation": validation,
        "properties": {p.id: p.value for p in getattr(field, "properties", [])},
        "options": [{"id": o.id, "name": o.name} for o in getattr(field, "options", [])],
    }


class FormInvalid(ValueError):
    """Submitted values do not fit the form; `errors` maps field id to the reason."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def _coerce(field: dict, value: Any) -> Any:
    kind = field["type"]
    if kind == "long":
        if isinstance(value, bool) or not isinstance(value, (int, str)) or (
                isinstance(value, str) and not re.fullmatch(r"\s*[+-]?[0-9]+\s*", value)):
            raise ValueError("must be a whole number")  # int() alone also takes "1_000" and non-ASCII digits
        return int(value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError("must be true or false")
    if kind == "date":
        if not isinstance(value, str):
            raise ValueError("must be a date (YYYY-MM-DD or ISO 8601)")
        try:
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as err:
            raise ValueError("must be a date (YYYY-MM-DD or ISO 8601)") from err
        return value
    if kind == "enum":
        allowed = [o["id"] for o in field["options"]]
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value
    if not isinstance(value, str):
        raise ValueError("must be text")
    return value


def _check_constraints(field: dict, value: Any) -> None:
    rules = field["validation"]
    if isinstance(value, str):
        if "minlength" in rules and len(value) < int(rules["minlength"]):
            raise ValueError(f"must have at least {rules['minlength']} characters")
        if "maxlength" in rules and len(value) > int(rules["maxlength"]):
            raise ValueError(f"must have at most {rules['maxlength']} characters")
        if "pattern" in rules and not matches_pattern(str(rules["pattern"]), value, whole=True):
            raise ValueError(f"must match {rules['pattern']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "min" in rules and value < float(rules["min"]):
            raise ValueError(f"must be at least {rules['min']}")
        if "max" in rules and value > float(rules["max"]):
            raise ValueError(f"must be at most {rules['max']}")


def validate_camunda(form: dict, values: dict[str, Any]) -> dict[str, Any]:
    """Coerce and check values of a Camunda form; unknown keys pass through unchanged."""
    errors: dict[str, str] = {}
    cleaned = dict(values)
    for field in form["fields"]:
        fid = field["id"]
        value = values.get(fid)
        if value is None or value == "":
            default = field.get("default")
            if field["required"]:
                errors[fid] = "is required"
                continue
            if default in (None, "") or "{" in str(default):  # expression defaults are not evaluated
                continue
            value = default  # as Camunda does on submit: a field left out takes its default value
        elif "readonly" in field["validation"]:
            errors[fid] = "is read-only"
            continue
        try:
            cleaned[fid] = _coerce(field, value)
            _check_constraints(field, cleaned[fid])
        except (ValueError, TypeError) as err:
            errors[fid] = str(err)
    if errors:
        raise FormInvalid(errors)
    return cleaned


def matches_pattern(pattern: str, value: str, whole: bool) -> bool:
    """Whether `value` matches a form's `pattern` (all of it, or somewhere when not `whole`).

    The diagram's author wrote the pattern and anyone who may complete the task writes the value:
    with Python's `re`, `^(a|a)+$` against thirty characters keeps a server thread busy for
    minutes. The `regex` engine stops after PATTERN_SECONDS; the value is then refused (ValueError),
    as is a pattern that is not a valid expression."""
    try:
        compiled = _compiled(pattern)
        found = (compiled.fullmatch if whole else compiled.search)(value, timeout=PATTERN_SECONDS)
    except regex.error as err:
        raise ValueError(f"the form's pattern {pattern!r} is not a valid expression ({err})") from None
    except TimeoutError:
        raise ValueError(f"took too long to check against the pattern {pattern!r}") from None
    return found is not None


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> regex.Pattern:
    return regex.compile(pattern)


def _pattern_keyword(validator, pattern: str, instance: Any, schema: dict):
    """JSON schema's `pattern` keyword through `matches_pattern` (jsonschema's own uses `re`)."""
    if not validator.is_type(instance, "string"):
        return
    try:
        if not matches_pattern(pattern, instance, whole=False):
            yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")
    except ValueError as err:
        yield jsonschema.ValidationError(str(err))


_SchemaValidator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _pattern_keyword})

# `format` is checked, as the browser checks the fields these formats become: jsonschema's own
# email check only looks for an "@" ("@@@" passed), and its date check took "20001231"
FORMATS = jsonschema.FormatChecker()
_EMAIL = re.compile(  # the HTML standard's valid e-mail address, what <input type=email> accepts
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?")


@FORMATS.checks("email")
def _is_email(value: object) -> bool:
    return not isinstance(value, str) or _EMAIL.fullmatch(value) is not None


@FORMATS.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    return not isinstance(value, str) or (_DATE.fullmatch(value) is not None and bool(dt.date.fromisoformat(value)))


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    date, separator, time = value.partition("T") if "T" in value else value.partition("t")
    return bool(separator) and _is_date(date) and _is_time(time) and bool(
        dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00")))


@FORMATS.checks("time", raises=ValueError)
def _is_time(value: object) -> bool:
    return not isinstance(value, str) or (_TIME.fullmatch(value) is not None and bool(
        dt.time.fromisoformat(value.replace("Z", "+00:00"))))


_FORMAT_NAMES = {"email": "an e-mail address", "date": "a date (YYYY-MM-DD)",
                 "date-time": "a date and time (YYYY-MM-DDThh:mm:ss)", "time": "a time (hh:mm)"}


def validate_json_schema(schema: dict, values: dict[str, Any]) -> dict[str, Any]:
    validator = _SchemaValidator(schema, format_checker=FORMATS)
    errors = {_error_key(err): _message(err) for err in validator.iter_errors(values)}
    if errors:
        raise FormInvalid(errors)
    return values


def _message(err: jsonschema.ValidationError) -> str:
    if err.validator == "format" and err.validator_value in _FORMAT_NAMES:
        return f"{str(err.instance)[:80]!r} is not {_FORMAT_NAMES[err.validator_value]}"
    return err.message


def _error_key(err: jsonschema.ValidationError) -> str:
    """The dotted path of the offending field; for a missing one, the path of the field itself."""
    path = [str(p) for p in err.absolute_path]
    if err.validator == "required" and isinstance(err.validator_value, list):
        missing = [p for p in err.validator_value if err.message.startswith(repr(p))]
        if missing:
            path.append(str(missing[0]))
    return ".".join(path) or str(err.validator)

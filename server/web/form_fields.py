"""Task forms to HTML inputs and back.

A task's form comes from the diagram: Camunda `formData` fields, or a SpiffArena JSON-schema
file. Each field becomes a `WebField` that says which input to draw and with which HTML
constraint attributes (so the browser checks what it can), and each submission is turned back
into typed values that `bpmn.forms` validates on the server, whose per-field messages are shown
next to the fields. Values the diagram's variables already hold fill the inputs.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from ..api.limits import MAX_INT_DIGITS, UnsafeJSON, load_json

INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")
NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


@dataclass
class WebField:
    name: str
    label: str
    widget: str  # text, email, url, number, date, checkbox, select, textarea, json
    kind: str  # what the value is: string, long, integer, number, boolean, date, enum, json
    value: Any = ""
    attrs: dict[str, Any] = field(default_factory=dict)
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, label) of a select
    choices: list[Any] = field(default_factory=list)  # the typed enum values behind the options
    help: str | None = None
    error: str | None = None
    readonly: bool = False

    @property
    def required(self) -> bool:
        return bool(self.attrs.get("required"))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _is_date_input_value(text: str) -> bool:
    """Whether a date input keeps `text`: the HTML standard's "valid date string" (YYYY-MM-DD, a
    real day). Anything else, e.g. "2026-13-45" or "yesterday", the browser silently empties."""
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _show_date(f: WebField, text: str) -> None:
    """Put `text` into a date field: in a date input when it is a date, in a text input otherwise,
    which a date input would show empty (the person would not see what to correct)."""
    f.value = text
    if text and not _is_date_input_value(text):
        f.widget = "text"
        f.attrs.setdefault("placeholder", "YYYY-MM-DD")


def _date_value(value: Any) -> str:
    """A variable's value for a date field: the day of a date and time, any other text as it is."""
    text = _text(value)
    return text[:10] if _is_date_input_value(text[:10]) else text


# -- Camunda formData ---------------------------------------------------------------------------

def _camunda_field(spec: dict, variables: dict) -> WebField:
    rules, kind = spec.get("validation") or {}, spec.get("type") or "string"
    value = variables.get(spec["id"], spec.get("default"))
    if isinstance(value, str) and "${" in value:
        value = None  # an expression default is evaluated by nobody here; show an empty input
    attrs: dict[str, Any] = {}
    readonly = "readonly" in rules
    if spec.get("required") and kind != "boolean":  # a required checkbox would mean "must be ticked"
        attrs["required"] = True
    out = WebField(name=spec["id"], label=spec.get("label") or spec["id"], widget="text", kind=kind,
                   value=_text(value), attrs=attrs, readonly=readonly,
                   help=(spec.get("properties") or {}).get("help"))
    if kind == "long":
        out.widget = "number"
        attrs.update(step=1, inputmode="numeric")
        attrs.update({k: rules[k] for k in ("min", "max") if k in rules})
    elif kind == "boolean":
        out.widget, out.value = "checkbox", value in (True, "true", "True")
    elif kind == "date":
        out.widget = "date"
        _show_date(out, _date_value(value))
    elif kind == "enum":
        out.widget = "select"
        out.options = [(o["id"], o.get("name") or o["id"]) for o in spec.get("options") or []]
        out.choices = [o["id"] for o in spec.get("options") or []]
    else:
        attrs.update({k: rules[k] for k in ("minlength", "maxlength", "pattern") if k in rules})
    return out


# -- JSON schema (SpiffArena) -------------------------------------------------------------------

def _schema_field(name: str, prop: dict, required: bool, ui: dict, variables: dict) -> WebField:
    kind = prop.get("type") if isinstance(prop.get("type"), str) else "string"
    value = variables.get(name, prop.get("default"))
    attrs: dict[str, Any] = {"required": True} if required and kind != "boolean" else {}
    out = WebField(name=name, label=prop.get("title") or name, widget="text", kind=kind, value=_text(value),
                   attrs=attrs, help=ui.get("ui:help") or prop.get("description"),
                   readonly=bool(prop.get("readOnly") or ui.get("ui:readonly")))
    if ui.get("ui:placeholder"):
        attrs["placeholder"] = ui["ui:placeholder"]
    enum = prop.get("enum")
    labelled = [o for o in prop.get("oneOf") or [] if isinstance(o, dict) and "const" in o]
    if enum or labelled:
        out.widget, out.kind = "select", "enum"
        out.choices = list(enum) if enum else [o["const"] for o in labelled]
        titles = [_text(v) for v in enum] if enum else [o.get("title") or _text(o["const"]) for o in labelled]
        out.options = [(json.dumps(v), t) for v, t in zip(out.choices, titles, strict=True)]
        out.value = json.dumps(value) if value is not None else ""
    elif kind in ("number", "integer"):
        out.widget = "number"
        attrs["step"] = 1 if kind == "integer" else "any"
        attrs.update({h: prop[j] for j, h in (("minimum", "min"), ("maximum", "max")) if j in prop})
        if kind == "integer":
            attrs["inputmode"] = "numeric"
    elif kind == "boolean":
        out.widget, out.value = "checkbox", value is True
    elif kind in ("object", "array"):
        out.widget, out.kind = "json", "json"
        out.value = json.dumps(value, indent=2) if value is not None else ""
        out.help = out.help or "JSON"
    else:
        fmt = prop.get("format")
        out.widget = {"date": "date", "email": "email", "uri": "url"}.get(fmt, "text")
        if ui.get("ui:widget") == "textarea":
            out.widget = "textarea"
        if out.widget == "date":
            _show_date(out, _date_value(value))
        attrs.update({h: prop[j] for j, h in (("minLength", "minlength"), ("maxLength", "maxlength"),
                                               ("pattern", "pattern")) if j in prop})
    return out


def _schema_fields(schema: dict, ui_schema: dict | None, variables: dict) -> list[WebField]:
    properties = schema.get("properties") or {}
    ui_schema = ui_schema or {}
    order = [n for n in ui_schema.get("ui:order") or [] if n in properties]
    names = order + [n for n in properties if n not in order]
    required = set(schema.get("required") or [])
    return [_schema_field(n, properties[n] if isinstance(properties[n], dict) else {}, n in required,
                          ui_schema.get(n) if isinstance(ui_schema.get(n), dict) else {}, variables)
            for n in names]


# -- both ---------------------------------------------------------------------------------------

def fields_for(form: dict | None, schema: dict | None, ui_schema: dict | None, variables: dict) -> list[WebField]:
    """The inputs of a task's form; an empty list when the task has none (complete with a button)."""
    form = form or {}
    if form.get("kind") == "camunda":
        return [_camunda_field(f, variables) for f in form.get("fields") or []]
    if form.get("kind") == "json-schema" and isinstance(schema, dict):
        return _schema_fields(schema, ui_schema, variables)
    return []


class _Unreadable(ValueError):
    """What a person is told about an input that cannot become a value."""


def _typed(f: WebField, raw: str) -> Any:
    """A JSON-schema value from its input's text; text that does not parse is kept as it is, so
    the schema validator names the problem ("'abc' is not of type 'number'"). JSON text is read
    as a JSON request body is (no NaN, no nesting beyond the limit); numbers must stay finite."""
    if f.kind == "integer" and INTEGER.match(raw):
        if len(raw.strip().lstrip("+-")) > MAX_INT_DIGITS:
            raise _Unreadable("This number has too many digits.")
        return int(raw)
    if f.kind == "number" and NUMBER.match(raw):
        number = float(raw)
        if not math.isfinite(number):
            raise _Unreadable("This number is too large.")
        return int(number) if number.is_integer() and INTEGER.match(raw) else number
    if f.kind == "json":
        try:
            return load_json(raw)
        except UnsafeJSON as err:
            raise _Unreadable(f"This value {err}.") from None
        except ValueError:
            raise _Unreadable("This is not valid JSON.") from None
    return raw


def read_submission(fields: list[WebField], form: MultiDict, camunda: bool) -> tuple[dict, dict]:
    """(values, errors) from a posted form. Camunda values stay text, as the Camunda REST API
    sends them (bpmn.forms coerces them); JSON-schema values are typed here."""
    values, errors = {}, {}
    for f in fields:
        if f.readonly:
            continue
        raw = form.get(f.name, "")
        if f.widget == "checkbox":
            f.value = bool(raw)
            values[f.name] = ("true" if raw else "false") if camunda else bool(raw)
            continue
        if f.widget == "date":
            _show_date(f, raw)  # a date input would drop what was typed when the form comes back
        else:
            f.value = raw
        if raw.strip() == "":
            continue  # left empty: the validator says whether that is allowed
        if camunda:
            values[f.name] = raw
        elif f.kind == "enum":
            match = [c for c in f.choices if json.dumps(c) == raw]
            if match:
                values[f.name] = match[0]
            else:
                errors[f.name] = "Choose one of the listed options."
        else:
            try:
                values[f.name] = _typed(f, raw)
            except _Unreadable as err:
                errors[f.name] = str(err)
    return values, errors


def sentence(message: str) -> str:
    """A validator's message as a sentence for a person ("is required" -> "This field is required.")."""
    message = (message or "").strip()
    if message == "is required" or message.endswith("is a required property"):
        return "This field is required."
    if message.startswith(("must ", "is ")):
        message = "This field " + message if message.startswith("is ") else "Value " + message
    message = message[:1].upper() + message[1:]
    return message if message.endswith(".") else message + "."


def attach_errors(fields: list[WebField], errors: dict[str, str]) -> list[str]:
    """Put each error next to its field; return those that belong to no field (shown on top)."""
    by_name = {f.name: f for f in fields}
    loose = []
    for key, message in errors.items():
        target = by_name.get(key) or by_name.get(str(key).split(".", 1)[0])
        if target is not None and target.error is None:
            target.error = sentence(message)
        elif target is None:
            loose.append(f"{key}: {sentence(message)}")
    return loose

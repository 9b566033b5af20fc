"""Camunda forms as `/engine-rest` shows them: `formData` fields as `form-variables` (each field's
current value, or its default, typed the way Camunda types form fields) and the `FormDto` of
`/task/{id}/form` and `/process-definition/{id}/startForm`."""

from __future__ import annotations

from typing import Any

_TYPES = {"string": "String", "long": "Long", "boolean": "Boolean", "date": "Date", "enum": "String"}


def _default(kind: str, value: Any) -> Any:
    """Defaults are text in the diagram; expressions (`${...}`) are not evaluated here."""
    if value in (None, "") or "${" in str(value):
        return None
    if kind == "long":
        try:
            return int(value)
        except (TypeError, ValueError):
            return None
    if kind == "boolean":
        return str(value).lower() == "true"
    return value


def form_variables(form: dict | None, variables: dict, names: list[str] | None = None) -> dict:
    form = form or {}
    fields = (form.get("fields") or []) if form.get("kind") == "camunda" else []  # JSON-schema forms have none
    result = {}
    for field in fields:
        if names is not None and field["id"] not in names:
            continue
        kind = field.get("type") or "string"
        value = variables.get(field["id"]) if field["id"] in variables else _default(kind, field.get("default"))
        result[field["id"]] = {"type": _TYPES.get(kind, "String"), "value": value, "valueInfo": {}}
    return result


def form_dto(form: dict | None, rendered_path: str) -> dict:
    """Camunda's `FormDto` of a task or start form: its `camunda:formKey`; a form of fields
    without a key gets the key of Camunda's generated form (`embedded:engine://engine/:engine/`
    + `rendered_path`), as Camunda answers; no key and no fields: a null key. There is no process
    application here, so `contextPath` is null, and no Camunda Forms reference (`camundaFormRef`)."""
    form = form or {}
    key = form.get("key") if form.get("kind") == "camunda" else None
    if not key and form.get("kind") == "camunda" and form.get("fields"):
        key = f"embedded:engine://engine/:engine/{rendered_path}"
    return {"key": key or None, "camundaFormRef": None, "contextPath": None}

"""Start forms: the `camunda:formKey` and `camunda:formData` of a process's none start event.

SpiffWorkflow's CamundaParser builds forms for user tasks only and drops a start event's. The
start event's form is read here when the diagram is deployed and kept in the spec's
`extensions["startForm"]` (bpmn.camunda copies it there), in the shape `bpmn.forms.form_of` gives
a user task's form. A start then finds its form in the spec it already holds, without reading
the XML again or asking the database.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.camunda.parser.task_spec import CAMUNDA_MODEL_NS

from .forms import form_of
from .timer_starts import start_events


def _q(local: str) -> str:
    return f"{{{CAMUNDA_MODEL_NS}}}{local}"


def read_start_form(node: etree._Element) -> dict | None:
    """The form of a `bpmn:startEvent` element, or None when it declares neither a form key nor
    fields. Fields as Camunda reads them: id, label, type, defaultValue, validation constraints,
    properties and the values of an enum."""
    key = node.get(_q("formKey"))
    fields = [_field(f) for f in node.iterfind(f"./{{*}}extensionElements/{_q('formData')}/{_q('formField')}")
              if f.get("id")]
    if not key and not fields:
        return None
    return {"kind": "camunda", "key": key, "fields": fields}


def _field(element: etree._Element) -> dict:
    validation = {c.get("name"): c.get("config") for c in element.iterfind(f"./{_q('validation')}/{_q('constraint')}")
                  if c.get("name")}
    return {
        "id": element.get("id"),
        "label": element.get("label") or element.get("id"),
        "type": element.get("type") or "string",
        "default": element.get("defaultValue"),
        "required": "required" in validation,
        "validation": validation,
        "properties": {p.get("id"): p.get("value") for p in element.iterfind(f"./{_q('properties')}/{_q('property')}")},
        "options": [{"id": v.get("id"), "name": v.get("name")} for v in element.iterfind(f"./{_q('value')}")],
    }


def start_form_of(spec) -> dict | None:
    """The form of a process spec's none start event (Camunda's start form), or None.

    Remembered per spec object (specs are cached and shared), so a start pays a dictionary lookup."""
    try:
        return _FORMS[spec]
    except KeyError:
        pass
    found = _FORMS[spec] = next((form for form in map(form_of, _none_start_events(spec)) if form), None)
    return found


def _none_start_events(spec) -> list:
    return [s for s in start_events(spec) if isinstance(getattr(s, "event_definition", None), NoneEventDefinition)]


_FORMS: WeakKeyDictionary = WeakKeyDictionary()

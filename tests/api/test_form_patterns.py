"""Form patterns are the diagram author's, values anyone's who may complete the task: a pattern
that backtracks forever must not hold a server thread (bpmn.forms.matches_pattern)."""

from __future__ import annotations

import io
import json
import time

from tests.api.engine_support import ENGINE_DIAGRAMS, diagram, problem

TASKS = "/api/v1/tasks"
EVIL = "^(a|a)+$"  # with Python's re, 30 characters take minutes
SLOW_VALUE = "a" * 40 + "!"


def complete(api, task_id: str, variables: dict):
    return api.post(f"{TASKS}/{task_id}/complete", json={"variables": variables})


def test_a_camunda_pattern_that_backtracks_forever_refuses_the_value_in_time(admin_api):
    xml = diagram("camunda_form.bpmn").read_text().replace(
        '<camunda:constraint name="minlength" config="2"/>', f'<camunda:constraint name="pattern" config="{EVIL}"/>'
    ).replace('<camunda:constraint name="maxlength" config="10"/>', "")
    deployed = admin_api.post("/api/v1/deployments", data={"file": [(io.BytesIO(xml.encode()), "evil.bpmn")]},
                              content_type="multipart/form-data")
    assert deployed.status_code == 201, deployed.get_json()
    [task] = admin_api.start("camunda_form")["tasks"]
    began = time.monotonic()
    errors = problem(complete(admin_api, task["id"], {"name": SLOW_VALUE, "age": 30}), 422)["errors"]
    assert "took too long" in errors["name"] and time.monotonic() - began < 5
    assert complete(admin_api, task["id"], {"name": "aaa", "age": 30}).status_code == 200


def test_a_json_schema_pattern_that_backtracks_forever_refuses_the_value_in_time(admin_api):
    schema = json.loads((ENGINE_DIAGRAMS / "expense-schema.json").read_text())
    schema["properties"]["purpose"]["pattern"] = EVIL
    files = [(io.BytesIO(diagram("spiff_form.bpmn").read_bytes()), "spiff_form.bpmn"),
             (io.BytesIO(json.dumps(schema).encode()), "expense-schema.json"),
             (io.BytesIO((ENGINE_DIAGRAMS / "expense-uischema.json").read_bytes()), "expense-uischema.json")]
    deployed = admin_api.post("/api/v1/deployments", data={"file": files}, content_type="multipart/form-data")
    assert deployed.status_code == 201, deployed.get_json()
    [task] = admin_api.start("spiff_form")["tasks"]
    began = time.monotonic()
    errors = problem(complete(admin_api, task["id"], {"purpose": SLOW_VALUE, "amount": 1}), 422)["errors"]
    assert "took too long" in errors["purpose"] and time.monotonic() - began < 5
    errors = problem(complete(admin_api, task["id"], {"purpose": "abc", "amount": 1}), 422)["errors"]
    assert "does not match" in errors["purpose"]
    assert complete(admin_api, task["id"], {"purpose": "aaaa", "amount": 1}).status_code == 200


def test_json_schema_formats_are_checked_as_the_browser_checks_them(admin_api):
    """`format: email` took "@@@" and `format: date` took "31/12/2000" (jsonschema checks formats
    only when asked, and its e-mail check only looks for an @)."""
    schema = json.loads((ENGINE_DIAGRAMS / "expense-schema.json").read_text())
    schema["properties"] |= {"email": {"type": "string", "format": "email"},
                             "spent_on": {"type": "string", "format": "date"}}
    files = [(io.BytesIO(diagram("spiff_form.bpmn").read_bytes()), "spiff_form.bpmn"),
             (io.BytesIO(json.dumps(schema).encode()), "expense-schema.json"),
             (io.BytesIO((ENGINE_DIAGRAMS / "expense-uischema.json").read_bytes()), "expense-uischema.json")]
    assert admin_api.post("/api/v1/deployments", data={"file": files},
                          content_type="multipart/form-data").status_code == 201
    [task] = admin_api.start("spiff_form")["tasks"]
    base = {"purpose": "taxi", "amount": 12}
    for bad in ({"email": "@@@"}, {"email": "not-an-email"}, {"spent_on": "31/12/2000"}, {"spent_on": "2000-02-30"},
                {"spent_on": "20001231"}):
        errors = problem(complete(admin_api, task["id"], base | bad), 422)["errors"]
        [(field, message)] = errors.items()
        assert field in bad and "is not a" in message, errors
    done = complete(admin_api, task["id"], base | {"email": "ann@example.org", "spent_on": "2000-12-31"})
    assert done.status_code == 200, done.get_json()

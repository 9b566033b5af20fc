"""Odd input on the web pages, found by probing: each was a 500."""

from __future__ import annotations

import pytest

from server.web.form_fields import WebField, read_submission
from tests.conftest import DIAGRAMS
from tests.web.conftest import text_of


@pytest.mark.parametrize("path", [
    "/tasks?page=%C2%B2", "/tasks?section=all&page=%C2%B2", "/tasks?page=99999999999999999999999999999",
    "/tasks/updates.json?page=%C2%B2", "/instances?page=%C2%B2", "/instances?page=99999999999999999999999999",
    "/feed?before=%C2%B2", "/feed?before=99999999999999999999999999", "/streams/user:root?before=%C2%B2",
])
def test_page_numbers_that_are_no_ascii_digits_or_too_large_are_ignored(web, path):
    """'²'.isdigit() is True, int('²') raises; SQLite cannot take integers beyond 64 bits."""
    root = web("root", admin=True, groups=["admins"])
    assert root.get(path).status_code == 200


def test_a_resumed_feed_stream_with_an_odd_event_id_starts_afresh(web):
    root = web("root", admin=True, groups=["admins"])
    response = root.client.get("/feed/events", headers={"Last-Event-ID": "²"}, buffered=False)
    try:
        assert response.status_code == 200
    finally:
        response.close()


@pytest.mark.parametrize(("kind", "raw", "message"), [
    ("json", "[" * 5000 + "]" * 5000, "nested deeper"), ("json", '{"a": NaN}', "NaN"),
    ("json", '{"\\ud800": 1}', "U+D800"), ("json", "[1e400]", "beyond what a float"),
    ("number", "1e400", "too large"), ("integer", "9" * 5000, "too many digits"),
])
def test_form_values_json_cannot_hold_are_an_error_next_to_the_field(kind, raw, message):
    field = WebField(name="x", label="X", widget="json" if kind == "json" else "number", kind=kind)
    values, errors = read_submission([field], {"x": raw}, camunda=False)
    assert values == {} and message in errors["x"]


def test_retry_variables_json_cannot_hold_are_refused_with_the_reason(web, admin_api, user_api):
    admin_api.deploy(DIAGRAMS / "engine" / "script_error.bpmn")
    started = user_api("uma").start("script_error", {"total": 10, "divisor": 0})
    root = web("root", admin=True, groups=["admins"])
    root.get(f"/instances/{started['id']}")
    bad = root.post(f"/instances/{started['id']}/retry", {"variables": '{"divisor": "\\ud800"}'})
    assert bad.status_code == 422 and "U+D800" in text_of(bad)
    bad = root.post(f"/instances/{started['id']}/retry", {"variables": '{"d": ' + "[" * 3000 + "]" * 3000 + "}"})
    assert bad.status_code == 422 and "nested deeper" in text_of(bad)
    assert admin_api.get(f"/api/v1/process-instances/{started['id']}").get_json()["status"] == "error"

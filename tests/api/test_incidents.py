"""Failing scripts become incidents; admins retry them with corrected variables; a runaway script is
stopped by the time limit and the server keeps answering."""

from __future__ import annotations

import time

from tests.api.engine_support import diagram, get_instance, kinds, problem
from tests.api.test_script_escapes import deploy, script_diagram


def retry(api, instance_id: str, variables: dict | None = None):
    return api.post(f"/api/v1/process-instances/{instance_id}/retry", json={"variables": variables or {}})


def test_failing_script_opens_an_incident_that_a_retry_resolves(admin_api, user_api):
    admin_api.deploy(diagram("script_error.bpmn"))
    uma = user_api("uma")
    started = uma.start("script_error", {"total": 10, "divisor": 0})
    assert started["status"] == "error"
    [incident] = started["incidents"]
    assert incident["bpmn_id"] == "compute"
    assert "division by zero" in incident["message"]
    assert incident["resolved_at"] is None

    shown = get_instance(admin_api, started["id"])
    assert shown["status"] == "error"
    assert shown["incidents"] == [incident]
    assert "error" in kinds(admin_api, started["id"])

    body = problem(retry(uma, started["id"], {"divisor": 4}), 403)
    assert "administrators" in body["detail"]
    assert get_instance(admin_api, started["id"])["status"] == "error"

    response = retry(admin_api, started["id"], {"divisor": 4})
    assert response.status_code == 200, response.get_json()
    done = response.get_json()
    assert done["status"] == "completed"
    assert done["variables"]["share"] == 2.5
    assert done["variables"]["divisor"] == 4
    [resolved] = done["incidents"]
    assert resolved["id"] == incident["id"] and resolved["resolved_at"] is not None
    history_kinds = kinds(admin_api, started["id"])
    assert history_kinds.index("error") < history_kinds.index("retried") < history_kinds.index("ended")

    problem(retry(admin_api, started["id"]), 409)


def test_undefined_variable_names_the_variable(admin_api):
    admin_api.deploy(diagram("script_error.bpmn"))
    started = admin_api.start("script_error", {"total": 10})
    assert started["status"] == "error"
    [incident] = started["incidents"]
    assert incident["bpmn_id"] == "compute"
    assert "divisor" in incident["message"]


def test_a_script_result_json_cannot_hold_is_an_incident_not_a_server_error(admin_api):
    """1e308 / 0.1 is Infinity: stored, it was invalid JSON on SQLite and a 500 on PostgreSQL."""
    admin_api.deploy(diagram("script_error.bpmn"))
    started = admin_api.start("script_error", {"total": 1e308, "divisor": 0.1})
    assert started["status"] == "error"
    [incident] = started["incidents"]
    assert incident["bpmn_id"] == "compute"
    assert "'share'" in incident["message"] and "JSON" in incident["message"]
    assert incident["message"].startswith("ValueError: variable 'share'"), incident["message"]
    assert "share" not in get_instance(admin_api, started["id"])["variables"]
    response = retry(admin_api, started["id"], {"total": 10, "divisor": 4})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["variables"]["share"] == 2.5


def test_a_script_that_puts_a_value_json_cannot_hold_into_a_list_is_an_incident(admin_api):
    """The failed script's change in place stays; the value it added is kept as text. Before, saving
    the instance's error state was a 500."""
    response = deploy(admin_api, "in_place", script_diagram("in_place", "order['lines'].append({1, 2})"))
    assert response.status_code == 201, response.get_json()
    started = admin_api.start("in_place", {"order": {"lines": ["first"]}})
    assert started["status"] == "error"
    [incident] = started["incidents"]
    assert "'order'" in incident["message"] and "set" in incident["message"]
    assert get_instance(admin_api, started["id"])["variables"]["order"]["lines"] == ["first", "{1, 2}"]


def test_a_script_that_nests_a_variable_hundreds_deep_is_an_incident(admin_api):
    """JSON can hold it, but the state of such an instance failed to load: the start was a 500."""
    script = "nested = []\nfor i in range(700):\n    nested = [nested]"
    assert deploy(admin_api, "deep", script_diagram("deep", script)).status_code == 201
    started = admin_api.start("deep", {})
    [incident] = started["incidents"]
    assert "'nested'" in incident["message"] and "deeper than" in incident["message"]
    assert get_instance(admin_api, started["id"])["status"] == "error"
    assert admin_api.delete(f"/api/v1/process-instances/{started['id']}").status_code == 200


def test_a_retry_that_fails_again_opens_a_new_incident(admin_api):
    admin_api.deploy(diagram("script_error.bpmn"))
    started = admin_api.start("script_error", {"total": 10, "divisor": 0})
    again = retry(admin_api, started["id"]).get_json()
    assert again["status"] == "error"
    first, second = again["incidents"]
    assert first["resolved_at"] is not None and second["resolved_at"] is None
    assert second["bpmn_id"] == "compute"

    done = retry(admin_api, started["id"], {"divisor": 5}).get_json()
    assert done["status"] == "completed" and done["variables"]["share"] == 2
    assert kinds(admin_api, started["id"]).count("retried") == 2


def test_runaway_script_is_stopped_and_the_api_keeps_answering(admin_api, cafe):
    limit = cafe.settings.script_time_limit
    admin_api.deploy(diagram("runaway_script.bpmn"))
    admin_api.deploy(diagram("script_error.bpmn"))
    began = time.monotonic()
    started = admin_api.start("runaway_script")
    elapsed = time.monotonic() - began
    assert limit <= elapsed < limit + 2
    assert started["status"] == "error"
    [incident] = started["incidents"]
    assert incident["bpmn_id"] == "spin"
    assert "time limit" in incident["message"]

    assert admin_api.get("/health").status_code == 200
    other = admin_api.start("script_error", {"total": 1, "divisor": 1})
    assert other["status"] == "completed"
    assert get_instance(admin_api, started["id"])["status"] == "error"

"""Signals through the native API: a broadcast reaches every waiting instance and starts every
process with a signal start event; nothing waiting is not an error."""

from __future__ import annotations

from pathlib import Path

from tests.api.engine_support import get_instance, history

SIGNALS = Path(__file__).resolve().parent.parent / "diagrams" / "camunda" / "signals.bpmn"


def test_signal_broadcast_and_signal_start(admin_api):
    admin_api.deploy(SIGNALS)
    first, second = admin_api.start("wait_for_alert"), admin_api.start("wait_for_alert")
    assert first["status"] == second["status"] == "waiting"

    response = admin_api.post("/api/v1/signals", json={"name": "AlertRaised", "variables": {"level": 2}})
    assert response.status_code == 200, response.get_json()
    items = response.get_json()["items"]
    reached = sorted(i["instance_id"] for i in items if not i["started"])
    assert reached == sorted([first["id"], second["id"]])
    [started] = [i for i in items if i["started"]]
    assert get_instance(admin_api, started["instance_id"])["definition_key"] == "handle_alert"
    for instance in (first, second):
        done = get_instance(admin_api, instance["id"])
        assert done["status"] == "completed" and done["variables"]["level"] == 2
        assert [e["name"] for e in history(admin_api, instance["id"]) if e["kind"] == "signal_received"] == [
            "AlertRaised"]


def test_a_signal_nobody_waits_for_is_an_empty_answer(admin_api):
    admin_api.deploy(SIGNALS)
    waiting = admin_api.start("wait_for_alert")
    response = admin_api.post("/api/v1/signals", json={"name": "SomethingElse"})
    assert response.status_code == 200 and response.get_json() == {"items": []}
    # a message of the same name does not reach a signal wait (and vice versa)
    assert admin_api.post("/api/v1/messages", json={"name": "AlertRaised"}).status_code == 404
    assert get_instance(admin_api, waiting["id"])["status"] == "waiting"


def test_a_signal_for_one_instance_starts_nothing(admin_api):
    admin_api.deploy(SIGNALS)
    first, second = admin_api.start("wait_for_alert"), admin_api.start("wait_for_alert")
    response = admin_api.post("/api/v1/signals", json={"name": "AlertRaised", "instance_id": first["id"]})
    assert [i["instance_id"] for i in response.get_json()["items"]] == [first["id"]]
    assert get_instance(admin_api, second["id"])["status"] == "waiting"
    assert admin_api.get("/api/v1/process-instances?definition_key=handle_alert").get_json()["total"] == 0


def test_a_signal_needs_a_name(admin_api):
    assert admin_api.post("/api/v1/signals", json={"variables": {}}).status_code == 422


def test_a_non_interrupting_signal_boundary_stays_armed(admin_api):
    admin_api.deploy(Path(__file__).resolve().parent.parent / "diagrams" / "engine" / "signal_boundary_armed.bpmn")
    instance = admin_api.start("signal_boundary_armed")
    [work] = instance["tasks"]
    for level in (1, 2):
        response = admin_api.post("/api/v1/signals", json={"name": "s_ping", "variables": {"level": level}})
        assert [i["instance_id"] for i in response.get_json()["items"]] == [instance["id"]]
    now = get_instance(admin_api, instance["id"])
    assert [t["id"] for t in now["tasks"]] == [work["id"]]
    assert [e["bpmn_id"] for e in history(admin_api, instance["id"]) if e["kind"] == "activity_completed"
            ].count("on_ping") == 2
    assert now["variables"]["level"] == 2
    assert [(e["name"], e["bpmn_id"]) for e in history(admin_api, instance["id"]) if e["kind"] == "signal_received"
            ] == [("s_ping", "pinged"), ("s_ping", "pinged")]

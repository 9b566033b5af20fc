"""The README walk-through, through the API: deploy, start, list tasks, complete, history."""

from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "order-approval.bpmn"


def test_deploy_start_complete_history(admin_api, user_api):
    deployed = admin_api.deploy(EXAMPLE).get_json()
    assert deployed["created"] is True
    [definition] = deployed["definitions"]
    assert definition["key"] == "order_approval" and definition["version"] == 1

    instance = admin_api.start("order_approval", {"order_id": 17}, business_key="order-17")
    assert instance["status"] == "waiting"
    [task] = instance["tasks"]
    assert task["name"] == "Review order" and task["candidate_groups"] == ["reviewers"]

    reviewer = user_api("rita", groups=["reviewers"])
    outsider = user_api("otto")
    listed = reviewer.get("/api/v1/tasks").get_json()
    assert [t["id"] for t in listed["items"]] == [task["id"]]
    assert outsider.get("/api/v1/tasks").get_json()["items"] == []
    assert outsider.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {}}).status_code == 404

    detail = reviewer.get(f"/api/v1/tasks/{task['id']}").get_json()
    assert [f["id"] for f in detail["form"]["fields"]] == ["approved", "comment"]

    done = reviewer.post(f"/api/v1/tasks/{task['id']}/complete",
                         json={"variables": {"approved": True, "comment": "fine"}})
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["status"] == "completed"
    assert body["variables"]["confirmation"] == "Order 17 confirmed"

    again = reviewer.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {"approved": True}})
    assert again.status_code == 409
    assert again.headers["Content-Type"] == "application/problem+json"

    history = admin_api.get(f"/api/v1/process-instances/{instance['id']}/history").get_json()["items"]
    kinds = [e["kind"] for e in history]
    assert kinds[0] == "started" and kinds[-1] == "ended"
    completed = [e for e in history if e["kind"] == "task_completed"]
    assert completed == [completed[0]] and completed[0]["user"] == "rita"
    assert completed[0]["data"] == {"approved": True, "comment": "fine"}
    assert "Task_confirm" in [e["bpmn_id"] for e in history if e["kind"] == "activity_completed"]


def test_redeploy_unchanged_returns_existing_version(admin_api, tmp_path):
    first = admin_api.deploy(EXAMPLE).get_json()
    second = admin_api.deploy(EXAMPLE)
    assert second.status_code == 200
    assert second.get_json()["created"] is False
    assert second.get_json()["definitions"][0]["id"] == first["definitions"][0]["id"]

    changed = tmp_path / "order-approval.bpmn"
    changed.write_text(EXAMPLE.read_text().replace("Review order", "Review the order"))
    third = admin_api.deploy(changed).get_json()
    assert third["definitions"][0]["version"] == 2
    xml = admin_api.get(f"/api/v1/process-definitions/{third['definitions'][0]['id']}/xml")
    assert b"Review the order" in xml.data
    assert admin_api.get("/api/v1/process-definitions/order_approval").get_json()["version"] == 2


def test_unauthenticated_and_non_admin(anonymous_api, user_api):
    response = anonymous_api.get("/api/v1/tasks")
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert user_api("uma").deploy(EXAMPLE, expect=None).status_code == 403

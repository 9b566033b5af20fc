"""Social steps drawn in SpiffArena's modeler: Python parameters and resultVariable."""

from tests.conftest import DIAGRAMS, run_jobs


def test_spiff_publish_and_unanimous_review(admin_api, user_api, cafe):
    ann = user_api("ann", groups=["team"])
    ben = user_api("ben", groups=["team"])
    admin_api.deploy(DIAGRAMS / "social" / "spiff_review.bpmn")
    instance = admin_api.start("spiff_review", {"order_id": 9})
    run_jobs(cafe)
    variables = admin_api.get(f"/api/v1/process-instances/{instance['id']}").get_json()["variables"]
    assert variables["announced"]["feed"]["id"]
    [task] = ann.get("/api/v1/tasks").get_json()["items"]
    review = ann.get(f"/api/v1/tasks/{task['id']}/review").get_json()
    assert review["message"] == "Please check order 9" and review["rule"] == "unanimous"
    ann.post(f"/api/v1/reviews/{review['id']}/votes", json={"option": "approve"})
    assert ann.get(f"/api/v1/reviews/{review['id']}").get_json()["status"] == "open"
    ben.post(f"/api/v1/reviews/{review['id']}/votes", json={"option": "reject"})
    run_jobs(cafe)
    final = admin_api.get(f"/api/v1/process-instances/{instance['id']}").get_json()
    assert final["status"] == "completed"
    assert final["variables"]["verdict"]["decision"] == "reject"

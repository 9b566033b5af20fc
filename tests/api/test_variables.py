"""An instance's life through the API: long runs continued by the job runner, reading and changing
variables, and termination."""

from __future__ import annotations

from sqlalchemy import select

from server.models import Job
from tests.api.engine_support import diagram, get_instance, history, kinds, problem
from tests.conftest import run_jobs


def jobs(cafe, instance_id: str, kind: str | None = None) -> list[Job]:
    with cafe.db.transaction() as session:
        query = select(Job).where(Job.instance_id == instance_id)
        if kind:
            query = query.where(Job.kind == kind)
        return list(session.scalars(query))


def test_long_loop_returns_running_and_the_job_runner_finishes_it(admin_api, cafe):
    assert cafe.settings.step_budget == 200
    admin_api.deploy(diagram("counter_loop.bpmn"))
    started = admin_api.start("counter_loop", {"limit": 1000})
    assert started["status"] == "running"
    assert 0 < started["variables"]["counter"] < 1000
    [job] = jobs(cafe, started["id"])
    assert job.kind == "continue"

    run_jobs(cafe)
    done = get_instance(admin_api, started["id"])
    assert done["status"] == "completed"
    assert done["variables"]["counter"] == 1000
    assert done["variables"]["total"] == 500500
    assert jobs(cafe, started["id"]) == []
    events = history(admin_api, started["id"])
    assert sum(1 for e in events if e["kind"] == "activity_completed" and e["bpmn_id"] == "step") == 1000
    assert events[-1]["kind"] == "ended"


def test_short_loop_completes_in_the_request(admin_api):
    admin_api.deploy(diagram("counter_loop.bpmn"))
    started = admin_api.start("counter_loop", {"limit": 10})
    assert started["status"] == "completed"
    assert started["variables"]["counter"] == 10


def test_get_and_patch_variables(admin_api, user_api):
    admin_api.deploy(diagram("timer_boundary.bpmn"))
    uma = user_api("uma", groups=["workers"])
    started = uma.start("timer_boundary", {"timeout": "PT1H", "amount": 3, "note": "first"})
    url = f"/api/v1/process-instances/{started['id']}/variables"

    response = uma.get(url)
    assert response.status_code == 200
    assert response.get_json() == {"timeout": "PT1H", "amount": 3, "note": "first"}

    body = problem(uma.patch(url, json={"set": {"amount": 4}}), 403)
    assert "administrators" in body["detail"]

    response = admin_api.patch(url, json={"set": {"amount": 5, "extra": {"a": [1, 2]}}, "delete": ["note"]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"timeout": "PT1H", "amount": 5, "extra": {"a": [1, 2]}}
    assert uma.get(url).get_json() == {"timeout": "PT1H", "amount": 5, "extra": {"a": [1, 2]}}
    [changed] = [e for e in history(admin_api, started["id"]) if e["kind"] == "variables_changed"]
    assert changed["user"] == "admin"
    assert changed["data"] == {"set": {"amount": 5, "extra": {"a": [1, 2]}}, "deleted": ["note"]}

    # the changed values are what the process goes on with
    [task] = started["tasks"]
    done = uma.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {}}).get_json()
    assert done["status"] == "completed"
    assert done["variables"]["amount"] == 5 and "note" not in done["variables"]

    problem(admin_api.patch(url, json={"set": {"amount": 6}}), 409)
    problem(admin_api.patch(url, json={"bogus": 1}), 422)
    problem(admin_api.get("/api/v1/process-instances/nope/variables"), 404)


def test_terminate_removes_tasks_and_timers(admin_api, user_api, cafe):
    admin_api.deploy(diagram("timer_boundary.bpmn"))
    started = admin_api.start("timer_boundary", {"timeout": "PT1H"})
    [task] = started["tasks"]
    assert len(jobs(cafe, started["id"], "timer")) == 1

    problem(user_api("otto", groups=["workers"]).delete(f"/api/v1/process-instances/{started['id']}"), 403)

    response = admin_api.delete(f"/api/v1/process-instances/{started['id']}?reason=cancelled")
    assert response.status_code == 200, response.get_json()
    ended = response.get_json()
    assert ended["status"] == "terminated"
    assert ended["end_reason"] == "cancelled"
    assert ended["ended_at"] is not None
    assert ended["tasks"] == []
    assert jobs(cafe, started["id"]) == []
    assert admin_api.get(f"/api/v1/tasks/{task['id']}").status_code == 404
    assert admin_api.get(f"/api/v1/tasks?instance_id={started['id']}").get_json()["items"] == []
    problem(admin_api.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {}}), 409)
    assert kinds(admin_api, started["id"])[-1] == "terminated"

    body = problem(admin_api.delete(f"/api/v1/process-instances/{started['id']}"), 409)
    assert "terminated" in body["detail"]
    assert get_instance(admin_api, started["id"])["status"] == "terminated"
    run_jobs(cafe)
    assert get_instance(admin_api, started["id"])["status"] == "terminated"


def test_starter_may_terminate_and_a_running_instance_can_be_terminated(admin_api, user_api, cafe):
    admin_api.deploy(diagram("counter_loop.bpmn"))
    uma = user_api("uma")
    started = uma.start("counter_loop", {"limit": 1000})
    assert started["status"] == "running"
    response = uma.delete(f"/api/v1/process-instances/{started['id']}")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "terminated"
    assert jobs(cafe, started["id"]) == []
    run_jobs(cafe)
    assert get_instance(admin_api, started["id"])["status"] == "terminated"

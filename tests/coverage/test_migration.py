"""Migrating running instances to a newer version of their definition (admins)."""

from __future__ import annotations

import io

from sqlalchemy import select

from server.models import ServiceCall
from tests.coverage.support import complete, deploy, get_instance, history, problem, start, timer_jobs


def versions(admin_api) -> dict[int, str]:
    items = admin_api.get("/api/v1/process-definitions?key=cov_migration").get_json()["items"]
    return {d["version"]: d["id"] for d in items}


def migrate(api, instance_id: str, definition_id: str):
    return api.post(f"/api/v1/process-instances/{instance_id}/migrate", json={"definition_id": definition_id})


def test_a_waiting_instance_moves_to_a_compatible_version_and_follows_it(admin_api, user_api):
    deploy(admin_api, "migration_v1.bpmn")
    instance = start(admin_api, "cov_migration", {"order": 5})
    [task] = instance["tasks"]
    admin_api.post(f"/api/v1/tasks/{task['id']}/claim")
    deploy(admin_api, "migration_v2.bpmn")
    ids = versions(admin_api)
    assert get_instance(admin_api, instance["id"])["version"] == 1  # running instances stay on their version

    assert migrate(user_api("mallory"), instance["id"], ids[2]).status_code == 403
    moved = migrate(admin_api, instance["id"], ids[2])
    assert moved.status_code == 200, moved.get_json()
    body = moved.get_json()
    assert body["version"] == 2 and body["definition_id"] == ids[2]
    [same] = body["tasks"]
    assert same["id"] == task["id"] and same["assignee"] == "admin"  # the open task and its claim survive

    done = complete(admin_api, instance["id"], "review", {"ok": True})
    assert done["status"] == "waiting" and done["variables"]["notified"] is True  # the new version's path
    assert [t["bpmn_id"] for t in done["tasks"]] == ["archive"]
    assert complete(admin_api, instance["id"], "archive")["status"] == "completed"
    [event] = [e for e in history(admin_api, instance["id"]) if e["kind"] == "migrated"]
    assert event["data"]["from"] == ids[1] and event["data"]["to"] == ids[2] and event["user"] == "admin"
    assert set(event["data"]["added"]) == {"notify", "archive"}


def test_an_incompatible_version_is_refused_with_the_reasons(admin_api):
    deploy(admin_api, "migration_v1.bpmn")
    instance = start(admin_api, "cov_migration")
    deploy(admin_api, "migration_v3.bpmn")
    ids = versions(admin_api)
    body = problem(migrate(admin_api, instance["id"], ids[2]), 409)
    assert body["reasons"] == [{"reason": "the instance is at 'review' (ready), which the new version no longer has",
                                "element_id": "review", "process_id": "cov_migration"}]
    assert "review" in body["detail"]
    after = get_instance(admin_api, instance["id"])
    assert after["version"] == 1 and [t["bpmn_id"] for t in after["tasks"]] == ["review"]
    assert "migrated" not in [e["kind"] for e in history(admin_api, instance["id"])]
    assert complete(admin_api, instance["id"], "review")["status"] == "completed"


def test_migration_targets_must_be_versions_of_the_same_process(admin_api):
    deploy(admin_api, "migration_v1.bpmn")
    deploy(admin_api, "manual_task.bpmn")
    instance = start(admin_api, "cov_migration")
    other = admin_api.get("/api/v1/process-definitions/cov_manual").get_json()["id"]
    assert "not of 'cov_migration'" in problem(migrate(admin_api, instance["id"], other), 409)["detail"]
    problem(migrate(admin_api, instance["id"], "cov_migration:9:nope"), 404)
    same = versions(admin_api)[1]
    assert "already runs" in problem(migrate(admin_api, instance["id"], same), 409)["detail"]


def timed(version: int) -> bytes:
    after = ('<bpmn:scriptTask id="note"><bpmn:script>noted = True</bpmn:script></bpmn:scriptTask>'
             '<bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="note"/>'
             '<bpmn:sequenceFlow id="f3" sourceRef="note" targetRef="end"/>' if version == 2
             else '<bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end"/>')
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="cov_migration_timer" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    {after}
  </bpmn:process>
</bpmn:definitions>""".encode()


def upload(admin_api, content: bytes) -> str:
    """Deploy one diagram given as bytes; the id of the definition it created."""
    response = admin_api.post("/api/v1/deployments", content_type="multipart/form-data",
                              data={"file": [(io.BytesIO(content), "diagram.bpmn")]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["new_definitions"][0]


def test_a_waiting_timer_keeps_its_due_time(admin_api, cafe):
    upload(admin_api, timed(1))
    instance = start(admin_api, "cov_migration_timer")
    [before] = timer_jobs(cafe, instance["id"])
    target = upload(admin_api, timed(2))
    assert migrate(admin_api, instance["id"], target).status_code == 200
    [after] = timer_jobs(cafe, instance["id"])
    assert after.due_at == before.due_at and after.task_id == before.task_id


def guarded(version: int, external: bool = False) -> bytes:
    """A user task (or a Camunda external task) with an interrupting conditional boundary event:
    in version 1 it never holds, in version 2 it holds for large orders, so moving such an
    instance takes its task away."""
    if external:
        process, condition = "cov_migration_guarded_external", "${false}" if version == 1 else "${order &gt; 3}"
        task = '<bpmn:serviceTask id="work" name="Ship" camunda:type="external" camunda:topic="shipping"/>'
    else:
        process, condition = "cov_migration_guarded", "False" if version == 1 else "order &gt; 3"
        task = '<bpmn:userTask id="work" name="Pack"/>'
    namespace = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"' if external else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" {namespace} id="d" targetNamespace="t">
  <bpmn:process id="{process}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    {task}
    <bpmn:boundaryEvent id="too_big" attachedToRef="work">
      <bpmn:conditionalEventDefinition><bpmn:condition>{condition}</bpmn:condition></bpmn:conditionalEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:endEvent id="refused"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <bpmn:sequenceFlow id="f3" sourceRef="too_big" targetRef="refused"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


def test_an_open_task_the_migration_takes_away_is_recorded_as_cancelled(admin_api):
    """Completing it afterwards is a 409 (the task closed), not a 404 (no such task)."""
    upload(admin_api, guarded(1))
    small, large = (start(admin_api, "cov_migration_guarded", {"order": n}) for n in (2, 5))
    [task] = large["tasks"]  # unclaimed: nothing in the history names it yet
    target = upload(admin_api, guarded(2))

    moved = migrate(admin_api, large["id"], target)
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["status"] == "completed" and moved.get_json()["tasks"] == []
    refused = problem(admin_api.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {}}), 409)
    assert "not open" in refused["detail"]
    events = history(admin_api, large["id"])
    [cancelled] = [e for e in events if e["kind"] == "task_cancelled"]
    assert cancelled["task_id"] == task["id"] and cancelled["bpmn_id"] == "work"
    assert "version 2" in cancelled["data"]["reason"]
    kinds = [e["kind"] for e in events]
    assert kinds.index("migrated") < kinds.index("task_cancelled") < kinds.index("ended")

    assert migrate(admin_api, small["id"], target).status_code == 200  # a task the move keeps is no cancelled one
    [kept] = get_instance(admin_api, small["id"])["tasks"]
    assert kept["id"] == small["tasks"][0]["id"]
    assert "task_cancelled" not in [e["kind"] for e in history(admin_api, small["id"])]


def test_an_external_task_the_migration_takes_away_is_cancelled_for_its_workers(admin_api, cafe):
    """It is not in the task list, so only its service call tells workers it is there: the call is
    cancelled with the reason, and the history names the step as cancelled."""
    upload(admin_api, guarded(1, external=True))
    instance = start(admin_api, "cov_migration_guarded_external", {"order": 5})
    with cafe.db.read() as session:
        [call] = session.scalars(select(ServiceCall).where(ServiceCall.instance_id == instance["id"])).all()
    assert call.status == "pending"
    target = upload(admin_api, guarded(2, external=True))

    moved = migrate(admin_api, instance["id"], target)
    assert moved.status_code == 200 and moved.get_json()["status"] == "completed", moved.get_json()
    with cafe.db.read() as session:
        call = session.get(ServiceCall, call.id)
    assert call.status == "cancelled" and "version 2" in call.error_message, (call.status, call.error_message)
    [cancelled] = [e for e in history(admin_api, instance["id"]) if e["kind"] == "task_cancelled"]
    assert cancelled["bpmn_id"] == "work" and cancelled["task_id"] == call.task_id
    assert "version 2" in cancelled["data"]["reason"] and cancelled["data"]["operator"]

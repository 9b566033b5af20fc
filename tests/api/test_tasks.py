"""The task list through the API: candidates, claim/unclaim/assign, filters, lanes as groups, and
forms (Camunda formData and SpiffArena JSON-schema forms) checked on completion."""

from __future__ import annotations

import json
import uuid

from server.services import identity
from tests.api.engine_support import ENGINE_DIAGRAMS, diagram, get_instance, history, kinds, poll, problem

TASKS = "/api/v1/tasks"


def task_ids(api, query: str = "") -> list[str]:
    response = api.get(f"{TASKS}{query}")
    assert response.status_code == 200, response.get_json()
    return [t["id"] for t in response.get_json()["items"]]


def complete(api, task_id: str, variables: dict | None = None):
    return api.post(f"{TASKS}/{task_id}/complete", json={"variables": variables or {}})


def test_claim_unclaim_assign(admin_api, user_api):
    admin_api.deploy(diagram("claims.bpmn"))
    clara = user_api("clara", groups=["clerks"])
    cleo = user_api("cleo", groups=["clerks"])
    carl = user_api("carl")
    otto = user_api("otto", groups=["auditors"])
    started = admin_api.start("claims")
    [task] = started["tasks"]
    tid = task["id"]
    assert task["candidate_groups"] == ["clerks"] and task["candidate_users"] == ["carl"]

    assert task_ids(clara) == task_ids(cleo) == task_ids(carl) == [tid]
    assert task_ids(otto) == []
    problem(otto.post(f"{TASKS}/{tid}/claim"), 404)

    response = clara.post(f"{TASKS}/{tid}/claim")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["assignee"] == "clara"
    assert clara.post(f"{TASKS}/{tid}/claim").status_code == 200  # claiming one's own task again is fine
    assert "already claimed" in problem(cleo.post(f"{TASKS}/{tid}/claim"), 409)["detail"]

    # a claimed task is the assignee's: other candidates neither see nor complete it
    assert task_ids(cleo) == [] and task_ids(carl) == []
    assert cleo.get(f"{TASKS}/{tid}").status_code == 404
    assert "claimed by clara" in problem(complete(cleo, tid), 409)["detail"]
    problem(complete(otto, tid), 404)
    assert task_ids(clara, "?mine=true") == [tid]
    assert task_ids(cleo, "?mine=true") == []
    assert task_ids(clara, "?candidate_group=clerks&include_assigned=false") == []

    problem(cleo.post(f"{TASKS}/{tid}/unclaim"), 403)
    response = clara.post(f"{TASKS}/{tid}/unclaim")
    assert response.status_code == 200 and response.get_json()["assignee"] is None
    assert task_ids(cleo) == [tid]

    # admins assign, also to someone who is not a candidate
    nina = user_api("nina")
    problem(clara.put(f"{TASKS}/{tid}/assignee", json={"user": "clara"}), 403)
    response = admin_api.put(f"{TASKS}/{tid}/assignee", json={"user": "nina"})
    assert response.status_code == 200 and response.get_json()["assignee"] == "nina"
    assert task_ids(nina, "?mine=true") == task_ids(nina) == [tid]
    assert task_ids(clara) == [] and task_ids(carl) == []
    assert task_ids(admin_api, "?assignee=nina") == [tid]
    problem(complete(carl, tid), 409)

    done = complete(nina, tid, {"checked": True})
    assert done.status_code == 200, done.get_json()
    [audit] = done.get_json()["tasks"]
    assert audit["bpmn_id"] == "audit" and audit["assignee"] is None
    assert done.get_json()["variables"]["checked"] is True
    assert task_ids(otto) == [audit["id"]]
    assert task_ids(nina) == []

    claims = [(e["kind"], e["user"]) for e in history(admin_api, started["id"])
              if e["kind"].startswith("task_")]
    assert claims == [("task_claimed", "clara"), ("task_claimed", "clara"), ("task_unclaimed", "clara"),
                      ("task_assigned", "admin"), ("task_completed", "nina")]


def test_candidate_group_filter(admin_api, user_api):
    admin_api.deploy(diagram("claims.bpmn"))
    first = admin_api.start("claims")["tasks"][0]["id"]
    second = admin_api.start("claims")["tasks"][0]["id"]
    assert sorted(task_ids(admin_api, "?candidate_group=clerks")) == sorted([first, second])
    assert task_ids(admin_api, "?candidate_group=auditors") == []
    assert task_ids(admin_api, "?candidate_user=carl&limit=1") in ([first], [second])

    clara = user_api("clara", groups=["clerks", "auditors"])
    complete(clara, first)
    [audit] = task_ids(admin_api, "?candidate_group=auditors")
    assert task_ids(clara, "?candidate_group=auditors") == [audit]
    assert task_ids(clara, "?candidate_group=clerks") == [second]


def test_admin_may_unassign(admin_api, user_api):
    admin_api.deploy(diagram("claims.bpmn"))
    clara = user_api("clara", groups=["clerks"])
    tid = admin_api.start("claims")["tasks"][0]["id"]
    clara.post(f"{TASKS}/{tid}/claim")
    response = admin_api.put(f"{TASKS}/{tid}/assignee", json={"user": None})
    assert response.status_code == 200 and response.get_json()["assignee"] is None
    assert task_ids(user_api("cleo", groups=["clerks"])) == [tid]
    problem(admin_api.put(f"{TASKS}/no-such-task/assignee", json={"user": "x"}), 404)



def test_assigning_to_an_unknown_user_is_refused_and_changes_nothing(admin_api, user_api):
    admin_api.deploy(diagram("claims.bpmn"))
    started = admin_api.start("claims")
    tid = started["tasks"][0]["id"]
    assert "'nobody'" in problem(admin_api.put(f"{TASKS}/{tid}/assignee", json={"user": "nobody"}), 404)["detail"]
    assert admin_api.get(f"{TASKS}/{tid}").get_json()["assignee"] is None
    assert get_instance(admin_api, started["id"])["revision"] == started["revision"]
    assert "task_assigned" not in kinds(admin_api, started["id"])

    user_api("nina")
    assert admin_api.put(f"{TASKS}/{tid}/assignee", json={"user": "nina"}).get_json()["assignee"] == "nina"
    problem(admin_api.put(f"{TASKS}/{tid}/assignee", json={"user": "nobody"}), 404)
    assert admin_api.get(f"{TASKS}/{tid}").get_json()["assignee"] == "nina"
    assert admin_api.put(f"{TASKS}/{tid}/assignee", json={"user": None}).get_json()["assignee"] is None


def test_assigning_to_a_deactivated_user_is_refused(admin_api, user_api, cafe):
    admin_api.deploy(diagram("claims.bpmn"))
    [task] = admin_api.start("claims")["tasks"]
    user_api("olga")
    with cafe.db.transaction() as session:
        identity.get_user(session, "olga").active = False
    body = problem(admin_api.put(f"{TASKS}/{task['id']}/assignee", json={"user": "olga"}), 422)
    assert "'olga' is deactivated" in body["detail"], body
    assert admin_api.get(f"{TASKS}/{task['id']}").get_json()["assignee"] is None


def test_completing_an_unknown_task_is_404_and_a_closed_one_409(admin_api, cafe):
    admin_api.deploy(diagram("claims.bpmn"), diagram("timer_boundary.bpmn"))
    unknown = str(uuid.uuid4())
    for response in (admin_api.get(f"{TASKS}/{unknown}"), admin_api.post(f"{TASKS}/{unknown}/claim"),
                     complete(admin_api, unknown)):
        problem(response, 404)

    [task] = admin_api.start("claims")["tasks"]
    assert complete(admin_api, task["id"]).status_code == 200
    assert "not open" in problem(complete(admin_api, task["id"]), 409)["detail"]

    # closed without anyone touching them: with their instance, or by an interrupting timer
    terminated = admin_api.start("claims")
    [dropped] = terminated["tasks"]
    assert admin_api.delete(f"/api/v1/process-instances/{terminated['id']}").status_code == 200
    timed_out = admin_api.start("timer_boundary", {"timeout": "PT0.1S"})
    [late] = timed_out["tasks"]
    poll(cafe, admin_api, timed_out["id"], lambda i: i["status"] == "completed")
    for instance, closed in ((terminated, dropped), (timed_out, late)):
        assert "not open" in problem(complete(admin_api, closed["id"]), 409)["detail"]
        cancelled = [e for e in history(admin_api, instance["id"]) if e["kind"] == "task_cancelled"]
        assert [(e["task_id"], e["bpmn_id"]) for e in cancelled] == [(closed["id"], closed["bpmn_id"])]
    assert kinds(admin_api, terminated["id"])[-1] == "terminated"
    assert kinds(admin_api, timed_out["id"])[-1] == "ended"


def test_lane_names_are_candidate_groups(admin_api, user_api):
    admin_api.deploy(diagram("lanes.bpmn"))
    sam = user_api("sam", groups=["sales"])
    abe = user_api("abe", groups=["accounting"])
    started = admin_api.start("lanes")
    [sell] = started["tasks"]
    assert sell["lane"] == "sales" and sell["candidate_groups"] == ["sales"]
    assert task_ids(sam) == [sell["id"]] and task_ids(abe) == []
    problem(complete(abe, sell["id"]), 404)

    done = complete(sam, sell["id"]).get_json()
    [book] = done["tasks"]
    assert book["lane"] == "accounting" and book["candidate_groups"] == ["accounting"]
    assert task_ids(abe, "?candidate_group=accounting") == [book["id"]]
    assert task_ids(sam) == []
    assert complete(abe, book["id"]).get_json()["status"] == "completed"


def test_camunda_form_fields_are_validated_and_coerced(admin_api, user_api):
    admin_api.deploy(diagram("camunda_form.bpmn"))
    clara = user_api("clara", groups=["clerks"])
    [task] = admin_api.start("camunda_form")["tasks"]
    form = clara.get(f"{TASKS}/{task['id']}").get_json()["form"]
    assert form["kind"] == "camunda"
    fields = {f["id"]: f for f in form["fields"]}
    assert {k: f["type"] for k, f in fields.items()} == {
        "name": "string", "age": "long", "newsletter": "boolean", "birthday": "date", "color": "enum"}
    assert fields["name"]["required"] and fields["age"]["validation"] == {"required": None, "min": "18",
                                                                            "max": "99"}
    assert [o["id"] for o in fields["color"]["options"]] == ["red", "green"]

    body = problem(complete(clara, task["id"]), 422)
    assert body["errors"] == {"name": "is required", "age": "is required"}

    bad = {"name": "A", "age": "old", "newsletter": "maybe", "birthday": "yesterday", "color": "blue"}
    errors = problem(complete(clara, task["id"], bad), 422)["errors"]
    assert set(errors) == {"name", "age", "newsletter", "birthday", "color"}
    assert "2" in errors["name"] and "red" in errors["color"]
    assert errors["age"] == "must be a whole number" and errors["newsletter"] == "must be true or false"

    errors = problem(complete(clara, task["id"], {"name": "A" * 11, "age": 17}), 422)["errors"]
    assert set(errors) == {"name", "age"} and "18" in errors["age"]
    errors = problem(complete(clara, task["id"], {"name": "Bo", "age": "100"}), 422)["errors"]
    assert set(errors) == {"age"} and "99" in errors["age"]

    good = {"name": "Ann", "age": "70", "newsletter": "true", "birthday": "1955-03-01", "color": "red"}
    response = complete(clara, task["id"], good)
    assert response.status_code == 200, response.get_json()
    variables = response.get_json()["variables"]
    assert variables["age"] == 70 and variables["newsletter"] is True
    assert variables["birthday"] == "1955-03-01" and variables["color"] == "red"
    assert variables["senior"] is True
    assert response.get_json()["status"] == "completed"


def test_camunda_form_default_values_fill_missing_fields(admin_api, user_api):
    admin_api.deploy(diagram("camunda_form.bpmn"))
    clara = user_api("clara", groups=["clerks"])
    [task] = admin_api.start("camunda_form")["tasks"]
    response = complete(clara, task["id"], {"name": "Old Al", "age": 80})
    assert response.status_code == 200, response.get_json()
    variables = response.get_json()["variables"]
    assert variables["newsletter"] is False
    assert "senior" not in variables


def test_spiff_json_schema_form(admin_api, user_api):
    schema_file = ENGINE_DIAGRAMS / "expense-schema.json"
    admin_api.deploy(diagram("spiff_form.bpmn"), schema_file, ENGINE_DIAGRAMS / "expense-uischema.json")
    started = admin_api.start("spiff_form")
    [task] = started["tasks"]
    detail = admin_api.get(f"{TASKS}/{task['id']}").get_json()
    assert detail["form"]["kind"] == "json-schema"
    assert detail["form"]["schema_file"] == "expense-schema.json"
    assert detail["form"]["schema"] == json.loads(schema_file.read_text())

    errors = problem(complete(admin_api, task["id"], {"amount": -5}), 422)["errors"]
    assert "amount" in errors and "purpose" in errors
    errors = problem(complete(admin_api, task["id"], {"purpose": "taxi", "amount": "12"}), 422)["errors"]
    assert list(errors) == ["amount"]

    response = complete(admin_api, task["id"], {"purpose": "taxi", "amount": 12.5, "receipt": True})
    assert response.status_code == 200, response.get_json()
    done = response.get_json()
    assert done["status"] == "completed"
    assert done["variables"]["summary"] == "taxi: 12.5"
    assert get_instance(admin_api, started["id"])["variables"]["receipt"] is True

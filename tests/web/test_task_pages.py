"""The task list and task pages through the test client: sections and counts, search, forms
drawn from Camunda formData and JSON schemas, server-side errors next to their fields, claim,
complete and on to the next task."""

from __future__ import annotations

import re

from server.services import worklist
from tests.conftest import DIAGRAMS
from tests.web.conftest import text_of

WEB = DIAGRAMS / "web"


def _input(html: str, name: str) -> str:
    """The opening tag of the input, select or textarea named `name`."""
    match = re.search(rf'<(input|select|textarea)[^>]*\bname="{name}"[^>]*>', html)
    assert match, f"no input named {name}"
    return match.group(0)


def _error(html: str, name: str) -> str:
    match = re.search(rf'<p class="field-error" id="f-{name}-error"( hidden)?>([^<]*)</p>', html)
    assert match, f"no error slot for {name}"
    return "" if match.group(1) else match.group(2)


def _task_id(html: str) -> str:
    return re.search(r'data-task-id="([^"]+)"', html).group(1)


def test_camunda_form_inputs_carry_the_constraints(web, admin_api):
    admin_api.deploy(WEB / "registration.bpmn")
    admin_api.start("registration", business_key="member-7")
    carol = web("carol", groups=["clerks"])
    page = text_of(carol.get("/?section=group"))
    html = text_of(carol.get(f"/tasks/{_task_id(page)}"))
    assert re.search(r'type="text".*required minlength="2" maxlength="40"', _input(html, "name"))
    age = _input(html, "age")
    assert 'type="number"' in age and 'min="18"' in age and 'max="99"' in age and 'step="1"' in age
    assert 'type="checkbox"' in _input(html, "newsletter")
    assert 'type="date"' in _input(html, "joined") and "required" in _input(html, "joined")
    assert "<select" in _input(html, "plan") and '<option value="family">Family</option>' in html
    assert '<label for="f-age">Age' in html


def test_list_sections_counts_search_and_claim(web, admin_api):
    admin_api.deploy(WEB / "registration.bpmn")
    admin_api.start("registration", business_key="member-1")
    admin_api.start("registration", business_key="member-2")
    carol = web("carol", groups=["clerks"])
    mine = text_of(carol.get("/"))
    assert "Nothing assigned to you" in mine
    assert re.search(r'data-count="group"[^>]*>2<', mine)
    found = text_of(carol.get("/?section=group&q=member-2"))
    assert found.count("data-task-id=") == 1 and "member-2" in found
    assert "No open task matches" in text_of(carol.get("/?section=group&q=nothing-like-this"))
    assert text_of(carol.get("/?section=group&q=member%20REGISTRATION")).count("data-task-id=") == 2  # the name

    task_id = _task_id(found)
    response = carol.post(f"/tasks/{task_id}/claim")
    assert response.headers["Location"] == f"/tasks/{task_id}"
    assert "Assigned to <strong>you</strong>" in text_of(carol.get(response.headers["Location"]))
    updates = carol.get("/tasks/updates.json?section=mine").get_json()
    assert updates["counts"] == {"mine": 1, "group": 1, "completed": 0}

    dave = web("dave", groups=["clerks"])
    taken = dave.post(f"/tasks/{task_id}/claim")
    assert taken.status_code == 302 and taken.headers["Location"] == "/tasks?section=group"
    assert "Someone else took this task first." in text_of(dave.get(taken.headers["Location"]))


def test_section_counts_stop_at_the_cap(web, admin_api, monkeypatch):
    monkeypatch.setattr(worklist, "COUNT_CAP", 2)  # counted up to 3, shown as "2+"
    admin_api.deploy(WEB / "registration.bpmn")
    for n in range(4):
        admin_api.start("registration", business_key=f"member-{n}")
    carol = web("carol", groups=["clerks"])
    html = text_of(carol.get("/?section=group"))
    assert re.search(r'data-count="group"[^>]*>2\+<', html)
    assert html.count("data-task-id=") == 4  # the page still lists them all
    updates = carol.get("/tasks/updates.json?section=group").get_json()
    assert updates["counts"]["group"] == 3 and updates["count_labels"]["group"] == "2+"
    assert updates["count_labels"]["mine"] == "0"


def test_server_errors_next_to_fields_then_complete_and_next_task(web, admin_api):
    admin_api.deploy(WEB / "registration.bpmn")
    instance = admin_api.start("registration")
    carol = web("carol", groups=["clerks"])
    task_id = instance["tasks"][0]["id"]
    carol.get(f"/tasks/{task_id}")
    bad = carol.post(f"/tasks/{task_id}", {"name": "A", "age": "12", "joined": "", "plan": "gold"})
    html = text_of(bad)
    assert bad.status_code == 422
    assert _error(html, "name") == "Value must have at least 2 characters."
    assert _error(html, "age") == "Value must be at least 18."
    assert _error(html, "joined") == "This field is required."
    assert "must be one of basic, plus, family" in _error(html, "plan")
    assert _error(html, "newsletter") == ""
    assert 'value="12"' in _input(html, "age"), "the submitted values stay in the form"

    done = carol.post(f"/tasks/{task_id}", {"name": "Alice", "age": "30", "joined": "2024-05-01",
                                            "plan": "plus", "newsletter": "true"})
    assert done.status_code == 302
    following = text_of(carol.get(done.headers["Location"]))
    assert "Confirm registration" in following and "Completed “Register member”" in following
    variables = admin_api.get(f"/api/v1/process-instances/{instance['id']}").get_json()["variables"]
    assert variables["age"] == 30 and variables["newsletter"] is True
    assert variables["plan"] == "plus" and variables["joined"] == "2024-05-01"

    completed = text_of(carol.get("/?section=completed"))
    assert "Register member" in completed


def test_json_schema_form_renders_validates_and_completes(web, admin_api):
    admin_api.deploy(WEB / "enrolment.bpmn", WEB / "enrolment-schema.json", WEB / "enrolment-uischema.json")
    instance = admin_api.start("enrolment")
    root = web("root", admin=True, groups=["admins"])
    task_id = instance["tasks"][0]["id"]
    html = text_of(root.get(f"/tasks/{task_id}"))
    names = [n for n in re.findall(r'<(?:input|select|textarea)[^>]*\bname="(\w+)"', html) if n != "csrf_token"]
    assert names[:3] == ["student", "level", "email"], "ui:order first, then the schema's order"
    assert 'minlength="2"' in _input(html, "student") and "required" in _input(html, "student")
    assert 'type="email"' in _input(html, "email") and 'type="date"' in _input(html, "birthday")
    seats = _input(html, "seats")
    assert 'type="number"' in seats and 'step="1"' in seats and 'min="1"' in seats and 'max="5"' in seats
    assert 'step="any"' in _input(html, "fee") and "In euros" in html
    assert '<option value="2">Room two</option>' in html and '<option value="&#34;B2&#34;">B2</option>' in html
    assert 'type="checkbox"' in _input(html, "scholarship") and "<textarea" in _input(html, "notes")

    bad = root.post(f"/tasks/{task_id}", {"student": "X", "seats": "9", "level": ""})
    html = text_of(bad)
    assert bad.status_code == 422
    assert "too short" in _error(html, "student")
    assert "maximum of 5" in _error(html, "seats")
    assert _error(html, "level") == "This field is required."

    done = root.post(f"/tasks/{task_id}", {"student": "Xavier", "seats": "2", "level": '"B2"', "room": "2",
                                           "fee": "12.5", "scholarship": "true", "birthday": "2001-02-03"})
    assert done.status_code == 302
    assert "Send welcome pack" in text_of(root.get(done.headers["Location"]))
    variables = admin_api.get(f"/api/v1/process-instances/{instance['id']}").get_json()["variables"]
    assert {k: variables[k] for k in ("student", "seats", "level", "room", "fee", "scholarship")} == {
        "student": "Xavier", "seats": 2, "level": "B2", "room": 2, "fee": 12.5, "scholarship": True}


def test_a_completed_task_page_says_so(web, admin_api):
    admin_api.deploy(WEB / "registration.bpmn")
    instance = admin_api.start("registration")
    carol = web("carol", groups=["clerks"])
    task_id = instance["tasks"][0]["id"]
    admin_api.post(f"/api/v1/tasks/{task_id}/complete", json={"variables": {
        "name": "Al", "age": 20, "joined": "2024-01-01", "plan": "basic"}})
    response = carol.get(f"/tasks/{task_id}")
    assert response.status_code == 404 and "This task is not open" in text_of(response)


def test_a_submission_that_comes_too_late_says_who_completed_the_task(web, admin_api):
    admin_api.deploy(WEB / "registration.bpmn")
    task_id = admin_api.start("registration")["tasks"][0]["id"]
    carol = web("carol", groups=["clerks"])
    assert carol.get(f"/tasks/{task_id}").status_code == 200
    values = {"name": "Al", "age": 20, "joined": "2024-01-01", "plan": "basic"}
    assert admin_api.post(f"/api/v1/tasks/{task_id}/complete", json={"variables": values}).status_code == 200
    late = carol.post(f"/tasks/{task_id}", {k: str(v) for k, v in values.items()})
    assert late.status_code == 302 and late.headers["Location"] == "/tasks", late.get_data(as_text=True)[:300]
    assert "Not saved: admin completed this task meanwhile." in text_of(carol.get("/tasks"))
    claim = carol.post(f"/tasks/{task_id}/claim")
    assert claim.headers["Location"] == "/tasks?section=group"
    assert "This task was closed meanwhile." in text_of(carol.get(claim.headers["Location"]))


def test_an_invalid_date_comes_back_as_typed_with_its_error(web, admin_api):
    """A date input drops any value that is not a real YYYY-MM-DD date (the browser empties it), so
    a date the server refused comes back in a text input that shows what was typed."""
    admin_api.deploy(WEB / "registration.bpmn")
    task_id = admin_api.start("registration")["tasks"][0]["id"]
    carol = web("carol", groups=["clerks"])
    carol.get(f"/tasks/{task_id}")
    for typed in ("2026-13-45", "yesterday", "2026-02-30", '"><script>alert(1)</script>'):
        bad = carol.post(f"/tasks/{task_id}", {"name": "Alice", "age": "30", "joined": typed, "plan": "plus"})
        html = text_of(bad)
        assert bad.status_code == 422
        joined = _input(html, "joined")
        shown = re.search(r'value="([^"]*)"', joined).group(1)
        assert shown == typed.replace('"', "&#34;").replace("<", "&lt;").replace(">", "&gt;"), joined
        assert 'type="text"' in joined and 'aria-invalid="true"' in joined, "a date input would drop it"
        assert _error(html, "joined") == "Value must be a date (YYYY-MM-DD or ISO 8601)."
        assert _error(html, "name") == "" and "<script>alert" not in html

    # a real date stays in its date picker when another field is refused
    bad = carol.post(f"/tasks/{task_id}", {"name": "A", "age": "30", "joined": "2024-05-01", "plan": "plus"})
    assert bad.status_code == 422 and _error(bad.get_data(as_text=True), "joined") == ""
    joined = _input(text_of(bad), "joined")
    assert 'type="date"' in joined and 'value="2024-05-01"' in joined


def test_a_variable_that_is_no_date_is_shown_as_text_on_the_first_display(web, admin_api):
    """A date input empties any value that is not a real YYYY-MM-DD date: a variable holding one
    (set by a script, the API or an older form) was shown as an empty field, its value out of view."""
    admin_api.deploy(WEB / "registration.bpmn", WEB / "enrolment.bpmn", WEB / "enrolment-schema.json",
                     WEB / "enrolment-uischema.json")
    carol = web("carol", groups=["clerks"])
    root = web("root", admin=True, groups=["admins"])
    for value in ("2026-13-45", "yesterday", "2026-02-30", "15/03/2024", '"><script>alert(1)</script>'):
        escaped = value.replace('"', "&#34;").replace("<", "&lt;").replace(">", "&gt;")
        task_id = admin_api.start("registration", variables={"joined": value})["tasks"][0]["id"]
        joined = _input(text_of(carol.get(f"/tasks/{task_id}")), "joined")
        assert 'type="text"' in joined and f'value="{escaped}"' in joined and 'placeholder="YYYY-MM-DD"' in joined
        task_id = admin_api.start("enrolment", variables={"birthday": value})["tasks"][0]["id"]
        birthday = _input(text_of(root.get(f"/tasks/{task_id}")), "birthday")
        assert 'type="text"' in birthday and f'value="{escaped}"' in birthday, birthday
    # dates stay in their date picker; a date and time shows its day
    for value, shown in (("2024-05-01", "2024-05-01"), ("2024-05-01T10:30:00Z", "2024-05-01")):
        task_id = admin_api.start("registration", variables={"joined": value})["tasks"][0]["id"]
        joined = _input(text_of(carol.get(f"/tasks/{task_id}")), "joined")
        assert 'type="date"' in joined and f'value="{shown}"' in joined


def test_a_nul_in_a_form_field_is_refused_next_to_it_and_the_form_comes_back(web, admin_api):
    """The input check before every view answered a bare error page, and all that was typed was lost."""
    admin_api.deploy(WEB / "registration.bpmn")
    task_id = admin_api.start("registration")["tasks"][0]["id"]
    carol = web("carol", groups=["clerks"])
    carol.get(f"/tasks/{task_id}")
    bad = carol.post(f"/tasks/{task_id}", {"name": "Ali\x00ce", "age": "30", "joined": "2024-05-01", "plan": "plus"})
    html = text_of(bad)
    assert bad.status_code == 422
    assert _error(html, "name") == "This value holds the character U+0000 (shown as �), which cannot be stored."
    assert 'value="Ali\ufffdce"' in _input(html, "name") and 'value="30"' in _input(html, "age")
    assert 'value="2024-05-01"' in _input(html, "joined") and '<option value="plus" selected>' in html
    assert admin_api.get(f"/api/v1/tasks/{task_id}").status_code == 200, "still open"


def test_a_refused_submission_tells_only_what_the_person_may_know(web, admin_api):
    """A form sent for a task that is not the sender's said "this task was closed meanwhile" (it
    was open) or named who completed a task of an instance the sender may not see."""
    admin_api.deploy(WEB / "registration.bpmn")
    values = {"name": "Alice", "age": "30", "joined": "2024-05-01", "plan": "plus"}
    carol, dave = web("carol", groups=["clerks"]), web("dave", groups=["clerks"])
    bob = web("bob", groups=["bakers"])

    def flashed(client, response) -> str:
        assert response.status_code == 302 and response.headers["Location"] == "/tasks"
        return re.search(r"Not saved: [^<]*", text_of(client.get("/tasks"))).group(0)

    task_id = admin_api.start("registration")["tasks"][0]["id"]
    carol.get(f"/tasks/{task_id}")  # carol fills the form while dave claims the task
    assert dave.post(f"/tasks/{task_id}/claim").status_code == 302
    assert flashed(carol, carol.post(f"/tasks/{task_id}", values)) == "Not saved: dave took this task meanwhile."
    assert flashed(bob, bob.post(f"/tasks/{task_id}", values)) == "Not saved: no open task of yours has this id."
    taken = bob.post(f"/tasks/{task_id}/claim")
    assert "Someone else took" not in text_of(bob.get(taken.headers["Location"]))

    assert dave.post(f"/tasks/{task_id}", values).status_code == 302  # dave completes it
    assert flashed(carol, carol.post(f"/tasks/{task_id}", values)) == "Not saved: dave completed this task meanwhile."
    assert flashed(bob, bob.post(f"/tasks/{task_id}", values)) == "Not saved: no open task of yours has this id."

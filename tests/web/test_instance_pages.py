"""Instance and deploy pages through the test client: what the diagram is told to highlight,
waits, incidents with their retry button for admins, and the deploy page's inline problems."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from server import variables_rules
from tests.conftest import DIAGRAMS
from tests.web.conftest import text_of

WEB = DIAGRAMS / "web"


def _markers(html: str) -> dict:
    raw = re.search(r'<script type="application/json" id="diagram-markers">(.*?)</script>', html, re.S).group(1)
    return json.loads(raw)


def test_instance_page_marks_done_and_current_and_serves_the_xml(web, admin_api):
    admin_api.deploy(WEB / "registration.bpmn")
    instance = admin_api.start("registration", business_key="member-3")
    admin_api.post(f"/api/v1/tasks/{instance['tasks'][0]['id']}/complete", json={"variables": {
        "name": "Al", "age": 20, "joined": "2024-01-01", "plan": "basic"}})
    carol = web("carol", groups=["clerks"])
    html = text_of(carol.get(f"/instances/{instance['id']}"))
    markers = _markers(html)
    assert markers["current"] == ["Task_confirm"]
    assert {"Start_request", "Task_register"} <= set(markers["done"])
    assert "task completed" in html and "member-3" in html
    xml = carol.get(f"/instances/{instance['id']}/diagram.xml")
    assert xml.mimetype == "application/xml" and b'id="Task_confirm"' in xml.data
    listed = text_of(carol.get("/instances?status=waiting"))
    assert "member-3" in listed
    assert "member-3" not in text_of(carol.get("/instances?status=completed"))


def test_instances_of_others_stay_hidden(web, admin_api):
    admin_api.deploy(WEB / "registration.bpmn")
    instance = admin_api.start("registration")
    outsider = web("olga", groups=["bakers"])
    assert outsider.get(f"/instances/{instance['id']}").status_code == 404
    assert outsider.get(f"/instances/{instance['id']}/diagram.xml").status_code == 404
    assert instance["id"][:8] not in text_of(outsider.get("/instances"))


def test_waiting_timers_and_messages_are_listed(web, admin_api):
    admin_api.deploy(DIAGRAMS / "system" / "wait_timer_and_task.bpmn",
                     DIAGRAMS / "engine" / "message_catch_camunda.bpmn")
    timer = admin_api.start("wait_timer_and_task")
    message = admin_api.start("payment_camunda", business_key="order-9")
    root = web("root", admin=True, groups=["admins"])
    html = text_of(root.get(f"/instances/{timer['id']}"))
    assert re.search(r"Timer <span class=\"mono\">\w+</span>, due <time", html)
    html = text_of(root.get(f"/instances/{message['id']}"))
    assert "Message “payment_received”" in html


def test_incident_retry_is_for_admins(web, admin_api, user_api):
    admin_api.deploy(DIAGRAMS / "engine" / "script_error.bpmn")
    uma_api = user_api("uma")
    started = uma_api.start("script_error", {"total": 10, "divisor": 0})
    uma = web("uma")
    page = text_of(uma.get(f"/instances/{started['id']}"))
    assert "division by zero" in page and "Retry" not in page
    assert uma.post(f"/instances/{started['id']}/retry").status_code == 403

    root = web("root", admin=True, groups=["admins"])
    page = text_of(root.get(f"/instances/{started['id']}"))
    assert "division by zero" in page and ">Retry</button>" in page
    assert _markers(page)["failed"] == ["compute"]
    bad = root.post(f"/instances/{started['id']}/retry", {"variables": "[1, 2]"})
    assert bad.status_code == 400 and "must be a JSON object" in text_of(bad)
    done = root.post(f"/instances/{started['id']}/retry", {"variables": '{"divisor": 5}'})
    page = text_of(root.get(done.headers["Location"]))
    assert "Retried: the instance is now completed." in page and "badge-completed" in page


def _retry_textarea(html: str) -> str:
    """The text in the retry form's variables box (as sent: escaped)."""
    match = re.search(r'<textarea id="retry-variables" name="variables"[^>]*>(.*?)</textarea>', html, re.S)
    assert match, "no retry form"
    return match.group(1)


def test_a_refused_retry_keeps_the_typed_variables(web, admin_api, user_api, cafe):
    admin_api.deploy(DIAGRAMS / "engine" / "script_error.bpmn")
    started = user_api("uma").start("script_error", {"total": 10, "divisor": 0})
    url = f"/instances/{started['id']}/retry"
    root = web("root", admin=True, groups=["admins"])
    root.get(f"/instances/{started['id']}")
    cafe.settings = dataclasses.replace(cafe.settings, max_variables_bytes=200)
    cases = [  # what was typed, the status, the message
        ('{"divisor": 5,}', 400, "must be a JSON object"),  # not JSON
        ("[1, 2]", 400, "must be a JSON object"),
        ('{"divisor": "\\ud800"}', 422, "U+D800"),  # JSON that cannot be stored
        ('{"": 5}', 422, "1 to 255 characters"),  # refused by the API too
        ('{"note": "' + "x" * 300 + '"}', 413, "the limit is 200 bytes"),
        ('{"": "</textarea><script>alert(1)</script>"}', 422, "1 to 255 characters"),
    ]
    for typed, status, message in cases:
        refused = root.post(url, {"variables": typed})
        html = text_of(refused)
        assert refused.status_code == status and "Location" not in refused.headers, (typed, refused.status_code)
        assert message in html, (typed, message)
        kept = _retry_textarea(html)
        assert kept.replace("&#34;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == typed
        assert "<script>alert(1)" not in html and 'name="csrf_token"' in html
    again = root.post(url, {"variables": '{"divisor": 0}'})  # runs, fails again: stored, so post/redirect/get
    assert again.status_code == 302
    html = text_of(root.get(again.headers["Location"]))
    assert "failed again" in html
    assert "division by zero" in html and "badge-error" in html
    assert f'name="next" value="/instances/{started["id"]}"' in html, "follow buttons lead back to the page"
    history = admin_api.get(f"/api/v1/process-instances/{started['id']}/history").get_json()["items"]
    assert [e["kind"] for e in history].count("retried") == 1, "only the last one ran"

    assert root.post(url, {"variables": "{}"}, csrf=False).status_code == 400  # CSRF still checked
    done = root.post(url, {"variables": '{"divisor": 5}'})
    assert done.status_code == 302  # success: post/redirect/get
    page = text_of(root.get(done.headers["Location"]))
    assert "Retried: the instance is now completed." in page
    late = root.post(url, {"variables": '{"divisor": 7}'})  # e.g. a second tab: nothing left to retry
    assert late.status_code == 409 and "has no incident to retry" in text_of(late)
    assert 'id="retry-variables"' not in text_of(late)


def _kept(html: str) -> str:
    return _retry_textarea(html).replace("&#34;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _failed_instance(admin_api, user_api) -> str:
    admin_api.deploy(DIAGRAMS / "engine" / "script_error.bpmn")
    return user_api("uma").start("script_error", {"total": 10, "divisor": 0})["id"]


@pytest.mark.parametrize("variables", [{"": 5}, {"n" * 256: 5}, {"note": "x" * 300}, {"abcdefghi": 5}])
def test_the_retry_form_and_the_api_refuse_variables_by_the_same_rules(app, web, admin_api, user_api, cafe,
                                                                        monkeypatch, variables):
    """One validator (server/variables_rules.py): the same status and the same reason both ways,
    also after a rule changes (names of at most 8 characters here)."""
    instance_id = _failed_instance(admin_api, user_api)
    cafe.settings = dataclasses.replace(cafe.settings, max_variables_bytes=200)
    monkeypatch.setattr(variables_rules, "MAX_NAME", 8)
    with app.app_context():
        status, reason = variables_rules.problem(variables)
    api = admin_api.post(f"/api/v1/process-instances/{instance_id}/retry", json={"variables": variables})
    assert api.status_code == status and reason in json.dumps(api.get_json()), api.get_json()
    root = web("root", admin=True, groups=["admins"])
    root.get(f"/instances/{instance_id}")
    page = root.post(f"/instances/{instance_id}/retry", {"variables": json.dumps(variables)})
    assert page.status_code == status and f"The variables cannot be stored: {reason}." in text_of(page)
    assert _kept(text_of(page)) == json.dumps(variables)
    assert admin_api.get(f"/api/v1/process-instances/{instance_id}").get_json()["status"] == "error"


def test_a_nul_in_the_retry_box_is_named_and_what_was_typed_comes_back(web, admin_api, user_api):
    """The input check before every view answered a bare error page for a raw U+0000, and the
    typed variables were lost; an escaped one was refused without naming the variable."""
    instance_id = _failed_instance(admin_api, user_api)
    url = f"/instances/{instance_id}/retry"
    root = web("root", admin=True, groups=["admins"])
    root.get(f"/instances/{instance_id}")
    cases = [  # typed, what the message names, shown as
        ('{"divisor": 5, "note": "a\x00b"}', "the variable “note” holds the character U+0000 (shown as � below)",
         '{"divisor": 5, "note": "a\ufffdb"}'),
        ('{"divisor": 5, "k\x00": 1}', "the variable “k\ufffd” holds the character U+0000 (shown as � below)",
         '{"divisor": 5, "k\ufffd": 1}'),
        ('{"divisor": 5}\x00', "the variables box holds the character U+0000 (shown as � below)",
         '{"divisor": 5}\ufffd'),
        ('{"divisor": 5, "note": ["x", "\\u0000"]}', "the variable “note” holds the character U+0000, which",
         '{"divisor": 5, "note": ["x", "\\u0000"]}'),
    ]
    for typed, named, shown in cases:
        refused = root.post(url, {"variables": typed})
        html = text_of(refused)
        assert refused.status_code == 422 and "Location" not in refused.headers, typed
        assert f"The variables cannot be stored: {named}" in html, (typed, html[html.find("retry-error"):][:300])
        assert _kept(html) == shown and 'name="csrf_token"' in html
    assert admin_api.get(f"/api/v1/process-instances/{instance_id}").get_json()["status"] == "error"
    done = root.post(url, {"variables": '{"divisor": 5, "note": "ab"}'})
    assert done.status_code == 302


def test_deploy_page_shows_versions_and_problems(web):
    carol = web("carol", groups=["clerks"])
    assert carol.get("/deploy").status_code == 403
    root = web("root", admin=True, groups=["admins"])
    html = text_of(root.deploy(WEB / "registration.bpmn"))
    assert "Deployed" in html and "version 1" in html
    html = text_of(root.deploy(WEB / "registration.bpmn", expect=200))
    assert "Nothing changed" in html and "(unchanged)" in html

    bad = DIAGRAMS / "invalid" / "plain_condition_syntax.bpmn"
    html = text_of(root.deploy(bad, expect=422))
    assert "Not deployed: 1 problem" in html
    line = next(n for n, text in enumerate(bad.read_text().splitlines(), 1) if 'id="big"' in text)
    row = re.search(r'<td>plain_condition_syntax.bpmn</td>\s*<td class="mono">big</td>\s*<td class="nowrap">(\d+)</td>',
                    html)
    assert row and int(row.group(1)) == line
    assert "does not compile" in html

    root.get("/deploy")
    refused = root.post("/deploy", {"files": [], "name": "Q3 release"}, content_type="multipart/form-data")
    assert refused.status_code == 400 and "Choose at least one" in text_of(refused)
    assert 'value="Q3 release"' in text_of(refused)  # what was typed stays

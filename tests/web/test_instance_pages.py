"""Instance and deploy pages through the test client: what the diagram is told to highlight,
waits, incidents with their retry button for admins, and the deploy page's inline problems."""

from __future__ import annotations

import json
import re

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
    assert "must be a JSON object" in text_of(root.get(bad.headers["Location"]))
    done = root.post(f"/instances/{started['id']}/retry", {"variables": '{"divisor": 5}'})
    page = text_of(root.get(done.headers["Location"]))
    assert "Retried: the instance is now completed." in page and "badge-completed" in page


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

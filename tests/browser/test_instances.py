"""An admin in a real browser: the instance page draws the diagram with bpmn-js and highlights
the current task; a diagram that cannot run shows its problems on the deploy page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, no_horizontal_scroll, screenshot, sign_in
from tests.conftest import DIAGRAMS
from tests.system.server import ADMIN_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.sqlite_only]


def test_the_instance_page_highlights_the_current_task(page, live):
    instance = live.start("registration", business_key="member-2002", variables={"source": "web form"})
    first = instance["tasks"][0]["id"]
    done = live.api.post(f"{live.url}/api/v1/tasks/{first}/complete", json={"variables": {
        "name": "Bea", "age": 41, "joined": "2023-03-01", "plan": "family", "newsletter": True}})
    assert done.status_code == 200, done.text
    sign_in(page, live, "admin", ADMIN_PASSWORD, path=f"/instances/{instance['id']}")

    diagram = page.locator("#diagram")
    expect(diagram).to_have_attribute("data-ready", "true")
    current = diagram.locator('g.djs-element.pc-current[data-element-id="Task_confirm"]')
    expect(current).to_have_count(1)
    expect(diagram.locator('g.djs-element.pc-done[data-element-id="Task_register"]')).to_have_count(1)
    expect(diagram.locator('g.djs-connection.pc-done[data-element-id="Flow_2"]')).to_have_count(1)
    stroke = current.locator(".djs-visual > rect").first.evaluate("rect => getComputedStyle(rect).stroke")
    assert stroke == "rgb(26, 127, 55)", f"the current task is not drawn in green: {stroke}"
    expect(page.get_by_role("region", name="History, newest first")).to_contain_text("task completed")
    expect(page.locator("#variables-title + dl")).to_contain_text("web form")
    screenshot(page, "instance")
    assert not page.js_errors, page.js_errors


def test_a_wrong_diagram_shows_its_problems_on_the_deploy_page(page, live):
    sign_in(page, live, "admin", ADMIN_PASSWORD, path="/deploy")
    invalid = DIAGRAMS / "invalid"
    page.get_by_label("Diagrams (.bpmn, .dmn)").set_input_files(
        [str(invalid / "plain_condition_syntax.bpmn"), str(invalid / "script_import_os.bpmn")])
    page.get_by_role("button", name="Deploy").click()
    problems = page.locator("#deploy-problems")
    expect(problems).to_contain_text("Not deployed: 2 problems")
    row = problems.locator("tr", has_text="plain_condition_syntax.bpmn")
    expect(row).to_contain_text("big")
    expect(row).to_contain_text("does not compile")
    imports = problems.locator("tr", has_text="script_import_os.bpmn")
    expect(imports).to_contain_text("import statements are not allowed")
    screenshot(page, "deploy-errors")

    page.get_by_label("Diagrams (.bpmn, .dmn)").set_input_files(str(DIAGRAMS / "valid" / "plain_python_condition.bpmn"))
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_role("status")).to_contain_text("version 1")
    page.set_viewport_size({"width": 375, "height": 740})
    no_horizontal_scroll(page)
    page.set_viewport_size(DESKTOP)

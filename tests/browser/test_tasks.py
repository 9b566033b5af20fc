"""A clerk in a real browser: signs in, claims a group task, fills its form (first wrong, then
right) and lands on the next task of the instance; the list updates by itself; forms without
their CSRF token are refused; nothing scrolls sideways on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import no_horizontal_scroll, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.sqlite_only]


def test_sign_in_claim_fill_the_form_and_see_the_next_task(page, live):
    instance = live.start("registration", business_key="member-1001")
    page.goto(live.url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    page.get_by_label("User name").fill("carol")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong user name or password.")
    page.get_by_label("Password").fill("")
    screenshot(page, "sign-in")
    sign_in(page, live)

    page.get_by_role("link", name=re.compile("Group queue")).click()
    card = page.locator(".task-card", has_text="member-1001")
    expect(card).to_be_visible()
    screenshot(page, "task-list")
    card.get_by_role("button", name="Claim Register member").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Register member")
    expect(page.locator(".assignment")).to_contain_text("Assigned to you")

    # the browser's own checks, shown next to the fields: a required field left empty
    page.get_by_label("Full name").fill("Alice Example")
    page.get_by_role("button", name="Complete task").click()
    expect(page.locator("#f-age-error")).to_be_visible()
    expect(page.get_by_label("Age")).to_have_attribute("aria-invalid", "true")
    assert page.url.endswith(f"/tasks/{instance['tasks'][0]['id']}")

    # the server's checks, for a client that skips the HTML constraints: age below the minimum
    page.get_by_label("Age").evaluate("input => input.removeAttribute('min')")
    page.get_by_label("Age").fill("12")
    page.get_by_label("Send the newsletter").check()
    page.get_by_label("Member since").fill("2024-05-01")
    page.get_by_label("Plan").select_option("plus")
    page.get_by_role("button", name="Complete task").click()
    expect(page.locator("#f-age-error")).to_have_text("Value must be at least 18.")
    expect(page.locator("#form-errors")).to_contain_text("1 value needs attention")
    expect(page.get_by_label("Full name")).to_have_value("Alice Example")
    screenshot(page, "task-form")

    page.get_by_label("Age").fill("34")
    page.get_by_role("button", name="Complete task").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm registration")
    expect(page.get_by_role("status")).to_contain_text("Completed “Register member”")
    variables = live.instance(instance["id"])["variables"]
    assert {k: variables[k] for k in ("name", "age", "newsletter", "joined", "plan")} == {
        "name": "Alice Example", "age": 34, "newsletter": True, "joined": "2024-05-01", "plan": "plus"}
    assert not page.js_errors, page.js_errors


def test_new_tasks_appear_without_a_reload(page, live):
    sign_in(page, live, path="/?section=group")
    count = page.locator('[data-count="group"]')
    before = int(count.inner_text())
    page.evaluate("window.__sameDocument = true")
    live.start("registration", business_key="member-live-1")
    expect(page.locator(".task-card", has_text="member-live-1")).to_be_visible(timeout=15_000)
    expect(count).to_have_text(str(before + 1))
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"


def test_a_form_without_its_csrf_token_is_refused(page, live):
    instance = live.start("registration", business_key="member-csrf")
    task_id = instance["tasks"][0]["id"]
    sign_in(page, live, path=f"/tasks/{task_id}")
    page.locator("form[action$='/claim'] input[name=csrf_token]").evaluate("input => input.remove()")
    page.get_by_role("button", name="Claim").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Form refused")
    assert [t["assignee"] for t in live.instance(instance["id"])["tasks"]] == [None]


def test_a_refused_date_is_shown_as_typed(page, live):
    """A browser without a date picker (or a client that skips it) sends what was typed; the page
    that refuses it shows that text again, where a date input would have emptied itself."""
    instance = live.start("registration", business_key="member-date")
    sign_in(page, live, path=f"/tasks/{instance['tasks'][0]['id']}")
    page.get_by_role("button", name="Claim").click()
    expect(page.locator(".assignment")).to_contain_text("Assigned to you")
    page.get_by_label("Full name").fill("Alice Example")
    page.get_by_label("Age").fill("34")
    page.get_by_label("Plan").select_option("plus")
    page.get_by_label("Member since").evaluate("input => { input.type = 'text'; }")  # no date picker
    page.get_by_label("Member since").fill("2026-13-45")
    page.get_by_role("button", name="Complete task").click()
    expect(page.locator("#f-joined-error")).to_have_text("Value must be a date (YYYY-MM-DD or ISO 8601).")
    expect(page.get_by_label("Member since")).to_have_value("2026-13-45")
    expect(page.get_by_label("Member since")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Full name")).to_have_value("Alice Example")

    page.get_by_label("Member since").fill("2026-12-15")  # corrected in place
    page.get_by_role("button", name="Complete task").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm registration")
    assert live.instance(instance["id"])["variables"]["joined"] == "2026-12-15"
    assert not page.js_errors, page.js_errors


def test_a_variable_that_is_no_date_is_shown_to_correct(page, live):
    """A variable holding "2026-13-45" was drawn in a date input, which showed it empty."""
    instance = live.start("registration", business_key="member-odd-date", variables={"joined": "2026-13-45"})
    sign_in(page, live, path=f"/tasks/{instance['tasks'][0]['id']}")
    expect(page.get_by_label("Member since")).to_have_value("2026-13-45")
    page.get_by_role("button", name="Claim").click()
    page.get_by_label("Full name").fill("Alice Example")
    page.get_by_label("Age").fill("34")
    page.get_by_label("Plan").select_option("plus")
    page.get_by_label("Member since").fill("2026-12-13")
    page.get_by_role("button", name="Complete task").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm registration")
    assert live.instance(instance["id"])["variables"]["joined"] == "2026-12-13"
    assert not page.js_errors, page.js_errors


def test_no_sideways_scrolling_on_a_phone(phone, live):
    instance = live.start("registration", business_key="member-with-a-rather-long-business-key-0123456789")
    sign_in(phone, live, path="/?section=group")
    no_horizontal_scroll(phone)
    screenshot(phone, "phone-task-list", full_page=False)
    phone.goto(f"{live.url}/tasks/{instance['tasks'][0]['id']}")
    expect(phone.get_by_label("Plan")).to_be_visible()
    no_horizontal_scroll(phone)
    phone.get_by_role("button", name="Claim").click()
    phone.get_by_role("button", name="Complete task").click()
    expect(phone.locator("#f-name-error")).to_be_visible()
    no_horizontal_scroll(phone)
    screenshot(phone, "phone-task-form", full_page=False)
    phone.goto(f"{live.url}/instances/{instance['id']}")
    no_horizontal_scroll(phone)


def test_keyboard_only(page, live):
    instance = live.start("registration", business_key="member-keys")
    page.goto(live.url + f"/tasks/{instance['tasks'][0]['id']}")
    expect(page.get_by_label("User name")).to_be_focused()  # autofocus lands after load: typing earlier is lost
    page.keyboard.type("carol")  # the user name field has the focus on arrival
    page.keyboard.press("Tab")
    page.keyboard.type("carol-web-password")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Register member")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    for _ in range(12):  # on to the claim button, past the breadcrumb and the instance link
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Claim":
            break
    page.keyboard.press("Enter")
    expect(page.locator(".assignment")).to_contain_text("Assigned to you")

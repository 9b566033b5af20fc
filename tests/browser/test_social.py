"""The social steps in a real browser, on the founding demo: two reviewers in two browser contexts
vote and comment and both pages follow the tally without a reload until the decision moves the
instance on; a driver sends a photo from the file input (preview, progress, the server's refusal
of an SVG, the stored thumbnail), which then shows on the instance page and, live, on the feed;
the review and upload pages fit a 375-pixel phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, _page, no_horizontal_scroll, screenshot, sign_in
from tests.browser.social import Demo, password, write_note

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.sqlite_only]
REVIEW, IMAGE = "social.collectReview", "social.attachImage"


@pytest.fixture(scope="module")
def demo(live):
    return Demo(live)


def _review_ready(demo: Demo, delivery_id: str) -> tuple[dict, dict]:
    instance = demo.start(delivery_id)
    demo.attach(demo.task(instance["id"], IMAGE)["id"], delivery_id)
    return instance, demo.task(instance["id"], REVIEW)


def _loaded(img) -> None:
    expect(img).to_be_visible()
    img.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())


def test_two_reviewers_follow_the_tally_live_until_the_decision(browser, live, demo):
    instance, task = _review_ready(demo, "D-21")
    pages = {}
    for name in ("tom", "tia"):
        context, page = _page(browser, DESKTOP)
        sign_in(page, live, name, password(name), path=f"/tasks/{task['id']}")
        expect(page.get_by_role("heading", name="Please review")).to_be_visible()
        page.evaluate("window.__sameDocument = true")
        pages[name] = (context, page)
    tom, tia = pages["tom"][1], pages["tia"][1]
    try:
        expect(tom.get_by_text("Is the delivery note of D-21 complete and signed?")).to_be_visible()
        _loaded(tom.get_by_role("img", name=re.compile("Image to review 1")))
        expect(tom.locator(".review-request time[data-relative]")).to_have_text(re.compile(r"in (1 hour|\d+ minutes)"))

        tom.get_by_role("button", name=re.compile("^Approve")).click()
        for page in (tom, tia):
            expect(page.locator('[data-tally="approve"]')).to_have_text("1")
            expect(page.locator(".voters")).to_contain_text("tom: approve")
        expect(tom.get_by_role("button", name=re.compile("^Approve"))).to_have_attribute("aria-pressed", "true")

        tia.get_by_label("Your comment").fill("Signature and stamp are both there.")
        tia.get_by_role("button", name="Add comment").click()
        expect(tom.locator(".comments")).to_contain_text("Signature and stamp are both there.")
        expect(tia.get_by_label("Your comment")).to_have_value("")
        tom.get_by_role("button", name="Like").click()
        expect(tia.locator("[data-likes]")).to_have_text("1 like")
        tia.get_by_label("Your comment").fill("")
        tia.get_by_role("button", name="Add comment").click()
        expect(tia.locator("#review-comment-error")).to_have_text("Write a comment first.")
        screenshot(tom, "review")

        tia.locator("#vote-1").focus()  # keyboard: the vote buttons are real buttons
        tia.keyboard.press("Enter")
        for page in (tia, tom):
            expect(page.locator(".review-outcome")).to_contain_text("Decided: approve")
            expect(page.get_by_role("button", name=re.compile("^Reject"))).to_be_disabled()
            assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
            assert not page.js_errors, page.js_errors

        tom.get_by_role("link", name="open the instance").click()
        badge = tom.locator("h1 .badge")
        for _ in range(30):  # the outcome is published by a job: completed within moments
            if badge.inner_text() == "completed":
                break
            tom.wait_for_timeout(500)
            tom.reload()
        expect(badge).to_have_text("completed")
        expect(tom.get_by_role("region", name="History, newest first")).to_contain_text("review vote")
        assert live.instance(instance["id"])["variables"]["review"]["decision"] == "approve"
    finally:
        for context, _ in pages.values():
            context.close()


def test_a_photo_from_the_file_input_shows_on_task_instance_and_feed(page, browser, live, demo, tmp_path):
    instance = demo.start("D-22")
    task = demo.task(instance["id"], IMAGE)
    sign_in(page, live, "dan", password("dan"), path=f"/instances/{instance['id']}")
    page.get_by_role("button", name="Follow this instance").click()
    expect(page.get_by_role("status")).to_contain_text("You follow Instance")
    feed = page.context.new_page()
    feed_errors: list[str] = []
    feed.on("pageerror", lambda err: feed_errors.append(str(err)))
    feed.goto(live.url + "/feed")
    expect(feed.locator("#feed-items")).to_have_attribute("data-live", "open")
    feed.evaluate("window.__sameDocument = true")

    page.goto(f"{live.url}/tasks/{task['id']}")
    chooser = page.get_by_label(re.compile("^Photo or image"))
    expect(chooser).to_have_attribute("accept", "image/*")
    expect(chooser).to_have_attribute("capture", "environment")
    svg = tmp_path / "note.svg"
    svg.write_text("<svg xmlns='http://www.w3.org/2000/svg' width='9' height='9'><rect width='9' height='9'/></svg>")
    chooser.set_input_files(str(svg))
    page.get_by_role("button", name="Send image").click()
    expect(page.locator("#upload-error")).to_contain_text("The image was not accepted: the file was refused")
    expect(chooser).to_have_attribute("aria-invalid", "true")

    chooser.set_input_files(str(write_note(tmp_path, "D-22")))
    _loaded(page.get_by_role("img", name="Preview of the chosen image"))
    expect(page.locator("#upload-preview-caption")).to_contain_text("not sent yet")
    expect(page.locator("#upload-error")).to_be_hidden()
    screenshot(page, "upload")
    page.get_by_role("button", name="Send image").click()
    thumbnail = page.get_by_role("img", name=re.compile("The stored image"))
    _loaded(thumbnail)
    assert page.locator("#upload-bar").evaluate("bar => bar.value") == 100
    expect(page.locator("#upload-done")).to_contain_text("The image was sent")
    screenshot(page, "upload-sent")
    media_id = live.instance(instance["id"])["variables"]["image"]["media_id"]
    assert media_id in thumbnail.get_attribute("src") and "thumbnail=true" in thumbnail.get_attribute("src")

    # the feed shows the new item with its thumbnail, live: no reload
    item = feed.locator(".feed-item", has_text="Signed delivery note of D-22").first
    _loaded(item.get_by_role("img", name=re.compile("Image 1")))
    assert feed.evaluate("window.__sameDocument") is True, "the feed was reloaded"
    item.get_by_label("Comment on this item").fill("Photo looks sharp.")
    item.get_by_role("button", name="Comment").click()
    item = feed.locator(".feed-item", has_text="Signed delivery note of D-22").first
    expect(item.locator(".comments")).to_contain_text("dan")
    item.get_by_role("button", name=re.compile("^Like")).click()
    item = feed.locator(".feed-item", has_text="Signed delivery note of D-22").first
    expect(item.get_by_role("button", name=re.compile("^Unlike"))).to_be_focused()
    expect(item.locator(".likes")).to_have_text("1 like, yours included")
    expect(feed.locator('link[rel="alternate"][type="application/atom+xml"]').first).to_have_attribute(
        "href", re.compile(r"^/feeds/.+\.atom$"))
    screenshot(feed, "feed")

    page.goto(f"{live.url}/instances/{instance['id']}")
    media = page.get_by_role("region", name="Media")
    _loaded(media.get_by_role("img", name=re.compile("Image 1")))
    screenshot(page, "instance-media", full_page=False)
    assert not page.js_errors, page.js_errors
    assert not feed_errors, feed_errors


def test_review_and_upload_pages_fit_a_phone(phone, browser, live, demo, tmp_path):
    instance, review = _review_ready(demo, "D-23-with-a-rather-long-delivery-identifier")
    sign_in(phone, live, "tom", password("tom"), path=f"/tasks/{review['id']}")
    expect(phone.get_by_role("heading", name="Please review")).to_be_visible()
    no_horizontal_scroll(phone)
    screenshot(phone, "phone-review", full_page=False)

    context, driver = _page(browser, PHONE)
    try:
        other = demo.start("D-24")
        sign_in(driver, live, "dan", password("dan"), path=f"/tasks/{demo.task(other['id'], IMAGE)['id']}")
        driver.get_by_label(re.compile("^Photo or image")).set_input_files(str(write_note(tmp_path, "D-24")))
        _loaded(driver.get_by_role("img", name="Preview of the chosen image"))
        no_horizontal_scroll(driver)
        driver.goto(live.url + "/feed")
        no_horizontal_scroll(driver)
    finally:
        context.close()

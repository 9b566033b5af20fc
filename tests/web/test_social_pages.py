"""The social pages through the test client, on the founding demo (examples/delivery-review.bpmn):
the upload step, images and who may see them, the review step with its votes, comments, likes and
live state, and CSRF on every new form."""

from __future__ import annotations

import io
import json
import re

import pytest

from server.services import identity
from server.social import feed
from server.social.feed_events import broker_for
from tests.conftest import run_jobs
from tests.social.images import has_gps, jpeg_with_gps
from tests.social.test_demo_feed import start_demo
from tests.web.conftest import text_of

SCRIPT = {"X-Requested-With": "fetch", "Accept": "application/json"}
SVG = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"


@pytest.fixture
def demo(admin_api, web, cafe):
    """The demo waiting for its photo, with a driver, two reviewers and an outsider signed in."""
    people = {"dan": web("dan", groups=["drivers"]), "tom": web("tom", groups=["team"]),
              "tia": web("tia", groups=["team"]), "otto": web("otto")}
    instance = start_demo(admin_api)
    run_jobs(cafe)
    [task] = admin_api.get(f"/api/v1/tasks?instance_id={instance['id']}").get_json()["items"]
    assert task["type"] == "social.attachImage"
    return {"instance": instance, "photo_task": task["id"], **people}


def _upload(client, task_id, data=None, name="note.jpg", csrf=True):
    client.get(f"/tasks/{task_id}")
    return client.post(f"/tasks/{task_id}/image", {"file": (io.BytesIO(data or jpeg_with_gps()), name)},
                       csrf=csrf, content_type="multipart/form-data", headers=SCRIPT)


def _review_task(admin_api, cafe, instance_id):
    run_jobs(cafe)
    [task] = admin_api.get(f"/api/v1/tasks?instance_id={instance_id}").get_json()["items"]
    assert task["type"] == "social.collectReview"
    return task["id"]


def test_the_upload_step_page_and_who_may_upload(demo, admin_api):
    dan, tom, otto, task_id = demo["dan"], demo["tom"], demo["otto"], demo["photo_task"]
    html = text_of(dan.get(f"/tasks/{task_id}"))
    assert re.search(r'<input type="file" id="upload-file" name="file" accept="image/\*" capture="environment"', html)
    assert '<label for="upload-file">' in html and 'id="upload-preview"' in html and "<progress" in html
    assert "Claim</button>" not in html, "a social step is not claimed"
    assert "Signed delivery note of D-17" in html

    assert _upload(otto, task_id).status_code == 404  # not asked, and cannot see the instance
    assert _upload(tom, task_id).status_code == 404
    refused = _upload(dan, task_id, csrf=False)
    assert refused.status_code == 400  # the CSRF check, before anything is read
    svg = _upload(dan, task_id, SVG, "x.svg")
    assert svg.status_code == 422
    assert svg.get_json()["error"].startswith("The image was not accepted: the file was refused")

    sent = _upload(dan, task_id)
    assert sent.status_code == 201, sent.get_data(as_text=True)
    answer = sent.get_json()
    assert answer["thumbnail_url"] == f"/media/{answer['media_id']}?thumbnail=true"
    assert answer["instance_url"] == f"/instances/{demo['instance']['id']}"
    assert admin_api.get(f"/api/v1/process-instances/{demo['instance']['id']}").get_json()[
        "variables"]["image"]["media_id"] == answer["media_id"]
    again = _upload(dan, task_id)
    assert again.status_code == 409  # the step has its image (a task id that never was one: 404)
    assert "has its image already" in again.get_json()["error"]


def test_an_upload_without_javascript_redirects_with_a_message(demo):
    dan, task_id = demo["dan"], demo["photo_task"]
    dan.get(f"/tasks/{task_id}")
    refused = dan.post(f"/tasks/{task_id}/image", {"file": (io.BytesIO(SVG), "x.svg")},
                       content_type="multipart/form-data", follow_redirects=True)
    assert "The image was not accepted: the file was refused" in text_of(refused)
    sent = dan.post(f"/tasks/{task_id}/image", {"file": (io.BytesIO(jpeg_with_gps()), "n.jpg")},
                    content_type="multipart/form-data")
    assert sent.status_code == 302 and sent.headers["Location"] == f"/instances/{demo['instance']['id']}"


def test_images_are_served_to_those_who_may_see_the_instance(demo, app):
    dan, tom, otto = demo["dan"], demo["tom"], demo["otto"]
    media_id = _upload(dan, demo["photo_task"]).get_json()["media_id"]
    full = dan.client.get(f"/media/{media_id}")  # binary: the raw client, not the page reader
    assert full.status_code == 200 and full.mimetype == "image/jpeg" and not has_gps(full.data)
    thumb = tom.client.get(f"/media/{media_id}?thumbnail=true")  # tom has the review task now
    assert thumb.status_code == 200 and thumb.mimetype.startswith("image/") and len(thumb.data) < len(full.data) * 4
    assert otto.get(f"/media/{media_id}").status_code == 404
    assert otto.get(f"/media/{'0' * 64}?thumbnail=true").status_code == 404
    signed_out = app.test_client().get(f"/media/{media_id}")
    assert signed_out.status_code == 302 and "/login" in signed_out.headers["Location"]
    page = text_of(dan.get(f"/instances/{demo['instance']['id']}"))
    assert f'src="/media/{media_id}?thumbnail=true"' in page and f'href="/media/{media_id}"' in page
    assert 'id="media-title">Media<' in page


def test_voting_commenting_and_liking_on_the_review_page(demo, admin_api, cafe):
    dan, tom, tia = demo["dan"], demo["tom"], demo["tia"]
    media_id = _upload(dan, demo["photo_task"]).get_json()["media_id"]
    task_id = _review_task(admin_api, cafe, demo["instance"]["id"])
    queue = text_of(tom.get("/?section=group"))
    assert "Review: vote and comment, no claim needed" in queue and f"/tasks/{task_id}/claim" not in queue
    assert re.search(r"<span>For ([^<]*)</span>", queue.split(task_id, 1)[1]).group(1) == "team"  # not "team, team"
    html = text_of(tom.get(f"/tasks/{task_id}"))
    assert "Is the delivery note of D-17 complete and signed?" in html
    assert f'src="/media/{media_id}?thumbnail=true"' in html
    assert re.search(r'<time datetime="[^"]+" data-relative>in 1 hour</time>', html)
    review_id = re.search(r'/reviews/([0-9a-f-]+)/live\.json', html).group(1)
    vote = r'<button type="submit" name="option" value="approve" id="vote-1"\s+class="vote" aria-pressed="false"'
    assert re.search(vote + ">", html), "reviewers get enabled vote buttons"

    assert tom.post(f"/reviews/{review_id}/votes", {"option": "approve"}, csrf=False).status_code == 400
    live = tom.get(f"/reviews/{review_id}/live.json").get_json()
    assert live["counts"] == {"approve": 0, "reject": 0}

    voted = tom.post(f"/reviews/{review_id}/votes", {"option": "approve"}, headers=SCRIPT)
    assert voted.status_code == 200 and voted.get_json()["counts"] == {"approve": 1, "reject": 0}
    assert "<strong>tom</strong>: approve" in voted.get_json()["html"]
    unchanged = tom.get(f"/reviews/{review_id}/live.json?digest={voted.get_json()['digest']}").get_json()
    assert "html" not in unchanged

    # the driver may see the instance (and so the review) but is not a reviewer
    page = text_of(dan.get(f"/reviews/{review_id}"))
    assert re.search(vote + ' disabled aria-describedby="vote-why">', page)
    assert "Only the reviewers can vote: tom, tia." in page
    refused = dan.post(f"/reviews/{review_id}/votes", {"option": "approve"}, headers=SCRIPT)
    assert refused.status_code == 403 and "not a reviewer" in refused.get_json()["error"]
    assert dan.post(f"/reviews/{review_id}/comments", {"text": "signed by the customer"}).status_code == 302
    assert demo["otto"].get(f"/reviews/{review_id}/live.json").status_code == 404

    tia.get(f"/tasks/{task_id}")
    assert tia.post(f"/reviews/{review_id}/likes", headers=SCRIPT).get_json()["html"].count("1 like") == 1
    assert tia.post(f"/reviews/{review_id}/comments", {"text": "   "}, headers=SCRIPT).status_code == 400
    decided = tia.post(f"/reviews/{review_id}/votes", {"option": "approve"}, headers=SCRIPT).get_json()
    assert decided["status"] == "decided" and "Decided: approve" in decided["html"]
    assert f'href="/instances/{demo["instance"]["id"]}"' in decided["html"]
    assert "signed by the customer" in decided["html"]
    # the task is gone; its address leads to the decided review
    after = tom.get(f"/tasks/{task_id}")
    assert after.status_code == 302 and after.headers["Location"] == f"/reviews/{review_id}"
    late = tom.post(f"/reviews/{review_id}/votes", {"option": "reject"}, headers=SCRIPT)
    assert late.status_code == 409


def test_the_feed_follows_comments_likes_and_the_item_page(demo, admin_api, cafe, app, monkeypatch):
    dan = demo["dan"]
    instance_id = demo["instance"]["id"]
    stream = f"instance:{instance_id}"
    dan.get(f"/instances/{instance_id}")
    assert dan.post("/follows", {"stream": stream}, csrf=False).status_code == 400
    assert dan.post("/follows", {"stream": stream, "next": f"/instances/{instance_id}"}).headers[
        "Location"] == f"/instances/{instance_id}"
    assert demo["otto"].post("/follows", {"stream": stream}, headers=SCRIPT).status_code == 404
    media_id = _upload(dan, demo["photo_task"]).get_json()["media_id"]

    page = text_of(dan.get("/feed"))
    assert f'<link rel="alternate" type="application/atom+xml" href="/feeds/{stream}.atom"' in page
    assert f'href="/feeds/{stream}.atom"' in page and "Atom feed" in page
    assert f'src="/media/{media_id}?thumbnail=true"' in page and "Signed delivery note of D-17" in page
    item_id = int(re.search(r'data-item-id="(\d+)"[^>]*>\s*<header>\s*<h2[^>]*><a[^>]*>Image attached', page).group(1))

    assert dan.post(f"/feed/items/{item_id}/comments", {"text": "note attached"}, csrf=False).status_code == 400
    commented = dan.post(f"/feed/items/{item_id}/comments", {"text": "note attached"}, headers=SCRIPT)
    assert commented.status_code == 200 and "note attached" in commented.get_json()["html"]
    liked = dan.post(f"/feed/items/{item_id}/like", headers=SCRIPT).get_json()["html"]
    assert ">Unlike<" in liked and "1 like, yours included" in liked
    unliked = dan.post(f"/feed/items/{item_id}/unlike", headers=SCRIPT).get_json()["html"]
    assert ">Like<" in unliked and "0 likes" in unliked

    permalink = text_of(dan.get(f"/feed/items/{item_id}"))
    assert "note attached" in permalink and f'src="/media/{media_id}?thumbnail=true"' in permalink
    partial = text_of(dan.get(f"/feed/items/{item_id}?partial=1"))
    assert partial.lstrip().startswith("{#") is False and "<html" not in partial and f'id="item-{item_id}"' in partial
    assert demo["otto"].get(f"/feed/items/{item_id}").status_code == 404

    process = text_of(dan.get("/processes/delivery_review"))
    assert "Delivery with signed note" in process and 'aria-label="Follow Process delivery_review"' in process
    assert dan.post("/follows/remove", {"stream": stream}).status_code == 302
    assert 'aria-label="Follow this instance"' in text_of(dan.get(f"/instances/{instance_id}"))

    # the live feed: server-sent events from a session-authenticated route, resuming after an id
    monkeypatch.setenv("PROCESSCAFE_FEED_LIFETIME", "0.3")
    dan.post("/follows", {"stream": stream})
    events = dan.get(f"/feed/events?after={item_id - 1}")
    assert events.status_code == 200 and events.mimetype == "text/event-stream"
    body = events.get_data(as_text=True)
    events.close()  # ends the subscription, as a server does when the client goes
    assert broker_for(cafe.db).wait_idle()
    first = json.loads(re.search(r"event: item\ndata: (.*)\n", body).group(1))
    assert first["id"] == item_id and first["media_ids"] == [media_id]
    assert app.test_client().get("/feed/events").status_code == 302


def test_following_an_unknown_channel_or_user_from_a_page_is_404_and_stores_nothing(web, cafe):
    ada = web("ada", admin=True)  # an admin may read every user stream: only the name is unknown
    ada.get("/feed")
    for stream, named in (("channel:nowhere", "no channel 'nowhere'"), ("user:nobody", "no user 'nobody'")):
        refused = ada.post("/follows", {"stream": stream}, headers=SCRIPT)
        assert refused.status_code == 404 and named in refused.get_json()["error"], refused.get_json()
    assert ada.post("/follows", {"stream": "user:nobody"}).status_code == 302  # a plain form: back, with the message
    assert "Not followed: no user &#39;nobody&#39;" in text_of(ada.get("/feed"))
    with cafe.db.read() as session:
        assert feed.follows(session, identity.principal_of(identity.get_user(session, "ada"))) == []

"""The same photo sent to two instances through the web upload step: the answer leads to the
instance the step belongs to, both instances' Media sections show it, and the people of either
instance get the image from /media/<id> (the image's row is one, content-addressed)."""

from __future__ import annotations

import io

from tests.conftest import ROOT, run_jobs
from tests.social.images import jpeg_with_gps
from tests.web.conftest import text_of

DEMO = ROOT / "examples" / "delivery-review.bpmn"
SCRIPT = {"X-Requested-With": "fetch", "Accept": "application/json"}


def _photo_task(admin_api, cafe, instance_id: str) -> str:
    run_jobs(cafe)
    [task] = admin_api.get(f"/api/v1/tasks?instance_id={instance_id}").get_json()["items"]
    assert task["type"] == "social.attachImage"
    return task["id"]


def _upload(client, task_id: str, data: bytes):
    client.get(f"/tasks/{task_id}")
    return client.post(f"/tasks/{task_id}/image", {"file": (io.BytesIO(data), "note.jpg")},
                       content_type="multipart/form-data", headers=SCRIPT)


def test_a_photo_sent_to_two_instances_shows_in_both(admin_api, user_api, web, cafe):
    dan, tom, ann, otto = web("dan", groups=["drivers"]), web("tom"), web("ann"), web("otto")
    admin_api.deploy(DEMO)
    variables = {"customer": "ACME", "channels": "feed", "reviewers": "team"}
    first = user_api("tom").start("delivery_review", {**variables, "delivery_id": "D-1"})["id"]
    second = user_api("ann").start("delivery_review", {**variables, "delivery_id": "D-2"})["id"]
    photo = jpeg_with_gps()

    media_id = _upload(dan, _photo_task(admin_api, cafe, first), photo).get_json()["media_id"]
    sent = _upload(dan, _photo_task(admin_api, cafe, second), photo)
    assert sent.status_code == 201, text_of(sent)
    answer = sent.get_json()
    assert answer["media_id"] == media_id
    assert answer["instance_url"] == f"/instances/{second}"  # not the first instance's page

    for client, instance_id in ((ann, second), (tom, first)):
        page = text_of(client.get(f"/instances/{instance_id}"))
        assert f'src="/media/{media_id}?thumbnail=true"' in page
        assert client.client.get(f"/media/{media_id}").status_code == 200
        assert client.client.get(f"/media/{media_id}?thumbnail=true").status_code == 200
    assert otto.client.get(f"/media/{media_id}").status_code == 404

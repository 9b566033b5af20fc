"""Images are content-addressed: the same bytes sent twice are one Media row. Who may read an image
and which instances list it follow every upload and attachment of those bytes (`media_instances`,
`media_uploaders`), not only the first. Also: a second image for a finished step is a 409, and a
status post naming a media id that does not exist fails its step instead of going out without it."""

import io
import threading

from sqlalchemy import select

from server.models import FeedItem, MediaUploader
from server.social import images
from tests.conftest import DIAGRAMS, ROOT, run_jobs
from tests.social.images import jpeg_with_gps

DEMO = ROOT / "examples" / "delivery-review.bpmn"
PUBLISH = DIAGRAMS / "social" / "publish_with_media.bpmn"
NO_SUCH_MEDIA = "0" * 64


def start_delivery(admin_api, starter, delivery_id):
    """The demo started by `starter` (a plain user), waiting for the drivers' photo."""
    admin_api.deploy(DEMO)
    return starter.start("delivery_review", {"delivery_id": delivery_id, "customer": "ACME", "channels": "feed",
                                             "reviewers": "team"})


def photo_task(admin_api, cafe, instance) -> str:
    run_jobs(cafe)
    [task] = admin_api.get(f"/api/v1/tasks?instance_id={instance['id']}").get_json()["items"]
    assert task["type"] == "social.attachImage"
    return task["id"]


def send(client, task_id, data):
    return client.post(f"/api/v1/tasks/{task_id}/image", data={"file": (io.BytesIO(data), "note.jpg")},
                       content_type="multipart/form-data")


def readable(client, media_id) -> tuple[int, int]:
    return (client.get(f"/api/v1/media/{media_id}").status_code,
            client.get(f"/api/v1/media/{media_id}?thumbnail=true").status_code)


def listed(cafe, instance) -> list[str]:
    with cafe.db.read() as session:
        return [row.id for row in images.instance_media(session, instance["id"])]


def test_an_image_uploaded_before_is_readable_where_it_is_attached(admin_api, user_api, cafe):
    """Case A: eve's earlier upload of the same bytes must not keep tom's instance from its photo."""
    eve, tom, dan, otto = user_api("eve"), user_api("tom"), user_api("dan", groups=["drivers"]), user_api("otto")
    data = jpeg_with_gps()
    uploaded = eve.post("/api/v1/media", data={"file": (io.BytesIO(data), "mine.jpg")},
                        content_type="multipart/form-data")
    assert uploaded.status_code == 201, uploaded.get_json()
    media_id = uploaded.get_json()["media_id"]
    instance = start_delivery(admin_api, tom, "D-1")
    assert readable(tom, media_id) == (404, 404)  # a plain upload is its uploader's

    sent = send(dan, photo_task(admin_api, cafe, instance), data)
    assert sent.status_code == 201, sent.get_json()
    assert sent.get_json()["media_id"] == media_id

    assert readable(tom, media_id) == (200, 200)
    assert readable(dan, media_id) == (200, 200)
    assert readable(eve, media_id) == (200, 200)  # still hers
    assert readable(otto, media_id) == (404, 404)
    assert listed(cafe, instance) == [media_id]


def test_the_same_image_attached_in_two_instances_is_read_and_listed_in_both(admin_api, user_api, cafe):
    """Case B: the second instance's people read the image its `image` variable names."""
    tom, ann, otto = user_api("tom"), user_api("ann"), user_api("otto")
    dan = user_api("dan", groups=["drivers"])
    first, second = start_delivery(admin_api, tom, "D-1"), start_delivery(admin_api, ann, "D-2")
    data = jpeg_with_gps()
    media_id = send(dan, photo_task(admin_api, cafe, first), data).get_json()["media_id"]
    again = send(dan, photo_task(admin_api, cafe, second), data)
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["media_id"] == media_id

    state = admin_api.get(f"/api/v1/process-instances/{second['id']}").get_json()
    assert state["variables"]["image"]["media_id"] == media_id
    assert readable(ann, media_id) == (200, 200)
    assert readable(tom, media_id) == (200, 200)
    assert readable(otto, media_id) == (404, 404)
    assert listed(cafe, first) == [media_id]
    assert listed(cafe, second) == [media_id]


def test_a_second_image_for_a_finished_step_is_a_conflict(admin_api, user_api, cafe):
    tom, dan, otto = user_api("tom"), user_api("dan", groups=["drivers"]), user_api("otto")
    task_id = photo_task(admin_api, cafe, start_delivery(admin_api, tom, "D-1"))
    assert send(dan, task_id, jpeg_with_gps()).status_code == 201

    again = send(dan, task_id, jpeg_with_gps(32, 24))
    assert again.status_code == 409, again.get_json()
    assert "already" in again.get_json()["detail"]
    assert send(otto, task_id, jpeg_with_gps()).status_code == 404  # may not see the instance: not told
    assert send(dan, "no-such-task", jpeg_with_gps()).status_code == 404


def test_a_status_post_with_a_media_id_that_does_not_exist_fails_the_step(admin_api, cafe):
    admin_api.deploy(PUBLISH)
    media_id = admin_api.post("/api/v1/media", data={"file": (io.BytesIO(jpeg_with_gps()), "a.jpg")},
                              content_type="multipart/form-data").get_json()["media_id"]

    failing = admin_api.start("publish_with_media", {"channels": "feed", "n": 1, "media": [media_id, NO_SUCH_MEDIA]})
    run_jobs(cafe)
    state = admin_api.get(f"/api/v1/process-instances/{failing['id']}").get_json()
    assert state["status"] == "error", state
    [incident] = state["incidents"]
    assert incident["bpmn_id"] == "publish" and NO_SUCH_MEDIA in incident["message"]
    assert media_id not in incident["message"]

    working = admin_api.start("publish_with_media", {"channels": "feed", "n": 2, "media": [media_id]})
    run_jobs(cafe)
    assert admin_api.get(f"/api/v1/process-instances/{working['id']}").get_json()["status"] == "completed"
    with cafe.db.read() as session:
        posted = session.scalars(select(FeedItem.media_ids).where(FeedItem.kind == "status")).all()
    assert posted == [[media_id], [media_id]]  # instance and definition stream of the second instance only


def test_the_same_new_image_sent_by_several_people_at_once_is_stored_once(user_api, cafe):
    """Both found no row and both inserted it: the second INSERT was a 500 on PostgreSQL."""
    people = [user_api(f"sender{i}") for i in range(6)]
    data = jpeg_with_gps()
    barrier = threading.Barrier(len(people))
    answers: list[int] = []

    def upload(client) -> None:
        barrier.wait()
        answers.append(client.post("/api/v1/media", data={"file": (io.BytesIO(data), "same.jpg")},
                                   content_type="multipart/form-data").status_code)

    threads = [threading.Thread(target=upload, args=(client,)) for client in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [201] * len(people)
    with cafe.db.read() as session:
        assert len(session.scalars(select(MediaUploader)).all()) == len(people)

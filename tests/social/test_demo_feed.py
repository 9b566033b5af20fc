"""The founding scenario on the built-in feed, through the REST API: publish, attach a photo of the
signed delivery note, the team reviews it (two reviewers, majority), the outcome is published."""

import io

from sqlalchemy import update

from server.models import Job
from tests.conftest import ROOT, run_jobs
from tests.social.images import has_gps, jpeg_with_gps

DEMO = ROOT / "examples" / "delivery-review.bpmn"


def start_demo(admin_api, channels="feed", reviewers="team"):
    admin_api.deploy(DEMO)
    return admin_api.start("delivery_review", {"delivery_id": "D-17", "customer": "ACME", "channels": channels,
                                               "reviewers": reviewers})


def test_demo_runs_end_to_end_on_the_feed(admin_api, user_api, cafe):
    driver = user_api("dan", groups=["drivers"])
    tom = user_api("tom", groups=["team"])
    tia = user_api("tia", groups=["team"])
    outsider = user_api("otto")
    instance = start_demo(admin_api)
    assert instance["status"] == "waiting"
    run_jobs(cafe)

    state = admin_api.get(f"/api/v1/process-instances/{instance['id']}").get_json()
    assert state["variables"]["status_post"]["feed"]["id"]
    [photo_task] = driver.get("/api/v1/tasks").get_json()["items"]
    assert photo_task["type"] == "social.attachImage" and photo_task["bpmn_id"] == "Task_photo"
    assert outsider.get("/api/v1/tasks").get_json()["items"] == []

    upload = {"file": (io.BytesIO(jpeg_with_gps()), "note.jpg")}
    refused = outsider.post(f"/api/v1/tasks/{photo_task['id']}/image", data=upload, content_type="multipart/form-data")
    assert refused.status_code in (403, 404)
    not_an_image = driver.post(f"/api/v1/tasks/{photo_task['id']}/image",
                               data={"file": (io.BytesIO(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), "x.svg")},
                               content_type="multipart/form-data")
    assert not_an_image.status_code == 422
    sent = driver.post(f"/api/v1/tasks/{photo_task['id']}/image",
                       data={"file": (io.BytesIO(jpeg_with_gps()), "note.jpg")}, content_type="multipart/form-data")
    assert sent.status_code == 201, sent.get_json()
    image = sent.get_json()
    served = driver.get(f"/api/v1/media/{image['media_id']}")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert not has_gps(served.data)
    assert outsider.get(f"/api/v1/media/{image['media_id']}").status_code == 404

    run_jobs(cafe)
    [review_task] = tom.get("/api/v1/tasks").get_json()["items"]
    assert review_task["type"] == "social.collectReview"
    review = tom.get(f"/api/v1/tasks/{review_task['id']}/review").get_json()
    assert review["status"] == "open" and review["reviewers"] == ["tom", "tia"]
    assert review["media_ids"] == [image["media_id"]]
    assert outsider.post(f"/api/v1/reviews/{review['id']}/votes", json={"option": "approve"}).status_code in (403, 404)
    assert tom.post(f"/api/v1/reviews/{review['id']}/votes", json={"option": "maybe"}).status_code == 400
    assert tom.post(f"/api/v1/reviews/{review['id']}/votes", json={"option": "reject"}).status_code == 201
    assert tom.post(f"/api/v1/reviews/{review['id']}/comments", json={"text": "looks fine now"}).status_code == 201
    assert tom.post(f"/api/v1/reviews/{review['id']}/votes", json={"option": "approve"}).status_code == 201
    tally = tom.get(f"/api/v1/reviews/{review['id']}").get_json()
    assert tally["counts"] == {"approve": 1, "reject": 0} and tally["status"] == "open"
    assert tia.post(f"/api/v1/reviews/{review['id']}/likes").status_code == 201
    assert tia.post(f"/api/v1/reviews/{review['id']}/votes", json={"option": "approve"}).status_code == 201
    assert tom.get(f"/api/v1/reviews/{review['id']}").get_json()["decision"] == "approve"

    run_jobs(cafe)
    final = admin_api.get(f"/api/v1/process-instances/{instance['id']}").get_json()
    assert final["status"] == "completed"
    outcome = final["variables"]["review"]
    assert outcome["decision"] == "approve" and outcome["likes"] == 1
    assert [c["text"] for c in outcome["comments"]] == ["looks fine now"]
    assert final["variables"]["image"]["media_id"] == image["media_id"]
    stream = admin_api.get(f"/api/v1/streams/instance:{instance['id']}").get_json()["items"]
    texts = [item["text"] for item in stream]
    assert any("is on its way" in t for t in texts)
    assert any("the team approved" in t for t in texts)
    assert [i["kind"] for i in stream].count("review") == 1


def test_review_times_out_without_decision(admin_api, user_api, cafe):
    driver = user_api("dan", groups=["drivers"])
    user_api("tom", groups=["team"])
    user_api("tia", groups=["team"])
    instance = start_demo(admin_api)
    run_jobs(cafe)
    [photo_task] = driver.get("/api/v1/tasks").get_json()["items"]
    driver.post(f"/api/v1/tasks/{photo_task['id']}/image", data={"file": (io.BytesIO(jpeg_with_gps()), "n.jpg")},
                content_type="multipart/form-data")
    run_jobs(cafe)
    with cafe.db.transaction() as session:
        session.execute(update(Job).where(Job.kind == "review.timeout").values(due_at=Job.created_at))
    run_jobs(cafe)
    final = admin_api.get(f"/api/v1/process-instances/{instance['id']}").get_json()
    assert final["status"] == "completed"
    assert final["variables"]["review"]["decision"] is None
    assert any(e["bpmn_id"] == "Task_attention" for e in
               admin_api.get(f"/api/v1/process-instances/{instance['id']}/history").get_json()["items"])


def test_social_steps_are_not_claimed(admin_api, user_api, cafe):
    driver = user_api("dan", groups=["drivers"])
    start_demo(admin_api)
    run_jobs(cafe)
    [photo_task] = driver.get("/api/v1/tasks").get_json()["items"]
    response = driver.post(f"/api/v1/tasks/{photo_task['id']}/claim")
    assert response.status_code == 409
    assert "not claimed" in response.get_json()["detail"]

"""A review whose step ends without its decision is closed: it failed (Mastodon refused the post),
the instance was terminated, or an interrupting boundary timer took the process on. The review then
says `cancelled` and why, and votes, comments and likes are refused with 409 naming the reason."""

import time

from sqlalchemy import select

from server.models import Job, SocialPost
from tests.conftest import DIAGRAMS, run_jobs
from tests.social.test_demo_networks import configure_channels, mastodon, x  # noqa: F401 - fixtures

DIAGRAM = DIAGRAMS / "social" / "review_closing.bpmn"


def open_review(admin_api, reviewer, channels: str, wait: str = "PT1H") -> tuple[dict, dict]:
    """Start the review diagram (its boundary timer fires after `wait`); the instance and its
    review as the reviewer sees it."""
    admin_api.deploy(DIAGRAM)
    instance = admin_api.start("review_closing", {"order": 7, "channels": channels, "reviewers": reviewer.name,
                                                  "wait": wait})
    [task] = reviewer.get("/api/v1/tasks").get_json()["items"]
    review = reviewer.get(f"/api/v1/tasks/{task['id']}/review").get_json()
    assert review["status"] == "open" and review["may_vote"] is True
    return instance, review


def reviewer_api(user_api):
    tom = user_api("tom")
    tom.name = "tom"
    return tom


def assert_closed(tom, review_id: str, why: str) -> None:
    """Shown as cancelled with the reason; every kind of signal is refused naming it."""
    shown = tom.get(f"/api/v1/reviews/{review_id}").get_json()
    assert shown["status"] == "cancelled" and shown["may_vote"] is False and shown["decision"] is None
    assert why in shown["reason"]
    for path, body in (("votes", {"option": "approve"}), ("comments", {"text": "too late?"}), ("likes", None)):
        refused = tom.post(f"/api/v1/reviews/{review_id}/{path}", json=body)
        assert refused.status_code == 409, (path, refused.get_json())
        assert "cancelled" in refused.get_json()["detail"] and why in refused.get_json()["detail"]
    assert tom.get(f"/api/v1/reviews/{review_id}").get_json()["signals"] == []


def history_kinds(admin_api, instance_id: str) -> list[str]:
    return [e["kind"] for e in admin_api.get(f"/api/v1/process-instances/{instance_id}/history").get_json()["items"]]


def review_jobs(cafe, review_id: str) -> list[str]:
    with cafe.db.read() as session:
        return list(session.scalars(select(Job.kind).where(Job.task_id == review_id)))


def test_a_failed_review_step_closes_its_review_and_a_retry_opens_a_new_one(admin_api, user_api, cafe,
                                                                          mastodon, x):  # noqa: F811
    configure_channels(admin_api, mastodon, x)
    tom = reviewer_api(user_api)
    mastodon.fail_next(403, {"error": "This action is not allowed"}, method="POST", path="/api/v1/statuses")
    instance, review = open_review(admin_api, tom, "mastodon")
    run_jobs(cafe)
    assert admin_api.get(f"/api/v1/process-instances/{instance['id']}").get_json()["status"] == "error"

    assert_closed(tom, review["id"], "the step failed: mastodon: AuthFailed: Mastodon forbids this")
    assert review_jobs(cafe, review["id"]) == []  # its timeout and polls went with it
    kinds = history_kinds(admin_api, instance["id"])
    assert kinds[-1] == "error" and "review_vote" not in kinds

    retried = admin_api.post(f"/api/v1/process-instances/{instance['id']}/retry", json={})
    assert retried.status_code == 200, retried.get_json()
    run_jobs(cafe)
    [task] = tom.get("/api/v1/tasks").get_json()["items"]
    fresh = tom.get(f"/api/v1/tasks/{task['id']}/review").get_json()
    assert fresh["id"] != review["id"] and fresh["status"] == "open" and fresh["may_vote"] is True
    assert tom.get(f"/api/v1/reviews/{review['id']}").get_json()["status"] == "cancelled"
    assert tom.post(f"/api/v1/reviews/{fresh['id']}/votes", json={"option": "approve"}).status_code == 201
    final = admin_api.get(f"/api/v1/process-instances/{instance['id']}").get_json()
    assert final["status"] == "completed" and final["variables"]["review"]["decision"] == "approve"


def test_terminating_the_instance_closes_its_review(admin_api, user_api, cafe):
    tom = reviewer_api(user_api)
    instance, review = open_review(admin_api, tom, "feed")
    run_jobs(cafe)
    assert admin_api.delete(f"/api/v1/process-instances/{instance['id']}").status_code == 200

    assert_closed(tom, review["id"], f"instance {instance['id']} was terminated")
    assert history_kinds(admin_api, instance["id"])[-1] == "terminated"


def test_an_interrupting_boundary_timer_closes_the_review(admin_api, user_api, cafe):
    tom = reviewer_api(user_api)
    instance, review = open_review(admin_api, tom, "feed", wait="PT1S")
    run_jobs(cafe)
    assert review_jobs(cafe, review["id"]) == ["review.timeout"]
    time.sleep(1.2)  # the engine's own timer must be due, not only its job
    run_jobs(cafe)
    state = admin_api.get(f"/api/v1/process-instances/{instance['id']}").get_json()
    assert state["status"] == "completed" and "review" not in state["variables"]

    assert_closed(tom, review["id"], f"instance {instance['id']} has ended (completed) without this step")
    assert review_jobs(cafe, review["id"]) == []
    kinds = history_kinds(admin_api, instance["id"])
    assert "review_vote" not in kinds and kinds[-1] == "ended"


def test_a_review_hidden_from_someone_answers_404_without_naming_its_instance(admin_api, user_api, cafe):
    tom = reviewer_api(user_api)
    instance, review = open_review(admin_api, tom, "feed")
    eve = user_api("eve")
    for response in (eve.get(f"/api/v1/reviews/{review['id']}"),
                     eve.post(f"/api/v1/reviews/{review['id']}/comments", json={"text": "hello"})):
        body = response.get_json()
        assert response.status_code == 404 and instance["id"] not in body["detail"], body
        assert review["id"] in body["detail"]


def test_a_review_that_failed_on_one_network_posts_nothing_more_on_another(admin_api, user_api, cafe,
                                                                           mastodon, x):  # noqa: F811
    configure_channels(admin_api, mastodon, x)
    tom = reviewer_api(user_api)
    x.rate_limit_next(int(time.time()) + 1, path="/2/tweets")  # X's post waits a second...
    mastodon.fail_next(403, {"error": "This action is not allowed"}, method="POST", path="/api/v1/statuses")
    instance, review = open_review(admin_api, tom, "mastodon,x")
    run_jobs(cafe)  # ...while Mastodon's refusal fails the step
    assert admin_api.get(f"/api/v1/process-instances/{instance['id']}").get_json()["status"] == "error"
    time.sleep(1.2)
    run_jobs(cafe)
    assert x.tweets == {}  # at most the rate-limited try reached X: nothing went out
    with cafe.db.read() as session:
        statuses = dict(session.execute(select(SocialPost.channel, SocialPost.status)).all())
    assert statuses == {"mastodon": "failed", "x": "failed"}, statuses

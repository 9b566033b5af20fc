"""How social steps read their inputs: values a diagram (or a start variable) may carry by mistake
either work as meant (a channel or reviewer named twice) or fail the step with `social.failed`
naming the input, never a 500 while the step starts (a duplicate post key, a date overflow, a name
longer than its column on PostgreSQL)."""

import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from server.models import Job, Review, SocialPost
from tests.conftest import DIAGRAMS, run_jobs
from tests.social.images import jpeg_with_gps
from tests.social.test_demo_networks import configure_channels, mastodon, x  # noqa: F401 - fixtures

PUBLISH = DIAGRAMS / "social" / "publish_once.bpmn"
REVIEW = DIAGRAMS / "social" / "review_inputs.bpmn"
IMAGE = DIAGRAMS / "social" / "image_share.bpmn"
LONG_NAME = "c" * 300


def start(admin_api, diagram, key, variables):
    """Deploy and start; the start itself must never fail because of a step's inputs."""
    admin_api.deploy(diagram)
    response = admin_api.post("/api/v1/process-instances", json={"definition_key": key, "variables": variables})
    assert response.status_code == 201, (response.status_code, response.get_data(as_text=True)[:2000])
    return response.get_json()


def start_review(admin_api, **inputs):
    variables = {"n": 1, "channels": "feed", "reviewers": None, "options": None, "quorum": None, "rule": None,
                 "timeout": None, **inputs}
    return start(admin_api, REVIEW, "review_inputs", variables)


def state(admin_api, cafe, instance):
    run_jobs(cafe)
    return admin_api.get(f"/api/v1/process-instances/{instance['id']}").get_json()


def failure(admin_api, cafe, instance) -> str:
    """The step failed with social.failed, uncaught: the incident's message."""
    current = state(admin_api, cafe, instance)
    assert current["status"] == "error", current
    [incident] = current["incidents"]
    return incident["message"]


def posts(cafe) -> list[SocialPost]:
    with cafe.db.read() as session:
        return list(session.scalars(select(SocialPost).order_by(SocialPost.created_at)))


def the_review(cafe) -> Review:
    with cafe.db.read() as session:
        [review] = session.scalars(select(Review)).all()
        return review


# -- 1. a channel named twice -------------------------------------------------------------------------

def test_a_channel_named_twice_gets_one_status_post(admin_api, cafe, mastodon, x):  # noqa: F811
    configure_channels(admin_api, mastodon, x)
    instance = start(admin_api, PUBLISH, "publish_once", {"channels": "mastodon,feed,mastodon,feed", "n": 4})
    final = state(admin_api, cafe, instance)
    assert final["status"] == "completed", final
    assert sorted(final["variables"]["status_post"]) == ["feed", "mastodon"]
    assert len(mastodon.received("POST", "/api/v1/statuses")) == 1
    assert sorted(p.channel for p in posts(cafe)) == ["feed", "mastodon"]


def test_a_channel_named_twice_gets_one_review_post(admin_api, cafe):
    instance = start_review(admin_api, channels=["feed", "feed"])
    assert state(admin_api, cafe, instance)["status"] == "waiting"
    assert [p.channel for p in posts(cafe)] == ["feed"]
    assert the_review(cafe).channels == ["feed"]


def test_a_channel_named_twice_gets_one_image_share(admin_api, user_api, cafe):
    driver = user_api("dan")
    instance = start(admin_api, IMAGE, "image_share", {"n": 5, "uploader": "dan", "share_to": "nowhere,nowhere"})
    run_jobs(cafe)
    [task] = driver.get("/api/v1/tasks").get_json()["items"]
    sent = driver.post(f"/api/v1/tasks/{task['id']}/image", data={"file": (io.BytesIO(jpeg_with_gps()), "a.jpg")},
                       content_type="multipart/form-data")
    assert sent.status_code == 201, sent.get_data(as_text=True)[:2000]
    assert state(admin_api, cafe, instance)["status"] == "completed"
    assert [p.channel for p in posts(cafe)] == ["nowhere"]


# -- 2. and 4. review timeouts ------------------------------------------------------------------------

@pytest.mark.parametrize("timeout", ["P999999999D", "P3000000D", "PT99999999999999999999S", "P367D", "PT8785H",
                                     "P" + "9" * 400 + "D"])
def test_a_review_timeout_beyond_366_days_fails_the_step(admin_api, cafe, timeout):
    instance = start_review(admin_api, timeout=timeout)
    message = failure(admin_api, cafe, instance)
    assert "timeout" in message and "366 days" in message
    assert posts(cafe) == []


def test_a_review_timeout_of_366_days_is_a_deadline(admin_api, cafe):
    instance = start_review(admin_api, timeout="P366D")
    assert state(admin_api, cafe, instance)["status"] == "waiting"
    expected = datetime.now(timezone.utc) + timedelta(days=366)
    deadline = the_review(cafe).deadline
    deadline = deadline if deadline.tzinfo else deadline.replace(tzinfo=timezone.utc)
    assert abs((deadline - expected).total_seconds()) < 60
    with cafe.db.read() as session:
        assert session.scalars(select(Job.id).where(Job.kind == "review.timeout")).first() is not None


@pytest.mark.parametrize("timeout", ["PT0S", "P0D", "PT0.0S", "P0DT0H0M0S"])
def test_a_zero_review_timeout_fails_the_step(admin_api, cafe, timeout):
    instance = start_review(admin_api, timeout=timeout)
    message = failure(admin_api, cafe, instance)
    assert "timeout" in message and "longer than zero" in message


@pytest.mark.parametrize("timeout", ["-PT1H", 0, -5])
def test_a_negative_or_numeric_review_timeout_fails_the_step(admin_api, cafe, timeout):
    instance = start_review(admin_api, timeout=timeout)
    assert "timeout" in failure(admin_api, cafe, instance)


@pytest.mark.parametrize("timeout", [None, "", "  "])
def test_a_missing_review_timeout_means_none(admin_api, cafe, timeout):
    instance = start_review(admin_api, timeout=timeout)
    assert state(admin_api, cafe, instance)["status"] == "waiting"
    assert the_review(cafe).deadline is None
    with cafe.db.read() as session:
        assert session.scalars(select(Job.id).where(Job.kind == "review.timeout")).first() is None


# -- 3. a channel name no channel can have -------------------------------------------------------------

@pytest.mark.parametrize("channels", [LONG_NAME, f"feed,{LONG_NAME}"])
def test_a_channel_name_longer_than_any_channel_fails_a_status(admin_api, cafe, channels):
    instance = start(admin_api, PUBLISH, "publish_once", {"channels": channels, "n": 6})
    message = failure(admin_api, cafe, instance)
    assert "channel 'cccc" in message and "is not configured" in message
    assert posts(cafe) == []  # nothing went out: the step could never complete


def test_a_channel_name_longer_than_any_channel_fails_a_review(admin_api, cafe):
    instance = start_review(admin_api, channels=f"feed,{LONG_NAME}")
    assert "is not configured" in failure(admin_api, cafe, instance)
    assert posts(cafe) == []


def test_a_share_to_name_longer_than_any_channel_fails_an_image_step(admin_api, cafe):
    instance = start(admin_api, IMAGE, "image_share", {"n": 7, "uploader": "dan", "share_to": LONG_NAME})
    assert "is not configured" in failure(admin_api, cafe, instance)


# -- 5. quorum ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("quorum", [0, True, False, 1.7, -1, "0", "1.5", "two", "9" * 5000, 10 ** 12, [2]])
def test_a_quorum_that_is_not_a_whole_number_from_1_fails_the_step(admin_api, cafe, quorum):
    instance = start_review(admin_api, quorum=quorum)
    assert "quorum" in failure(admin_api, cafe, instance)


@pytest.mark.parametrize("quorum, expected", [(None, 1), ("", 1), (2, 2), ("2", 2), (" 3 ", 3), (2.0, 2)])
def test_a_whole_quorum_is_taken(admin_api, cafe, quorum, expected):
    instance = start_review(admin_api, quorum=quorum)
    assert state(admin_api, cafe, instance)["status"] == "waiting"
    assert the_review(cafe).quorum == expected


# -- 6. options ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("options", ["approve,approve", "approve,reject,Approve", ["yes", "no", "YES"]])
def test_an_option_named_twice_fails_the_step(admin_api, cafe, options):
    instance = start_review(admin_api, options=options)
    message = failure(admin_api, cafe, instance)
    assert "option" in message and "twice" in message


def test_an_option_longer_than_a_decision_fails_the_step(admin_api, cafe):
    instance = start_review(admin_api, options=f"approve,{'r' * 121}")
    assert "option" in failure(admin_api, cafe, instance)


# -- 7. reviewers -------------------------------------------------------------------------------------

def test_a_reviewer_named_twice_in_two_spellings_counts_once(admin_api, user_api, cafe):
    tom = user_api("tom")
    instance = start_review(admin_api, reviewers="tom,Tom, TOM", rule="unanimous")
    assert state(admin_api, cafe, instance)["status"] == "waiting"
    assert the_review(cafe).reviewers == ["tom"]
    [task] = tom.get("/api/v1/tasks").get_json()["items"]
    review = tom.get(f"/api/v1/tasks/{task['id']}/review").get_json()
    assert tom.post(f"/api/v1/reviews/{review['id']}/votes", json={"option": "approve"}).status_code == 201
    final = state(admin_api, cafe, instance)
    assert final["status"] == "completed", final
    assert final["variables"]["review"]["decision"] == "approve"


def test_a_group_member_also_listed_by_name_counts_once(admin_api, user_api, cafe):
    user_api("tom", groups=["team"])
    user_api("tia", groups=["team"])
    instance = start_review(admin_api, reviewers="Tom,team", rule="unanimous")
    assert state(admin_api, cafe, instance)["status"] == "waiting"
    assert the_review(cafe).reviewers == ["Tom", "tia"]



def test_a_group_named_in_another_case_is_still_the_group(admin_api, user_api, cafe):
    """Access and votes tell names apart without regard to case: "TEAM" asked nobody its members
    could vote for, and the review could never be decided."""
    user_api("tom", groups=["team"])
    user_api("tia", groups=["team"])
    start_review(admin_api, reviewers="TEAM", rule="unanimous")
    assert the_review(cafe).reviewers == ["tom", "tia"]

# -- names no user or group can have (PostgreSQL refused the task's candidate rows: a 500) -------------

def test_a_reviewer_name_longer_than_any_user_fails_the_step(admin_api, cafe):
    instance = start_review(admin_api, reviewers=f"tom,{'r' * 300}")
    message = failure(admin_api, cafe, instance)
    assert "reviewers names 'rrrr" in message and "120 characters" in message
    assert posts(cafe) == []


def test_an_uploader_name_longer_than_any_user_fails_the_step(admin_api, cafe):
    instance = start(admin_api, IMAGE, "image_share", {"n": 8, "uploader": "u" * 300, "share_to": None})
    assert "uploader names 'uuuu" in failure(admin_api, cafe, instance)

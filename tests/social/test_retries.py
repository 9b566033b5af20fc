"""Rate limits reschedule instead of sleeping; failures after the retries throw social.failed."""

import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from server.models import Job, SocialPost
from tests.conftest import DIAGRAMS, run_jobs
from tests.social.test_demo_networks import configure_channels, mastodon, x  # noqa: F401 - fixtures

DIAGRAM = DIAGRAMS / "social" / "publish_once.bpmn"


def test_429_reschedules_at_the_reset_without_sleeping(admin_api, cafe, mastodon, x):  # noqa: F811
    configure_channels(admin_api, mastodon, x)
    admin_api.deploy(DIAGRAM)
    reset = datetime.now(timezone.utc) + timedelta(seconds=3)
    mastodon.rate_limit_next(reset, path="/api/v1/statuses")
    instance = admin_api.start("publish_once", {"channels": "mastodon", "n": 1})

    began = time.monotonic()
    run_jobs(cafe)
    assert time.monotonic() - began < 1.5, "a worker waited for the rate limit instead of rescheduling"
    with cafe.db.read() as session:
        [job] = session.scalars(select(Job).where(Job.kind == "social.send")).all()
        [post] = session.scalars(select(SocialPost)).all()
    assert abs((job.due_at - reset).total_seconds()) < 1.0
    assert post.status == "pending" and "rate limited" in post.last_error
    assert len(mastodon.received("POST", "/api/v1/statuses")) == 1

    run_jobs(cafe)  # not due yet: nothing is sent
    assert len(mastodon.received("POST", "/api/v1/statuses")) == 1
    time.sleep(max(0.0, (job.due_at - datetime.now(timezone.utc)).total_seconds()) + 0.2)
    run_jobs(cafe)
    assert len(mastodon.received("POST", "/api/v1/statuses")) == 2
    final = admin_api.get(f"/api/v1/process-instances/{instance['id']}").get_json()
    assert final["status"] == "completed"
    assert final["variables"]["status_post"]["mastodon"]["id"]


def test_permanent_refusal_throws_social_failed(admin_api, cafe, mastodon, x):  # noqa: F811
    configure_channels(admin_api, mastodon, x)
    admin_api.deploy(DIAGRAM)
    mastodon.fail_next(422, {"error": "Validation failed: Text character limit of 500 exceeded"},
                       method="POST", path="/api/v1/statuses")
    instance = admin_api.start("publish_once", {"channels": "mastodon", "n": 2})
    run_jobs(cafe)
    state = admin_api.get(f"/api/v1/process-instances/{instance['id']}").get_json()
    assert state["status"] == "error"
    [incident] = state["incidents"]
    assert incident["bpmn_id"] == "publish" and "character limit" in incident["message"]


def test_unknown_channel_fails_the_step(admin_api, cafe):
    admin_api.deploy(DIAGRAM)
    instance = admin_api.start("publish_once", {"channels": "nowhere", "n": 3})
    run_jobs(cafe)
    state = admin_api.get(f"/api/v1/process-instances/{instance['id']}").get_json()
    assert state["status"] == "error"
    assert "nowhere" in state["incidents"][0]["message"]

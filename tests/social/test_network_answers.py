"""What comes back from a network is not trusted blindly: text holding U+0000 or a lone surrogate
is mended before it is stored, a "success" without the new post's id is no success, and a rate
limit whose reset lies absurdly far away is not waited for. Through the real Mastodon.py client
against the fake Mastodon, on SQLite and on PostgreSQL."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from server.models import Job, ReviewSignal, SocialPost
from server.social.sending import BACKOFF_CAP, MAX_ATTEMPTS
from tests.conftest import DIAGRAMS, run_jobs
from tests.social.test_demo_networks import configure_channels, due_now, mastodon, x  # noqa: F401 - fixtures

REVIEW = DIAGRAMS / "social" / "review_closing.bpmn"
PUBLISH = DIAGRAMS / "social" / "publish_once.bpmn"
FAR_AWAY = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
UNSTORABLE = ("\x00", "\ud800")


def instance_state(admin_api, instance_id: str) -> dict:
    return admin_api.get(f"/api/v1/process-instances/{instance_id}").get_json()


def review_on_mastodon(admin_api, cafe, mastodon) -> tuple[dict, str]:  # noqa: F811
    """A review posted to Mastodon with Bob as the only reviewer; the instance and the toot's id."""
    admin_api.deploy(REVIEW)
    instance = admin_api.start("review_closing", {"order": 7, "channels": "mastodon", "wait": "PT1H",
                                                  "reviewers": f"mastodon:{mastodon.bob['id']}"})
    run_jobs(cafe)
    [toot] = [s for s in mastodon.statuses.values() if s["account_id"] == mastodon.me["id"]]
    return instance, toot["id"]


def test_a_reply_holding_nul_is_mended_and_its_vote_counts(admin_api, cafe, mastodon, x):  # noqa: F811
    configure_channels(admin_api, mastodon, x)
    instance, toot_id = review_on_mastodon(admin_api, cafe, mastodon)
    mastodon.post(mastodon.bob["id"], "@cafe approve \x00 nul \ud800", in_reply_to_id=toot_id)
    due_now(cafe, "social.poll")
    run_jobs(cafe)

    final = instance_state(admin_api, instance["id"])
    assert final["status"] == "completed", final
    review = final["variables"]["review"]
    assert review["decision"] == "approve"
    [comment] = review["comments"]
    assert comment["text"] == "@cafe approve \ufffd nul \ufffd"
    with cafe.db.read() as session:
        texts = session.scalars(select(ReviewSignal.text).where(ReviewSignal.instance_id == instance["id"])).all()
    assert texts and not any(c in (t or "") for t in texts for c in UNSTORABLE)


def test_a_mention_holding_nul_starts_its_instance_with_mended_text(admin_api, cafe, mastodon, x):  # noqa: F811
    configure_channels(admin_api, mastodon, x)
    admin_api.deploy(DIAGRAMS / "social" / "order_by_mention.bpmn")
    assert admin_api.post("/api/v1/channels/mastodon/watches", json={"message": "order_by_mention"}).status_code == 201
    mastodon.post(mastodon.bob["id"], "@cafe 3 crates\x00 to dock \ud800 4")
    due_now(cafe, "social.inbound")
    run_jobs(cafe)

    [started] = admin_api.get("/api/v1/process-instances?definition_key=order_by_mention").get_json()["items"]
    assert instance_state(admin_api, started["id"])["variables"]["post_text"] == "@cafe 3 crates\ufffd to dock \ufffd 4"


@pytest.mark.parametrize("answer", [{"weird": 1}, {"error": "Service temporarily in maintenance"}])
def test_a_success_without_an_id_is_not_a_sent_post(admin_api, cafe, mastodon, x, answer):  # noqa: F811
    configure_channels(admin_api, mastodon, x)
    admin_api.deploy(PUBLISH)
    mastodon.fail_next(200, answer, method="POST", path="/api/v1/statuses")
    instance = admin_api.start("publish_once", {"channels": "mastodon", "n": 5})
    run_jobs(cafe)

    with cafe.db.read() as session:
        [post] = session.scalars(select(SocialPost)).all()
        jobs = session.scalars(select(Job).where(Job.kind == "social.send")).all()
    assert post.status != "sent" and post.remote_id is None and post.url is None
    assert "without the new post's id" in post.last_error
    [job] = jobs  # to be sent again
    assert job.due_at <= datetime.now(timezone.utc) + timedelta(seconds=BACKOFF_CAP)
    assert instance_state(admin_api, instance["id"])["status"] == "waiting"

    due_now(cafe, "social.send")  # the retry carries the same Idempotency-Key: one status, with its id
    run_jobs(cafe)
    [toot] = mastodon.statuses.values()
    final = instance_state(admin_api, instance["id"])
    assert final["status"] == "completed"
    assert final["variables"]["status_post"]["mastodon"]["id"] == toot["id"]
    keys = {r.header("Idempotency-Key") for r in mastodon.received("POST", "/api/v1/statuses")}
    assert len(keys) == 1


def test_a_reset_too_far_away_counts_as_an_attempt_until_the_step_fails(admin_api, cafe, mastodon, x):  # noqa: F811
    configure_channels(admin_api, mastodon, x)
    admin_api.deploy(PUBLISH)
    mastodon.rate_limit_next(FAR_AWAY, path="/api/v1/statuses", count=MAX_ATTEMPTS)
    instance = admin_api.start("publish_once", {"channels": "mastodon", "n": 6})
    run_jobs(cafe)
    with cafe.db.read() as session:
        [job] = session.scalars(select(Job).where(Job.kind == "social.send")).all()
    assert job.due_at <= datetime.now(timezone.utc) + timedelta(seconds=BACKOFF_CAP)
    assert "too far away" in job.last_error

    for _ in range(MAX_ATTEMPTS):
        due_now(cafe, "social.send")
        run_jobs(cafe)
    state = instance_state(admin_api, instance["id"])
    assert state["status"] == "error", state
    [incident] = state["incidents"]
    assert "rate limited until 9999-12-31" in incident["message"]
    assert f"after {MAX_ATTEMPTS} tries" in incident["message"]
    assert len(mastodon.received("POST", "/api/v1/statuses")) == MAX_ATTEMPTS
    assert mastodon.statuses == {}


def test_a_poll_rate_limited_too_far_away_polls_again_as_usual(admin_api, cafe, mastodon, x):  # noqa: F811
    configure_channels(admin_api, mastodon, x)
    _, toot_id = review_on_mastodon(admin_api, cafe, mastodon)
    mastodon.rate_limit_next(FAR_AWAY, path=f"/api/v1/statuses/{toot_id}")
    due_now(cafe, "social.poll")
    run_jobs(cafe)
    assert mastodon.received("GET", f"/api/v1/statuses/{toot_id}")
    with cafe.db.read() as session:
        [job] = session.scalars(select(Job).where(Job.kind == "social.poll")).all()
    assert job.due_at <= datetime.now(timezone.utc) + timedelta(hours=1)

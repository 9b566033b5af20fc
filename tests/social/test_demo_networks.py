"""The demo again with Mastodon and X channels pointed at local fakes: the real Mastodon.py and tweepy
clients run end to end, and the fakes' recorded requests are checked (text, media upload, reply and
poll reads). Reviewers are a local user and one account on each network; replies decide."""

import io

import pytest
from sqlalchemy import update

from server.models import Job
from tests.conftest import run_jobs
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.x import FakeX
from tests.social.images import jpeg_with_gps
from tests.social.test_demo_feed import start_demo

MASTODON_TOKEN = "masto-CAFE-T0KEN"
X_CREDENTIALS = {"consumer_key": "ck-CAFE-k3y", "consumer_secret": "cs-CAFE-S3CRET",
                 "access_token": "1001-atCAFE-T0KEN", "access_token_secret": "ats-CAFE-S3CRET"}


@pytest.fixture
def mastodon():
    fake = FakeMastodon()
    with fake.serving():
        fake.me = fake.add_account("cafe", token=MASTODON_TOKEN)
        fake.bob = fake.add_account("bob")
        yield fake


@pytest.fixture
def x():
    fake = FakeX()
    with fake.serving():
        fake.add_consumer(X_CREDENTIALS["consumer_key"], X_CREDENTIALS["consumer_secret"])
        fake.me = fake.add_user("cafe", "1001", X_CREDENTIALS["access_token"], X_CREDENTIALS["access_token_secret"])
        fake.carol = fake.add_user("carol")
        yield fake


def configure_channels(admin_api, mastodon, x):
    made = admin_api.post("/api/v1/channels", json={
        "name": "mastodon", "kind": "mastodon", "allow_private": True,
        "settings": {"base_url": mastodon.base_url, "mastodon_version": "4.3.0"},
        "credentials": {"access_token": MASTODON_TOKEN}})
    assert made.status_code == 201, made.get_json()
    made = admin_api.post("/api/v1/channels", json={
        "name": "x", "kind": "x", "allow_private": True,
        "settings": {"username": "cafe", "api_base": x.base_url}, "credentials": X_CREDENTIALS})
    assert made.status_code == 201, made.get_json()


def field(recorded, name):
    """Mastodon.py sends form fields, or JSON when a poll is attached."""
    if recorded.json and name in recorded.json:
        return recorded.json[name]
    values = recorded.form.get(name) or recorded.form.get(f"{name}[]")
    return values[0] if values and len(values) == 1 and not name.endswith("ids") else values


def due_now(cafe, kind):
    with cafe.db.transaction() as session:
        session.execute(update(Job).where(Job.kind == kind).values(due_at=Job.created_at))


def test_demo_with_mastodon_and_x(admin_api, user_api, cafe, mastodon, x):
    configure_channels(admin_api, mastodon, x)
    driver = user_api("dan", groups=["drivers"])
    tom = user_api("tom")
    reviewers = f"tom,mastodon:{mastodon.bob['id']},x:{x.carol['id']}"
    instance = start_demo(admin_api, channels="feed,mastodon,x", reviewers=reviewers)
    run_jobs(cafe)

    [toot] = mastodon.received("POST", "/api/v1/statuses")
    assert "Delivery D-17 for ACME is on its way" in field(toot, "status")
    assert toot.header("Idempotency-Key").startswith("pc-")
    assert toot.header("Authorization") == f"Bearer {MASTODON_TOKEN}"
    [tweet] = x.received("POST", "/2/tweets")
    assert "Delivery D-17 for ACME is on its way" in tweet.json["text"]
    posted = admin_api.get(f"/api/v1/process-instances/{instance['id']}").get_json()["variables"]["status_post"]
    assert set(posted) == {"feed", "mastodon", "x"}
    assert posted["x"]["url"].endswith(f"/status/{posted['x']['id']}")

    [photo_task] = driver.get("/api/v1/tasks").get_json()["items"]
    image = driver.post(f"/api/v1/tasks/{photo_task['id']}/image",
                        data={"file": (io.BytesIO(jpeg_with_gps()), "note.jpg")},
                        content_type="multipart/form-data").get_json()
    stored = driver.get(f"/api/v1/media/{image['media_id']}").data
    run_jobs(cafe)

    [upload] = mastodon.received("POST", "/api/v2/media")
    assert upload.files["file"][2] == stored and upload.files["file"][1] == "image/jpeg"
    review_toot = mastodon.received("POST", "/api/v1/statuses")[1]
    assert "Is the delivery note of D-17 complete and signed?" in field(review_toot, "status")
    assert field(review_toot, "media_ids")
    [x_upload] = x.received("POST", "/2/media/upload")
    assert x_upload.files["media"][2] == stored
    review_tweet = x.received("POST", "/2/tweets")[1]
    assert review_tweet.json["media"]["media_ids"]

    review = tom.get(f"/api/v1/tasks/{tom.get('/api/v1/tasks').get_json()['items'][0]['id']}/review").get_json()
    posts = {p["channel"]: p for p in review["posts"]}
    assert all(p["status"] == "sent" for p in posts.values())
    toot_id = posts["mastodon"]["url"].rstrip("/").rsplit("/", 1)[-1]
    tweet_id = posts["x"]["url"].rstrip("/").rsplit("/", 1)[-1]
    mastodon.post(mastodon.bob["id"], "@cafe approve, the note is signed", in_reply_to_id=toot_id)
    x.tweet(x.carol["id"], "@cafe lgtm", reply_to=tweet_id)
    due_now(cafe, "social.poll")
    run_jobs(cafe)

    assert mastodon.received("GET", f"/api/v1/statuses/{toot_id}/context")
    searches = x.received("GET", "/2/tweets/search/recent")
    assert any(f"conversation_id:{tweet_id}" in s.query["query"][0] for s in searches)
    run_jobs(cafe)
    final = admin_api.get(f"/api/v1/process-instances/{instance['id']}").get_json()
    assert final["status"] == "completed", final
    outcome = final["variables"]["review"]
    assert outcome["decision"] == "approve"
    assert {v["voter"] for v in outcome["votes"]} == {f"mastodon:{mastodon.bob['id']}", f"x:{x.carol['id']}"}
    assert "Delivery D-17 is complete" in field(mastodon.received("POST", "/api/v1/statuses")[-1], "status")
    assert "Delivery D-17 is complete" in x.received("POST", "/2/tweets")[-1].json["text"]


def test_channel_credentials_are_write_only(admin_api, mastodon, x, caplog):
    caplog.set_level("DEBUG")
    configure_channels(admin_api, mastodon, x)
    bodies = [admin_api.get("/api/v1/channels").data, admin_api.get("/api/v1/channels/x").data,
              admin_api.patch("/api/v1/channels/x", json={"enabled": True}).data]
    secrets = [MASTODON_TOKEN, *X_CREDENTIALS.values()]
    for body in bodies:
        for secret in secrets:
            assert secret.encode() not in body
    assert b'"has_credentials": true' in bodies[1] or b'"has_credentials":true' in bodies[1]
    for record in caplog.records:
        for secret in secrets:
            assert secret not in record.getMessage()


def test_bad_channel_settings_are_refused(admin_api):
    response = admin_api.post("/api/v1/channels", json={"name": "m2", "kind": "mastodon", "settings": {},
                                                         "credentials": {"access_token": "t"}})
    assert response.status_code == 400
    assert "base_url" in response.get_json()["detail"]
    assert admin_api.post("/api/v1/channels", json={"name": "q", "kind": "carrier-pigeon"}).status_code == 400

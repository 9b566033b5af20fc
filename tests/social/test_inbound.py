"""Social events start work: each new mention on a watched channel starts one instance."""

from sqlalchemy import update

from server.models import Job
from tests.conftest import DIAGRAMS, run_jobs
from tests.social.test_demo_networks import configure_channels, mastodon, x  # noqa: F401 - fixtures


def poll_now(cafe):
    with cafe.db.transaction() as session:
        session.execute(update(Job).where(Job.kind == "social.inbound").values(due_at=Job.created_at))
    run_jobs(cafe)


def test_each_mention_starts_one_instance(admin_api, cafe, mastodon, x):  # noqa: F811
    configure_channels(admin_api, mastodon, x)
    admin_api.deploy(DIAGRAMS / "social" / "order_by_mention.bpmn")
    bob = mastodon.add_account("bob")
    watch = admin_api.post("/api/v1/channels/mastodon/watches", json={"message": "order_by_mention"})
    assert watch.status_code == 201, watch.get_json()
    mastodon.post(bob["id"], "@cafe please deliver 3 crates to dock 4")
    poll_now(cafe)

    [instance] = admin_api.get("/api/v1/process-instances?definition_key=order_by_mention").get_json()["items"]
    variables = admin_api.get(f"/api/v1/process-instances/{instance['id']}").get_json()["variables"]
    assert "deliver 3 crates" in variables["post_text"]
    assert variables["post_author"] == bob["id"] and variables["post_channel"] == "mastodon"

    poll_now(cafe)  # the same mention again: nothing new
    mastodon.post(bob["id"], "@cafe and 2 more to dock 5")
    poll_now(cafe)
    listed = admin_api.get("/api/v1/process-instances?definition_key=order_by_mention").get_json()
    assert listed["total"] == 2
    assert admin_api.post("/api/v1/channels/nowhere/watches", json={"message": "m"}).status_code == 404


def test_a_channel_that_brings_in_no_posts_cannot_be_watched(admin_api, cafe):
    """A webhook channel only sends: a watch on it was accepted (201) and never started anything."""
    made = admin_api.post("/api/v1/channels", json={
        "name": "hook", "kind": "webhook", "allow_private": True,
        "settings": {"preset": "generic"}, "credentials": {"url": "http://127.0.0.1:9/hook"}})
    assert made.status_code == 201, made.get_json()
    refused = admin_api.post("/api/v1/channels/hook/watches", json={"message": "order_by_mention"})
    assert refused.status_code == 400 and "brings in no posts" in refused.get_json()["detail"]
    with cafe.db.read() as session:
        assert session.query(Job).filter(Job.kind == "social.inbound").count() == 0

"""A status whose step a boundary event takes away before its posts went out is not published:
the step's service call is cancelled (`InstanceStore.save` compares the parked steps before and
after), so the waiting posts are marked failed instead of sent, on the networks and on the feed,
and the history names the step as cancelled. Before, a publishStatus step (not in the task list)
kept its call pending and its posts went out after the process had left the step."""

from sqlalchemy import select

from server.models import ServiceCall, SocialPost
from tests.api.engine_support import history
from tests.conftest import DIAGRAMS, run_jobs
from tests.social.test_demo_networks import configure_channels, mastodon, x  # noqa: F401 - fixtures

DIAGRAM = DIAGRAMS / "social" / "publish_interrupted.bpmn"


def test_a_status_called_off_before_it_went_out_is_not_published(admin_api, cafe, mastodon, x):  # noqa: F811
    configure_channels(admin_api, mastodon, x)
    admin_api.deploy(DIAGRAM)
    instance = admin_api.start("publish_interrupted", {"n": 12, "channels": "mastodon,feed"})
    assert instance["status"] == "waiting"  # parked: its posts wait for the job runner
    called_off = admin_api.post("/api/v1/messages", json={"name": "call_off", "instance_id": instance["id"]})
    assert called_off.status_code == 200, called_off.get_json()
    assert called_off.get_json()["items"][0]["status"] == "completed"
    run_jobs(cafe)

    assert mastodon.received("POST", "/api/v1/statuses") == []
    with cafe.db.read() as session:
        call = session.scalars(select(ServiceCall).where(ServiceCall.instance_id == instance["id"])).one()
        posts = session.execute(select(SocialPost.channel, SocialPost.status, SocialPost.last_error)
                                .where(SocialPost.call_id == call.id)).all()
    assert call.status == "cancelled" and "has ended" in call.error_message, (call.status, call.error_message)
    assert sorted(posts) == [("feed", "failed", "not sent: its step had cancelled first"),
                             ("mastodon", "failed", "not sent: its step had cancelled first")]
    events = history(admin_api, instance["id"])
    [cancelled] = [e for e in events if e["kind"] == "task_cancelled"]
    assert cancelled["bpmn_id"] == "publish" and cancelled["task_id"] == call.task_id
    assert "service_completed" not in [e["kind"] for e in events]

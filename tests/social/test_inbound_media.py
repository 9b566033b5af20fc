"""A mention with photos starts a process with its photos: the real Mastodon.py and tweepy read the
mention from the local fakes, the server downloads the images from the channel's media hosts, checks
and cleans them like uploads, and attaches them to the started instance, where its people (and only
they) can see them. An image that cannot be taken is named with the reason; the instance starts."""

import io

from PIL import Image

from tests.conftest import DIAGRAMS
from tests.social.images import has_gps, jpeg_with_gps
from tests.social.test_demo_networks import MASTODON_TOKEN, configure_channels, mastodon, x  # noqa: F401
from tests.social.test_inbound import poll_now
from tests.web.conftest import web  # noqa: F401 - fixture

DIAGRAM = DIAGRAMS / "social" / "photo_by_mention.bpmn"
FILES = "/system/media_attachments/files/"


def add_mastodon(admin_api, fake, **settings):
    return admin_api.post("/api/v1/channels", json={
        "name": "masto", "kind": "mastodon", "allow_private": True,
        "settings": {"base_url": fake.base_url, "mastodon_version": "4.3.0", **settings},
        "credentials": {"access_token": MASTODON_TOKEN}})


def watch(admin_api, channel):
    admin_api.deploy(DIAGRAM)
    made = admin_api.post(f"/api/v1/channels/{channel}/watches", json={"message": "damage_report"})
    assert made.status_code == 201, made.get_json()


def started(admin_api):
    [instance] = admin_api.get("/api/v1/process-instances?definition_key=photo_by_mention").get_json()["items"]
    return admin_api.get(f"/api/v1/process-instances/{instance['id']}").get_json()


def test_a_mastodon_mention_starts_an_instance_whose_people_see_its_photos(
        admin_api, user_api, web, cafe, mastodon):  # noqa: F811
    mastodon.files_base_url = mastodon.base_url.replace("127.0.0.1", "localhost")  # a files host of its own
    made = add_mastodon(admin_api, mastodon, media_hosts=["localhost"])
    assert made.status_code == 201, made.get_json()
    watch(admin_api, "masto")
    claims, outsider = user_api("cara", groups=["claims"]), user_api("otto")
    bob = mastodon.bob["id"]
    photo = mastodon.add_media(bob, jpeg_with_gps(), description="the pallet")
    video = mastodon.add_media(bob, b"\0\0\0\x18ftypmp42", "video/mp4", kind="video")
    page = mastodon.add_media(bob, b"<html>a login page</html>")
    gone = mastodon.add_media(bob, jpeg_with_gps(32, 32))
    mastodon.fail_next(404, {"error": "Record not found"}, path=f"{FILES}{gone}/")
    mastodon.post(bob, "@cafe the pallet in bay 4 is broken", media_ids=[photo, video, page, gone])

    poll_now(cafe)

    instance = started(admin_api)
    variables = instance["variables"]
    assert "pallet in bay 4" in variables["post_text"]
    [media_id] = variables["post_media"]
    reasons = {s["source"].rsplit("/", 3)[-3]: s["reason"] for s in variables["post_media_skipped"]}
    assert set(reasons) == {video, page, gone}
    assert "not an image (video)" in reasons[video]
    assert "not a JPEG, PNG, WebP or GIF image" in reasons[page]
    assert "404" in reasons[gone]

    image = claims.get(f"/api/v1/media/{media_id}")  # a candidate of the instance's task
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert not has_gps(image.data) and Image.open(io.BytesIO(image.data)).size == (64, 48)
    assert claims.get(f"/api/v1/media/{media_id}?thumbnail=true").status_code == 200
    assert outsider.get(f"/api/v1/media/{media_id}").status_code == 404
    history = admin_api.get(f"/api/v1/process-instances/{instance['id']}/history").get_json()["items"]
    assert any(len((e.get("data") or {}).get("variables", {}).get("post_media_skipped", [])) == 3 for e in history)
    page = web("carl", groups=["claims"]).get(f"/instances/{instance['id']}")
    assert page.status_code == 200 and f"/media/{media_id}" in page.get_data(as_text=True)  # in its Media section

    downloads = [r for r in mastodon.requests if r.path.startswith(FILES)]
    assert {r.header("Host").split(":")[0] for r in downloads} == {"localhost"}
    assert all(r.header("Authorization") is None for r in downloads)


def test_an_x_mention_with_a_photo_starts_an_instance_with_it(admin_api, user_api, cafe, mastodon, x):  # noqa: F811
    configure_channels(admin_api, mastodon, x)  # X through the api_base gateway, which serves photos too
    watch(admin_api, "x")
    claims = user_api("cara", groups=["claims"])
    photo = x.add_media(x.carol["id"], jpeg_with_gps(), alt_text="the pallet")
    x.tweet(x.carol["id"], "@cafe the pallet in bay 4 is broken", media_ids=[photo])

    poll_now(cafe)

    variables = started(admin_api)["variables"]
    [media_id] = variables["post_media"]
    assert variables["post_media_skipped"] == []
    image = claims.get(f"/api/v1/media/{media_id}")
    assert image.status_code == 200 and not has_gps(image.data)
    assert x.received("GET", f"/media/{photo}.jpg")


def test_a_mention_from_a_host_that_is_not_a_media_host_starts_without_the_photo(admin_api, cafe,
                                                                                 mastodon):  # noqa: F811
    mastodon.files_base_url = mastodon.base_url.replace("127.0.0.1", "localhost")
    assert add_mastodon(admin_api, mastodon).status_code == 201  # media_hosts: the API host only
    watch(admin_api, "masto")
    photo = mastodon.add_media(mastodon.bob["id"], jpeg_with_gps())
    mastodon.post(mastodon.bob["id"], "@cafe look at this", media_ids=[photo])

    poll_now(cafe)

    variables = started(admin_api)["variables"]
    assert variables["post_media"] == []
    [skipped] = variables["post_media_skipped"]
    assert "localhost, which is not one of the channel's media hosts (127.0.0.1)" in skipped["reason"]
    assert not [r for r in mastodon.requests if r.path.startswith(FILES)]


def test_bad_media_hosts_are_refused_when_the_channel_is_saved(admin_api, mastodon):  # noqa: F811
    for bad in ("*.example", ["files.example/path"], 12):
        refused = add_mastodon(admin_api, mastodon, media_hosts=bad)
        assert refused.status_code == 400, refused.get_json()
        assert "media_hosts" in refused.get_json()["detail"]
    assert admin_api.get("/api/v1/channels/masto").status_code == 404

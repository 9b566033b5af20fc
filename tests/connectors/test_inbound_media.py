# ruff: noqa: F811 (the fake networks' fixtures come from tests.social.test_demo_networks)
"""The images of inbound mentions: the real Mastodon.py and tweepy read mentions with media from the
local fakes, and the connectors download the images through the channel's own GuardedSession, from
its media hosts only, within the limits of `connectors.media_fetch`. The fakes record every request,
so a download that should not happen is seen not to happen."""

from __future__ import annotations

import pytest

from connectors.base import MediaLink, MediaRefused
from connectors.http import guarded_session
from connectors.mastodon import MastodonConnector
from connectors.media import DEFAULT_MAX_BYTES
from connectors.media_fetch import MAX_IMAGES_PER_POST, MediaFetcher, media_hosts
from connectors.x import XConnector
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.x import FakeX, RewriteAdapter
from tests.social.images import jpeg_with_gps
from tests.social.test_demo_networks import MASTODON_TOKEN, X_CREDENTIALS, mastodon, x  # noqa: F401

FILES = "/system/media_attachments/files/"


def mastodon_channel(fake: FakeMastodon, **settings) -> MastodonConnector:
    """Built as the server builds it: the session allows exactly the hosts the connector names."""
    settings = {"base_url": fake.base_url, **settings}
    return MastodonConnector("masto", settings, {"access_token": MASTODON_TOKEN},
                             guarded_session(MastodonConnector.hosts(settings), allow_private=True))


def other_host(base_url: str) -> str:
    """The fake under another host name: an instance whose files live on a host of their own."""
    return base_url.replace("127.0.0.1", "localhost")


def mention(fake: FakeMastodon, *media_ids: str):
    """Bob mentions the account with these attachments; the post as the channel reads it."""
    fake.post(fake.bob["id"], "@cafe the broken pallet, see the photos", media_ids=list(media_ids))
    [post], _ = fake.channel.inbound(None)
    return post


def file_url(files_base_url: str, media_id: str) -> str:
    return f"{files_base_url}{FILES}{media_id}/original/{media_id}.jpg"


def file_requests(fake) -> list:
    return [r for r in fake.requests if r.path.startswith(FILES) or r.path.startswith("/media/")]


def test_a_mentions_images_are_downloaded_from_the_files_host_without_the_token(mastodon):
    mastodon.files_base_url = other_host(mastodon.base_url)
    mastodon.channel = mastodon_channel(mastodon, media_hosts=["localhost"])
    photo = jpeg_with_gps()
    image = mastodon.add_media(mastodon.bob["id"], photo, description="the pallet")
    video = mastodon.add_media(mastodon.bob["id"], b"\0\0\0\x18ftypmp42", "video/mp4", kind="video")

    post = mention(mastodon, image, video)

    [link] = post.media_links
    assert link.url.startswith(other_host(mastodon.base_url) + FILES) and link.description == "the pallet"
    [skipped] = post.media_skipped
    assert "not an image (video)" in skipped.reason
    assert file_requests(mastodon) == []  # nothing is downloaded before the post is known to start work
    media = mastodon.channel.fetch_media(link)
    assert media.content == photo and media.content_type == "image/jpeg" and media.description == "the pallet"
    [download] = file_requests(mastodon)
    assert download.header("Host").startswith("localhost") and download.header("Authorization") is None


def test_images_on_a_host_that_is_not_a_media_host_are_never_fetched(mastodon):
    mastodon.files_base_url = other_host(mastodon.base_url)  # files elsewhere, but media_hosts left at the API host
    mastodon.channel = mastodon_channel(mastodon)
    stray = mastodon.add_media(mastodon.bob["id"], jpeg_with_gps(), url="http://169.254.169.254/latest/meta-data")
    moved = mastodon.add_media(mastodon.bob["id"], jpeg_with_gps())

    post = mention(mastodon, stray, moved)

    assert post.media_links == ()
    moved_url = file_url(other_host(mastodon.base_url), moved)
    assert [s.source for s in post.media_skipped] == ["http://169.254.169.254/latest/meta-data", moved_url]
    assert all("not one of the channel's media hosts (127.0.0.1)" in s.reason for s in post.media_skipped)
    with pytest.raises(MediaRefused, match="not one of the channel's media hosts"):
        mastodon.channel.fetch_media(MediaLink(moved_url))  # a link made up elsewhere
    assert file_requests(mastodon) == []


def test_the_instances_copy_is_taken_over_the_remote_original(mastodon):
    mastodon.channel = mastodon_channel(mastodon)
    remote = "https://remote.example/media/original.jpg"
    image = mastodon.add_media(mastodon.bob["id"], jpeg_with_gps(), remote_url=remote)
    post = mention(mastodon, image)
    [link] = post.media_links
    assert link.url.startswith(mastodon.base_url + FILES) and post.media_skipped == ()


def test_at_most_four_images_of_a_post_are_taken(mastodon):
    mastodon.channel = mastodon_channel(mastodon)
    images = [mastodon.add_media(mastodon.bob["id"], jpeg_with_gps()) for _ in range(MAX_IMAGES_PER_POST + 2)]
    post = mention(mastodon, *images)
    assert len(post.media_links) == MAX_IMAGES_PER_POST
    assert [s.reason for s in post.media_skipped] == [f"only the first {MAX_IMAGES_PER_POST} images of a post "
                                                      "are taken"] * 2


@pytest.mark.parametrize(("serve", "content", "reason"), [
    ("endless", b"\xff\xd8\xff\xe0", f"larger than the limit of {DEFAULT_MAX_BYTES} bytes"),
    ("whole", b"<html><body>not a photo</body></html>", "not a JPEG, PNG, WebP or GIF image"),
    ("whole", b"", "not a JPEG, PNG, WebP or GIF image"),
])
def test_a_download_stops_at_the_byte_limit_and_takes_only_images(mastodon, serve, content, reason):
    mastodon.channel = mastodon_channel(mastodon)
    image = mastodon.add_media(mastodon.bob["id"], content, serve=serve)
    [link] = mention(mastodon, image).media_links
    with pytest.raises(MediaRefused, match=reason):
        mastodon.channel.fetch_media(link)


def test_a_download_has_a_deadline_however_slowly_the_host_sends(mastodon):
    image = mastodon.add_media(mastodon.bob["id"], jpeg_with_gps(), serve="trickle")
    mastodon.channel = mastodon_channel(mastodon)
    [link] = mention(mastodon, image).media_links
    fetcher = MediaFetcher(guarded_session([mastodon.base_url], allow_private=True), ["127.0.0.1"], seconds=0.5)
    with pytest.raises(MediaRefused, match="took longer than 0.5 seconds"):
        fetcher.fetch(link)


def test_redirects_are_followed_only_to_media_hosts_and_errors_refuse_the_image(mastodon):
    mastodon.channel = mastodon_channel(mastodon)
    image = mastodon.add_media(mastodon.bob["id"], jpeg_with_gps())
    [link] = mention(mastodon, image).media_links
    mastodon.fail_next(302, {}, headers={"Location": "http://localhost/private.jpg"}, path=FILES)
    with pytest.raises(MediaRefused, match="localhost, which is not one of the channel's media hosts"):
        mastodon.channel.fetch_media(link)
    mastodon.fail_next(302, {}, headers={"Location": link.url}, path=FILES)  # to itself: fine
    assert mastodon.channel.fetch_media(link).content_type == "image/jpeg"
    mastodon.fail_next(404, {"error": "Record not found"}, path=FILES)
    with pytest.raises(MediaRefused, match="the media host answered 404"):
        mastodon.channel.fetch_media(link)


def test_media_hosts_setting():
    assert media_hosts({}, ["social.example", None]) == ["social.example"]
    assert media_hosts({"media_hosts": "files.example, https://cdn.example/"}, []) == ["files.example",
                                                                                       "cdn.example"]
    for bad in ("*.example", "files.example/path", 7, ["ok.example", 3], " , "):
        with pytest.raises(ValueError, match="media_hosts"):
            media_hosts({"media_hosts": bad}, ["social.example"])
    settings = {"base_url": "https://social.example", "media_hosts": ["files.example"]}
    assert MastodonConnector.hosts(settings) == ["social.example", "files.example"]
    assert set(XConnector.hosts({})) == {"api.twitter.com", "api.x.com", "pbs.twimg.com"}


def x_channel(fake: FakeX, settings: dict | None = None) -> XConnector:
    """On X's real hosts (the API and pbs.twimg.com for photos), both reached through the fake."""
    settings = {"username": "cafe", **(settings or {})}
    http = guarded_session([*XConnector.hosts(settings), "127.0.0.1"], allow_private=True)
    RewriteAdapter.mount_on(http, fake.base_url)
    http.mount("https://pbs.twimg.com", RewriteAdapter(fake.base_url))
    return XConnector("x", settings, X_CREDENTIALS, http)


def test_an_x_mentions_photos_come_through_the_media_expansion(x):
    x.media_base_url = "https://pbs.twimg.com"
    photo = jpeg_with_gps()
    image = x.add_media(x.carol["id"], photo, alt_text="the pallet")
    video = x.add_media(x.carol["id"], kind="video")
    x.tweet(x.carol["id"], "@cafe the broken pallet", media_ids=[image, video])
    channel = x_channel(x)

    [post], _ = channel.inbound(None)

    [listing] = x.received("GET", "/2/users/1001/mentions")
    assert "attachments.media_keys" in listing.query["expansions"][0]
    assert {"url", "type"} <= set(listing.query["media.fields"][0].split(","))
    assert post.media_links == (MediaLink(f"https://pbs.twimg.com/media/{image}.jpg", "the pallet"),)
    [skipped] = post.media_skipped
    assert skipped.source == f"3_{video}" and "not an image (video)" in skipped.reason
    media = channel.fetch_media(post.media_links[0])
    assert media.content == photo and media.description == "the pallet"
    [download] = x.received("GET", f"/media/{image}.jpg")
    assert download.header("X-Original-URL") == f"https://pbs.twimg.com/media/{image}.jpg"
    assert download.header("Authorization") is None  # never signed with the channel's keys


def test_x_photos_elsewhere_than_the_media_hosts_are_skipped(x):
    image = x.add_media(x.carol["id"], jpeg_with_gps())  # served at the fake's own URL: 127.0.0.1
    x.tweet(x.carol["id"], "@cafe look", media_ids=[image])
    [post], _ = x_channel(x).inbound(None)
    assert post.media_links == ()
    [skipped] = post.media_skipped
    assert "127.0.0.1, which is not one of the channel's media hosts (pbs.twimg.com)" in skipped.reason
    [post], _ = x_channel(x, {"media_hosts": ["127.0.0.1"]}).inbound(None)
    assert [link.url for link in post.media_links] == [f"{x.base_url}/media/{image}.jpg"]

"""X (Twitter) channels through tweepy's v2 Client, OAuth 1.0a user context.

- tweepy hard-codes https://api.twitter.com; we hand it our GuardedSession (`client.session = http`),
  so every request is host-checked, and tests mount an adapter on that session to reach a fake.
- Never `wait_on_rate_limit`: tweepy would sleep in the worker and recurse without bound; a 429
  becomes `RateLimited` at the latest reset among the exhausted limits (24-hour caps use other headers).
- tweepy has no v2 media upload, so we POST https://api.x.com/2/media/upload ourselves, through the
  same session and with the same OAuth1 signature tweepy uses.
- X has no idempotency key (the 403 "duplicate content" is not one), so `find_published` reads the
  account's tweets since the first attempt and matches the post's marker: the back-link (X shows it as
  t.co, so we compare the expanded URL) or an invisible hash of the key.
- A mention's photos come through the `attachments.media_keys` expansion (`media.fields=url,type`)
  and are downloaded by `connectors.media_fetch` through the same session, unsigned, from the
  channel's media hosts only: the `media_hosts` setting, by default pbs.twimg.com (where X serves
  photos) and the `api_base` gateway's host. Videos and animated GIFs are not taken.
- tweepy, requests-oauthlib and oauthlib log request headers and signature base strings at DEBUG, which
  name the consumer key and token; their loggers are kept at INFO or above.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
import tweepy
from requests_oauthlib import OAuth1

from . import base
from .base import (
    AuthFailed,
    InboundPost,
    MediaFile,
    MediaLink,
    PollResult,
    Post,
    PostRef,
    RateLimited,
    Reaction,
    ReactionPage,
    Rejected,
    Transient,
)
from .http import GuardedAdapter
from .media_fetch import Attachment, MediaFetcher, media_hosts
from .registry import register

API_HOSTS = ("api.twitter.com", "api.x.com")
MEDIA_HOSTS = ("pbs.twimg.com",)  # where X serves the photos of tweets
UPLOAD_URL = "https://api.x.com/2/media/upload"
MAX_PAGES = 5  # of 100 tweets, per look-up
_INVISIBLE = "\u200b\u200c\u200d\u2060"
# 403s about the post, not the account: retrying the same post will not help, but the credentials are fine.
_CONTENT_403 = ("duplicate content", "deleted or not visible", "reply to this conversation is not allowed")
_NETWORK_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)

for _noisy in ("tweepy", "requests_oauthlib", "oauthlib"):
    if logging.getLogger(_noisy).level < logging.INFO:  # NOTSET (0) would inherit a DEBUG root
        logging.getLogger(_noisy).setLevel(logging.INFO)


def invisible_marker(key: str) -> str:
    """32 bits of the key's hash as 16 zero-width characters (the same marker as on Mastodon)."""
    bits = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big")
    return "".join(_INVISIBLE[(bits >> shift) & 3] for shift in range(0, 32, 2))


def compose(post: Post) -> str:
    text = invisible_marker(post.key) + post.text
    return f"{text}\n\n{post.link}" if post.link and post.link not in post.text else text


def carries_marker(post: Post, tweet: Any) -> bool:
    if invisible_marker(post.key) in tweet.text:
        return True
    urls = {u.get("expanded_url") for u in (tweet.entities or {}).get("urls", [])}
    return bool(post.link) and not any(c in tweet.text for c in _INVISIBLE) and post.link in urls


class GatewayAdapter(GuardedAdapter):
    """Sends requests for X's hosts to an X-compatible gateway (setting `api_base`).

    tweepy cannot be pointed at another host, so the request is re-addressed on the way out; the
    signed URL travels in X-Original-URL, which the gateway needs to check the OAuth1 signature.
    The GuardedSession has checked the original host when this runs; the gateway's URL is checked
    here, at every request like any other (`GuardedAdapter.send`: one of the channel's hosts, and
    connected to on vetted addresses only), not just when the channel was saved.
    """

    def __init__(self, base_url: str):
        super().__init__()
        self.base_url = base_url.rstrip("/")

    def send(self, request: Any, **kwargs: Any) -> Any:
        request.headers["X-Original-URL"] = request.url
        parts = urlsplit(request.url)
        request.url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, **kwargs)

    @classmethod
    def mount_on(cls, session: requests.Session, base_url: str) -> None:
        for host in API_HOSTS:
            session.mount(f"https://{host}", cls(base_url))


@register
class XConnector:
    kind: ClassVar[str] = "x"
    capabilities: ClassVar[frozenset[str]] = frozenset({base.MEDIA, base.POLL, base.REPLIES, base.LIKES,
                                                        base.MENTIONS})

    @staticmethod
    def hosts(settings: dict[str, Any], credentials: dict[str, Any] | None = None) -> list[str]:
        """The hosts the channel's GuardedSession must allow (tweepy's, the v2 media upload's, the
        `api_base` gateway's when one is configured, and the media hosts inbound photos come from)."""
        gateway = _gateway_host(settings)
        return list(dict.fromkeys([*API_HOSTS, *([gateway] if gateway else []), *_media_hosts(settings)]))

    def __init__(self, name: str, settings: dict[str, Any], credentials: dict[str, Any],
                 http: requests.Session) -> None:
        self.name = name
        self.username = settings.get("username")
        keys = [credentials[k] for k in ("consumer_key", "consumer_secret", "access_token", "access_token_secret")]
        self.client = tweepy.Client(consumer_key=keys[0], consumer_secret=keys[1], access_token=keys[2],
                                    access_token_secret=keys[3], wait_on_rate_limit=False)
        self.client.session = http
        self.http = http
        self.media = MediaFetcher(http, _media_hosts(settings))
        if settings.get("api_base"):
            GatewayAdapter.mount_on(http, settings["api_base"])
        self._auth = OAuth1(keys[0], keys[1], keys[2], keys[3], decoding=None)
        self.user_id = keys[2].partition("-")[0]  # an OAuth1 access token starts with its user's id

    def publish(self, post: Post) -> PostRef:
        poll: dict[str, Any] = {}
        if post.poll:
            minutes = math.ceil(post.poll.duration_seconds / 60)
            if post.media:
                raise Rejected("X cannot attach media to a poll")
            if not 2 <= len(post.poll.options) <= 4 or not 5 <= minutes <= 10080:
                raise Rejected("an X poll has 2 to 4 options and lasts 5 minutes to 7 days")
            poll = {"poll_options": list(post.poll.options), "poll_duration_minutes": minutes}
        with self._errors():
            media_ids = [self._upload(m) for m in post.media] or None
            response = self.client.create_tweet(text=compose(post), media_ids=media_ids,
                                                in_reply_to_tweet_id=post.reply_to, user_auth=True, **poll)
        data = response.data if isinstance(response.data, dict) else {}
        tweet_id = base.posted_id(data.get("id"), "X")
        return PostRef(self.name, tweet_id, self._url(tweet_id), {"poll": True} if poll else {})

    def find_published(self, post: Post, not_before: datetime) -> PostRef | None:
        with self._errors():
            for page in tweepy.Paginator(self.client.get_users_tweets, self.user_id, start_time=not_before,
                                         tweet_fields=["created_at", "entities"], max_results=100,
                                         user_auth=True, limit=MAX_PAGES):
                for tweet in page.data or []:
                    if carries_marker(post, tweet):
                        return PostRef(self.name, str(tweet.id), self._url(tweet.id))
        return None

    def fetch_reactions(self, ref: PostRef, cursor: str | None) -> ReactionPage:
        """Replies newer than `cursor` (a tweet id); likers and the poll as they stand now (state, not
        events); the channel's own replies and likes left out."""
        with self._errors():
            pages = list(tweepy.Paginator(
                self.client.search_recent_tweets, f"conversation_id:{ref.remote_id}",
                since_id=cursor or ref.remote_id, max_results=100, expansions=["author_id"], user_auth=True,
                tweet_fields=["author_id", "in_reply_to_user_id", "created_at", "conversation_id"], limit=MAX_PAGES))
            likers = self.client.get_liking_users(ref.remote_id, max_results=100, user_auth=True).data or []
            tweet = self.client.get_tweet(ref.remote_id, expansions=["attachments.poll_ids"], user_auth=True,
                                          poll_fields=["options", "voting_status", "end_datetime"],
                                          tweet_fields=["public_metrics"])
        if tweet.data is None:
            raise Rejected(f"tweet {ref.remote_id} no longer exists")
        replies = [(t, _handles(page)) for page in pages for t in page.data or []]
        items = [Reaction("reply", str(t.author_id), remote_id=str(t.id), author_handle=names.get(t.author_id),
                          at=t.created_at, text=t.text) for t, names in replies if str(t.author_id) != self.user_id]
        items += [Reaction("like", str(u.id), author_handle=u.username) for u in likers if str(u.id) != self.user_id]
        polls = tweet.includes.get("polls") or []
        poll = PollResult({o["label"]: o["votes"] for o in polls[0].options},
                          closed=polls[0].voting_status == "closed") if polls else None
        metrics = tweet.data.public_metrics or {}
        counts = {"replies": metrics.get("reply_count", 0), "likes": metrics.get("like_count", 0),
                  "reposts": metrics.get("retweet_count", 0)}
        newest = max([int(t.id) for t, _ in replies] + ([int(cursor)] if cursor else []), default=None)
        return ReactionPage(sorted(items, key=lambda r: int(r.remote_id or 0)),
                            cursor=None if newest is None else str(newest), counts=counts, poll=poll)

    def inbound(self, cursor: str | None) -> tuple[list[InboundPost], str | None]:
        """Mentions newer than `cursor` (a tweet id), with their photos named for `fetch_media`."""
        with self._errors():
            pages = list(tweepy.Paginator(self.client.get_users_mentions, self.user_id, since_id=cursor,
                                          tweet_fields=["author_id", "created_at", "attachments"],
                                          expansions=["author_id", "attachments.media_keys"],
                                          media_fields=["url", "type", "alt_text"],
                                          max_results=100, user_auth=True, limit=MAX_PAGES))
        posts = [self._inbound_post(t, names, media) for page in pages
                 for names, media in [(_handles(page), _media_by_key(page))] for t in page.data or []]
        newest = max([int(p.remote_id) for p in posts] + ([int(cursor)] if cursor else []), default=None)
        return sorted(posts, key=lambda p: int(p.remote_id)), None if newest is None else str(newest)

    def fetch_media(self, link: MediaLink) -> MediaFile:
        """One photo of a mention, from a media host, unsigned."""
        return self.media.fetch(link)

    def _inbound_post(self, tweet: Any, names: dict[Any, str], media: dict[str, Any]) -> InboundPost:
        keys = (tweet.attachments or {}).get("media_keys") or []
        attachments = [Attachment(key, getattr(m, "type", None) or "unknown", getattr(m, "type", None) == "photo",
                                  tuple(u for u in [getattr(m, "url", None)] if isinstance(u, str) and u),
                                  getattr(m, "alt_text", None)) for key in keys for m in [media.get(key)]]
        links, skipped = self.media.select(attachments)
        handle = names.get(tweet.author_id)
        return InboundPost(str(tweet.id), str(tweet.author_id), tweet.text, url=self._url(tweet.id, handle),
                           author_handle=handle, at=tweet.created_at, media_links=links, media_skipped=skipped)

    def _upload(self, media: MediaFile) -> str:
        category = "tweet_gif" if media.content_type == "image/gif" else "tweet_image"
        response = self.http.post(UPLOAD_URL, auth=self._auth,
                                  files={"media": (media.filename, media.content, media.content_type)},
                                  data={"media_category": category, "media_type": media.content_type})
        if response.status_code >= 300:
            kind = {400: tweepy.BadRequest, 401: tweepy.Unauthorized, 403: tweepy.Forbidden,
                    404: tweepy.NotFound, 429: tweepy.TooManyRequests}.get(response.status_code)
            raise (kind or (tweepy.TwitterServerError if response.status_code >= 500 else tweepy.HTTPException))(
                response)
        return str(response.json()["data"]["id"])

    def _url(self, tweet_id: Any, username: str | None = None) -> str:
        return f"https://x.com/{username or self.username or 'i/web'}/status/{tweet_id}"

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """tweepy's exceptions mapped to the four the job runner understands."""
        try:
            yield
        except tweepy.TooManyRequests as err:
            raise RateLimited(_reset_time(err.response.headers), "X rate limit") from err
        except tweepy.TwitterServerError as err:
            raise Transient(f"X server error: {err}") from err
        except tweepy.Unauthorized as err:
            raise AuthFailed("X refused the credentials") from err
        except tweepy.Forbidden as err:
            if any(phrase in m.lower() for m in err.api_messages for phrase in _CONTENT_403):
                raise Rejected(f"X refused the post: {'; '.join(err.api_messages)}") from err
            raise AuthFailed(f"X forbids this: {'; '.join(err.api_messages)}") from err
        except tweepy.HTTPException as err:
            raise Rejected(f"X rejected the request: {err}") from err
        except _NETWORK_ERRORS as err:
            raise Transient(f"X unreachable: {err}") from err


def _handles(page: Any) -> dict[Any, str]:
    return {u.id: u.username for u in (page.includes or {}).get("users", [])}


def _media_by_key(page: Any) -> dict[str, Any]:
    return {m.media_key: m for m in (page.includes or {}).get("media", [])}


def _gateway_host(settings: dict[str, Any]) -> str | None:
    return urlsplit(settings["api_base"]).hostname if settings.get("api_base") else None


def _media_hosts(settings: dict[str, Any]) -> list[str]:
    """`media_hosts`, by default X's photo host and the gateway's (a gateway serves its photos itself)."""
    return media_hosts(settings, [*MEDIA_HOSTS, _gateway_host(settings)])


def _reset_time(headers: Any) -> datetime:
    """The latest reset among exhausted limits (`x-rate-limit-*`, `x-user-limit-24hour-*`, ...)."""
    resets = {name.lower()[:-6]: int(value) for name, value in headers.items()
              if name.lower().endswith("-reset") and str(value).isdigit()}
    exhausted = [at for prefix, at in resets.items() if headers.get(f"{prefix}-remaining") == "0"]
    epoch = max(exhausted or resets.values(), default=time.time() + 900)
    return datetime.fromtimestamp(epoch, timezone.utc)

"""The one interface every channel kind implements, and the values that cross it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

import requests

# Capabilities a connector may declare; deploy-time checks refuse e.g. a poll on a network without polls.
MEDIA, POLL, REPLIES, LIKES, REACTIONS, MENTIONS, NATIVE_IDEMPOTENCY, DIRECT = (
    "media", "poll", "replies", "likes", "reactions", "mentions", "native_idempotency", "direct")


@dataclass(frozen=True)
class MediaFile:
    """An image. To publish: bytes already checked and stripped of metadata by connectors.media.
    From a network (a reply's or an inbound post's image): bytes as sent, which the server checks
    the same way before it keeps them."""

    content: bytes
    content_type: str
    filename: str
    description: str | None = None  # alt text


@dataclass(frozen=True)
class Poll:
    options: tuple[str, ...]
    duration_seconds: int


@dataclass(frozen=True)
class Post:
    """What to publish. `key` is the idempotency key (stable across retries of the same step)."""

    key: str
    text: str
    media: tuple[MediaFile, ...] = ()
    poll: Poll | None = None
    reply_to: str | None = None  # remote id of the post this answers
    link: str | None = None  # back-link to our task/instance page; also the look-up marker


@dataclass(frozen=True)
class PostRef:
    """Where a post landed."""

    channel: str
    remote_id: str
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. poll id, room id


@dataclass(frozen=True)
class Reaction:
    """One signal from a person: a reply, a like, a poll vote or an emoji."""

    kind: str  # "reply", "like", "vote", "emoji"
    author_id: str  # the network's stable account id (never a display name)
    remote_id: str | None = None
    author_handle: str | None = None
    at: datetime | None = None
    text: str | None = None
    option: str | None = None  # poll option label, for kind="vote"
    emoji: str | None = None
    media: tuple[MediaFile, ...] = ()  # images in a reply (for attachImage by reply)


@dataclass(frozen=True)
class PollResult:
    counts: dict[str, int]
    closed: bool


@dataclass(frozen=True)
class ReactionPage:
    items: list[Reaction]
    cursor: str | None = None  # persist per post; pass back to get only newer reactions
    counts: dict[str, int] = field(default_factory=dict)  # e.g. {"likes": 3, "replies": 2}
    poll: PollResult | None = None


@dataclass(frozen=True)
class MediaLink:
    """An image a post names, on one of the channel's media hosts, not downloaded yet: a post's
    images are fetched (`MediaSource.fetch_media`) only once the post is known to start work, so
    mentions that start nothing cost no downloads."""

    url: str
    description: str | None = None  # alt text


@dataclass(frozen=True)
class SkippedMedia:
    """An image (or video, ...) of a post that was not taken, and why, in words for its readers."""

    source: str  # the URL, or the network's media id where there is no URL
    reason: str


@dataclass(frozen=True)
class InboundPost:
    """A post that mentions the account or carries a watched hashtag (starts instances)."""

    remote_id: str
    author_id: str
    text: str
    url: str | None = None
    author_handle: str | None = None
    at: datetime | None = None
    media: tuple[MediaFile, ...] = ()  # images that came with the post itself
    media_links: tuple[MediaLink, ...] = ()  # images to download with `fetch_media`
    media_skipped: tuple[SkippedMedia, ...] = ()  # attachments refused without a download


class ConnectorError(Exception):
    """Base of the four ways a network call fails."""


class RateLimited(ConnectorError):
    """Try again at `retry_at` (from the network's reset header); never sleep in a worker."""

    def __init__(self, retry_at: datetime, message: str = "rate limited"):
        super().__init__(message)
        self.retry_at = retry_at


class Transient(ConnectorError):
    """A 5xx, a timeout, a dropped connection: retry with backoff."""


class Rejected(ConnectorError):
    """A permanent 4xx: the network refuses this post; retrying will not help."""


class AuthFailed(ConnectorError):
    """Credentials are wrong or revoked: an admin must reconnect the channel."""


class MediaRefused(Exception):  # noqa: N818 - it reads as what happened, like Rejected
    """An image a post names could not be taken (not an image, too large, too slow, not found, not
    on a media host); the message says why, for the people of the instance the post starts."""


def posted_id(value: Any, network: str, detail: str | None = None) -> str:
    """The id a network answered for a new post, as text.

    A "success" without a usable id (a proxy's page, an error object sent with status 200) tells
    neither where the post is nor for sure whether it went out; recorded as is, the post counted
    as sent with the id "None", and its reactions were then read from a post that does not exist.
    It is a `Transient` failure instead: the retry carries the same idempotency key or looks for
    the post first, so a post that did go out is found rather than repeated, and after the last
    attempt the step fails.
    """
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not text:
        raise Transient(f"{network} answered without the new post's id" + (f": {detail}" if detail else ""))
    return text


class Connector(Protocol):
    """One configured account on one network."""

    kind: ClassVar[str]
    capabilities: ClassVar[frozenset[str]]

    def __init__(self, name: str, settings: dict[str, Any], credentials: dict[str, Any],
                 http: requests.Session) -> None: ...

    @staticmethod
    def hosts(settings: dict[str, Any], credentials: dict[str, Any]) -> list[str] | set[str]:
        """The hosts this channel may reach; the server builds its GuardedSession from them."""

    def publish(self, post: Post) -> PostRef:
        """Post it; with NATIVE_IDEMPOTENCY the same `post.key` never posts twice."""

    def find_published(self, post: Post, not_before: datetime) -> PostRef | None:
        """Look before retrying: the post if an earlier attempt did go out, else None."""

    def fetch_reactions(self, ref: PostRef, cursor: str | None) -> ReactionPage:
        """Replies, likes, votes and emoji newer than `cursor`."""

    def inbound(self, cursor: str | None) -> tuple[list[InboundPost], str | None]:
        """Mentions or hashtag posts newer than `cursor`, and the next cursor."""


@runtime_checkable
class MediaSource(Protocol):
    """A connector whose inbound posts name images to download (`InboundPost.media_links`)."""

    def fetch_media(self, link: MediaLink) -> MediaFile:
        """The image's bytes, downloaded from one of the channel's media hosts through its session;
        MediaRefused if it cannot be taken."""

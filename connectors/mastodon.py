"""Mastodon channels through Mastodon.py.

Three settings are not negotiable, each for a reason found the hard way:

- `ratelimit_method="throw"`: the default ("wait") sleeps inside the call, which would park a job
  worker for minutes and is not thread-safe; we turn the reset time into `RateLimited(retry_at)`.
- `mastodon_version` always passed, with `version_check_mode="created"`: without a version the client
  asks /api/v1/instance/ and, if that fails, recurses until RecursionError (Mastodon.py #450); and
  with the default mode "none" the given version is ignored, so `media_post` falls back to the
  deprecated /api/v1/media.
- `session=` the GuardedSession we are handed, so requests reach only the channel's host.

A mention's images (`media_attachments` of type image) are downloaded by `connectors.media_fetch`
through the same session, from the channel's media hosts only: the `media_hosts` setting, by
default the instance's own host (set it when the instance serves files from another host, e.g.
files.example.social or a CDN). `url` (the instance's copy) is preferred over `remote_url`.

Posts carry `Idempotency-Key: post.key`, which the server honours for about an hour; for a worker that
comes back later, `find_published` looks for the post's marker (an invisible hash of the key, and the
back-link) among the account's recent statuses.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
from mastodon import Mastodon
from mastodon import errors as api

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
from .http import HostNotAllowed
from .media_fetch import Attachment, MediaFetcher, media_hosts
from .registry import register

VISIBILITIES = ("public", "unlisted", "private", "direct")
_INVISIBLE = "\u200b\u200c\u200d\u2060"  # zero-width space, non-joiner, joiner, word joiner
LOOKBACK_PAGES = 5  # find_published reads at most 5 x 40 recent statuses


def invisible_marker(key: str) -> str:
    """32 bits of the key's hash as 16 zero-width characters: unseen by readers, findable by us."""
    bits = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big")
    return "".join(_INVISIBLE[(bits >> shift) & 3] for shift in range(0, 32, 2))


def compose(post: Post) -> str:
    text = invisible_marker(post.key) + post.text
    return f"{text}\n\n{post.link}" if post.link and post.link not in post.text else text


def carries_marker(post: Post, content: str) -> bool:
    """The key's marker; or, where the network stripped zero-width characters, the back-link."""
    if invisible_marker(post.key) in content:
        return True
    return bool(post.link) and not any(c in content for c in _INVISIBLE) and post.link in html.unescape(content)


def plain_text(content: str) -> str:
    """Mastodon sends HTML; reviews match words in text."""
    content = re.sub(r"</p>\s*<p>", "\n\n", re.sub(r"<br\s*/?>", "\n", content))
    return html.unescape(re.sub(r"<[^>]+>", "", content)).strip()


@register
class MastodonConnector:
    kind: ClassVar[str] = "mastodon"
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {base.MEDIA, base.POLL, base.REPLIES, base.LIKES, base.MENTIONS, base.NATIVE_IDEMPOTENCY, base.DIRECT})

    @staticmethod
    def hosts(settings: dict[str, Any], credentials: dict[str, Any] | None = None) -> list[str]:
        """The hosts the channel's GuardedSession must allow: the instance's and its media hosts."""
        host = urlsplit(settings["base_url"]).hostname or ""
        return list(dict.fromkeys([host, *media_hosts(settings, [host])]))

    def __init__(self, name: str, settings: dict[str, Any], credentials: dict[str, Any],
                 http: requests.Session) -> None:
        token = credentials["access_token"]
        if os.path.exists(token):  # Mastodon.py would read a token *file* of that name and send its contents
            raise ValueError("access_token must be a token, not a path")
        self.name = name
        self.visibility = settings.get("visibility", "public")
        if self.visibility not in VISIBILITIES:
            raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}")
        self.api = Mastodon(access_token=token, api_base_url=settings["base_url"].rstrip("/"), session=http,
                            ratelimit_method="throw", mastodon_version=settings.get("mastodon_version", "4.3.0"),
                            version_check_mode="created", request_timeout=getattr(http, "timeout", 20))
        self.media = MediaFetcher(http, media_hosts(settings, [urlsplit(settings["base_url"]).hostname]))
        self._me: str | None = None

    def publish(self, post: Post) -> PostRef:
        if post.poll and post.media and not self.api.verify_minimum_version("4.6.0", cached=True):
            raise Rejected("Mastodon before 4.6 cannot attach media to a poll")
        with self._errors():
            media_ids = [self.api.media_post(m.content, mime_type=m.content_type, description=m.description,
                                             file_name=m.filename).id for m in post.media]
            poll = self.api.make_poll(list(post.poll.options), expires_in=post.poll.duration_seconds) \
                if post.poll else None
            status = self.api.status_post(compose(post), in_reply_to_id=post.reply_to, media_ids=media_ids or None,
                                          visibility=self.visibility, poll=poll, idempotency_key=post.key)
        return self._ref(status)

    def find_published(self, post: Post, not_before: datetime) -> PostRef | None:
        max_id = None
        with self._errors():
            for _ in range(LOOKBACK_PAGES):
                page = self.api.account_statuses(self._account_id(), max_id=max_id, limit=40)
                for status in page:
                    if _aware(status.created_at) >= _aware(not_before) and carries_marker(post, status.content):
                        return self._ref(status)
                if not page or _aware(page[-1].created_at) < _aware(not_before):
                    return None
                max_id = page[-1].id
        return None

    def fetch_reactions(self, ref: PostRef, cursor: str | None) -> ReactionPage:
        """New replies since `cursor` (the newest reply id seen); likes and the poll as they stand now.

        Likes and poll tallies are state, not events (a like can be withdrawn), so every page carries
        all current likers and counts; only replies are filtered by the cursor. The channel's own
        replies and likes (reminders, say) are left out: reactions are what other people said.
        """
        with self._errors():
            status = self.api.status(ref.remote_id)
            replies = [s for s in self.api.status_context(ref.remote_id).descendants
                       if cursor is None or int(s.id) > int(cursor)]
            likers = self.api.status_favourited_by(ref.remote_id)
        own = str(status.account.id)
        items = [Reaction("reply", str(s.account.id), remote_id=str(s.id), author_handle=s.account.acct,
                          at=_aware(s.created_at), text=plain_text(s.content)) for s in replies
                 if str(s.account.id) != own]
        items += [Reaction("like", str(a.id), author_handle=a.acct) for a in likers if str(a.id) != own]
        poll = None if not status.poll else PollResult(
            {o.title: o.votes_count or 0 for o in status.poll.options}, closed=bool(status.poll.expired))
        newest = max([int(s.id) for s in replies] + ([int(cursor)] if cursor else []), default=None)
        counts = {"replies": status.replies_count, "likes": status.favourites_count, "reblogs": status.reblogs_count}
        return ReactionPage(items, cursor=None if newest is None else str(newest), counts=counts, poll=poll)

    def inbound(self, cursor: str | None) -> tuple[list[InboundPost], str | None]:
        """Mentions newer than `cursor` (a notification id); min_id pages upwards, so none are skipped."""
        with self._errors():
            notes = self.api.notifications(types=["mention"], min_id=cursor, limit=40)
        posts = [self._inbound_post(n) for n in notes if n.status]
        newest = max([int(n.id) for n in notes] + ([int(cursor)] if cursor else []), default=None)
        return sorted(posts, key=lambda p: int(p.remote_id)), None if newest is None else str(newest)

    def fetch_media(self, link: MediaLink) -> MediaFile:
        """One image of a mention, from a media host, without the access token."""
        return self.media.fetch(link)

    def _inbound_post(self, note: Any) -> InboundPost:
        status = note.status
        attachments = [Attachment(str(a.get("id")), str(a.get("type") or ""), a.get("type") == "image",
                                  tuple(u for u in (a.get("url"), a.get("remote_url")) if isinstance(u, str) and u),
                                  a.get("description")) for a in status.get("media_attachments") or []]
        links, skipped = self.media.select(attachments)
        return InboundPost(str(status.id), str(note.account.id), plain_text(status.content), url=status.url,
                           author_handle=note.account.acct, at=_aware(status.created_at), media_links=links,
                           media_skipped=skipped)

    def _account_id(self) -> str:
        if self._me is None:
            self._me = str(self.api.me().id)
        return self._me

    def _ref(self, status: Any) -> PostRef:
        answer = status if isinstance(status, dict) else {}
        remote_id = base.posted_id(answer.get("id"), "Mastodon", str(answer.get("error") or "") or None)
        poll = answer.get("poll")
        extra = {"poll_id": str(poll["id"])} if isinstance(poll, dict) and poll.get("id") else {}
        url = answer.get("url")
        return PostRef(self.name, remote_id, url if isinstance(url, str) else None, extra)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Mastodon.py's exceptions mapped to the four the job runner understands."""
        try:
            yield
        except api.MastodonRatelimitError as err:
            reset = self.api.ratelimit_reset
            retry_at = datetime.fromtimestamp(reset if reset else time.time() + 60, timezone.utc)
            raise RateLimited(retry_at, "Mastodon rate limit") from err
        except api.MastodonNetworkError as err:
            if isinstance(err.__context__, HostNotAllowed):  # a configuration error, not a network one
                raise err.__context__ from None
            raise Transient(f"Mastodon unreachable: {err}") from err
        except api.MastodonServerError as err:
            raise Transient(f"Mastodon server error: {err}") from err
        except api.MastodonUnauthorizedError as err:
            raise AuthFailed("Mastodon refused the access token") from err
        except api.MastodonAPIError as err:
            status = err.args[1] if len(err.args) > 1 and isinstance(err.args[1], int) else None
            if status == 403:
                raise AuthFailed(f"Mastodon forbids this: {err.args[-1]}") from err
            if status in (408, 409):
                raise Transient(f"Mastodon: {err.args[-1]}") from err
            raise Rejected(f"Mastodon rejected the request ({status}): {err.args[-1]}") from err
        except api.MastodonError as err:  # version or argument errors: retrying cannot help
            raise Rejected(f"Mastodon client: {err}") from err


def _aware(at: datetime) -> datetime:
    """In UTC: Mastodon.py returns times in the machine's local zone."""
    return at.astimezone(timezone.utc) if at.tzinfo else at.replace(tzinfo=timezone.utc)


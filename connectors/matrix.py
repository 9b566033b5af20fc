"""Matrix rooms through matrix-nio: a private review room, a team room, a room with one person.

Settings `{"homeserver": url, "room_id": "!..."}`; credentials `{"user_id", "device_id",
"access_token"}` (a logged-in device restored with restore_login, so no password is stored).

Why it looks the way it does:
- nio is asyncio while connectors run in worker threads: each method is one `asyncio.run` with a
  fresh client, bounded by `asyncio.wait_for`. nio retries 429s and timeouts forever by default,
  sleeping; here a 429 is never retried (it becomes RateLimited) and a timeout at most twice.
- nio uses aiohttp, not the channel's GuardedSession, so the host rule is enforced here: the
  homeserver URL goes through the session's `check` before each call, and the aiohttp session
  (`connectors.guarded_aiohttp`) checks every request and redirect and connects only to addresses
  its channel's policy resolved and vetted.
- nio *returns* errors (RoomSendError, ...) instead of raising; `_raise_for` maps them.
- Idempotency is native: the event is sent with txnId = post key, and the homeserver answers a
  repeated txnId from the same device with the first event id (Synapse keeps them for hours).
  `find_published` looks further back for our key in the room, for retries after that.
"""

from __future__ import annotations

import asyncio
import html
import io
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote

import aiohttp
import requests
from nio import AsyncClient, AsyncClientConfig, ErrorResponse, MessageDirection
from nio.api import Api
from nio.responses import RoomEventRelationsResponse
from yarl import URL

from . import base
from .addresses import AddressRefused
from .base import InboundPost, MediaFile, Post, PostRef, Reaction, ReactionPage
from .guarded_aiohttp import guarded_client_session
from .http import GuardedSession, HostNotAllowed
from .registry import register

T = TypeVar("T")
KEY_FIELD = "org.processcafe.key"  # our post key inside the event content: exact look-ups
NIO_CONFIG = AsyncClientConfig(max_limit_exceeded=0, max_timeouts=2, max_timeout_retry_wait_time=2,
                               request_timeout=20)
CALL_TIMEOUT = 60.0
PAGE, MAX_PAGES = 50, 20
TIMELINE_LIMIT = 50
MAX_REPLY_IMAGE = 20 * 1024 * 1024
AUTH_CODES = {"M_FORBIDDEN", "M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"}
MESSAGES, NOTHING = {"types": ["m.room.message"]}, {"not_types": ["*"]}


def _raise_for(response: Any, what: str) -> None:
    """Turn a returned nio error into one of the four connector errors."""
    if not isinstance(response, ErrorResponse):
        return
    status = getattr(response.transport_response, "status", None)
    if response.status_code == "M_LIMIT_EXCEEDED" or status == 429:
        retry_ms = response.retry_after_ms or 30_000
        raise base.RateLimited(datetime.now(timezone.utc) + timedelta(milliseconds=retry_ms), f"{what}: {response}")
    if response.status_code in AUTH_CODES or status == 401:
        raise base.AuthFailed(f"{what}: {response}")
    if status is None or status >= 500:
        raise base.Transient(f"{what}: {response}")
    raise base.Rejected(f"{what}: {response}")


def _int(text: str) -> int:
    return int(text) if text.isdigit() else -1


def _at(source: dict[str, Any]) -> datetime | None:
    ts = source.get("origin_server_ts")
    return datetime.fromtimestamp(ts / 1000, tz=timezone.utc) if isinstance(ts, int) else None


@register
class MatrixConnector:
    """One device of one Matrix account, posting to one room."""

    kind: ClassVar[str] = "matrix"
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {base.MEDIA, base.REPLIES, base.REACTIONS, base.MENTIONS, base.NATIVE_IDEMPOTENCY})

    def __init__(self, name: str, settings: dict[str, Any], credentials: dict[str, Any],
                 http: requests.Session) -> None:
        self.name = name
        self.homeserver = settings["homeserver"].rstrip("/")
        self.room_id: str = settings["room_id"]
        self.user_id: str = credentials["user_id"]
        self._device_id: str = credentials["device_id"]
        self._token: str = credentials["access_token"]
        # Only the channel's own admin-set flag allows private addresses, and it comes with the
        # session the server made for the channel; an `allow_private` key in the settings does not.
        self.http = http if isinstance(http, GuardedSession) else GuardedSession(self.hosts(settings, credentials))

    @staticmethod
    def hosts(settings: dict[str, Any], credentials: dict[str, Any]) -> set[str]:
        return {URL(settings["homeserver"]).host or ""} - {""}

    def __repr__(self) -> str:  # never the token
        return f"<MatrixConnector {self.name} {self.user_id} {self.room_id}>"

    def _call(self, work: Callable[[AsyncClient], Awaitable[T]]) -> T:
        """Run one unit of work with a fresh client on a fresh event loop (we are in a worker thread)."""

        async def main() -> T:
            client = AsyncClient(self.homeserver, self.user_id, device_id=self._device_id, config=NIO_CONFIG)
            client.restore_login(self.user_id, self._device_id, self._token)
            client.client_session = guarded_client_session(self.http, NIO_CONFIG.request_timeout)
            try:
                return await asyncio.wait_for(work(client), CALL_TIMEOUT)
            finally:
                await client.close()

        try:
            self.http.check(self.homeserver)
            return asyncio.run(main())
        except (HostNotAllowed, AddressRefused) as err:
            raise base.Rejected(str(err)) from None
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            raise base.Transient(f"{self.homeserver}: {type(err).__name__}: {err}") from None

    def _ref(self, event_id: str, **extra: Any) -> PostRef:
        url = f"https://matrix.to/#/{quote(self.room_id, safe='!:')}/{quote(event_id, safe='$')}"
        return PostRef(channel=self.name, remote_id=event_id, url=url, extra={"room_id": self.room_id, **extra})

    @staticmethod
    async def _back_to(fetch: Callable[[str | None], Awaitable[tuple[list, str | None]]], last_id: str,
                       stop_ts: int) -> list[dict[str, Any]]:
        """Page backwards (newest first) down to the event `last_id` or the first one older than `stop_ts`."""
        fresh: list[dict[str, Any]] = []
        token = None
        for _ in range(MAX_PAGES):
            sources, token = await fetch(token)
            done = next((i for i, s in enumerate(sources) if s.get("event_id") == last_id
                         or s.get("origin_server_ts", 0) < stop_ts), None)
            fresh += sources[:done]
            if done is not None or not sources or not token:
                break
        return fresh

    async def _messages(self, client: AsyncClient, token: str | None, filter_: dict) -> tuple[list, str | None]:
        page = await client.room_messages(self.room_id, start=token, direction=MessageDirection.back, limit=PAGE,
                                          message_filter=filter_)
        _raise_for(page, "reading the room")
        return [e.source for e in page.chunk], page.end

    async def _thread_of(self, client: AsyncClient, reply_to: str) -> dict[str, Any]:
        """Reply in the thread of `reply_to` (its own thread, or the one it already belongs to)."""
        response = await client.room_get_event(self.room_id, reply_to)
        _raise_for(response, "reading the post replied to")
        relation = response.event.source.get("content", {}).get("m.relates_to") or {}
        root = relation["event_id"] if relation.get("rel_type") == "m.thread" else reply_to
        return {"rel_type": "m.thread", "event_id": root, "is_falling_back": False,
                "m.in_reply_to": {"event_id": reply_to}}

    async def _send(self, client: AsyncClient, content: dict[str, Any], tx_id: str) -> str:
        response = await client.room_send(self.room_id, "m.room.message", content, tx_id=tx_id)
        _raise_for(response, "sending to the room")
        return base.posted_id(getattr(response, "event_id", None), "Matrix")

    async def _publish(self, client: AsyncClient, post: Post) -> PostRef:
        relation = await self._thread_of(client, post.reply_to) if post.reply_to else None
        related = {"m.relates_to": relation} if relation else {}
        media_ids = []
        for number, media in enumerate(post.media):  # images first, the text (the post itself) last
            upload, _ = await client.upload(io.BytesIO(media.content), content_type=media.content_type,
                                            filename=media.filename, filesize=len(media.content))
            _raise_for(upload, "uploading an image")
            content = {"msgtype": "m.image", "body": media.description or media.filename,
                       "filename": media.filename, "url": upload.content_uri,
                       "info": {"mimetype": media.content_type, "size": len(media.content)},
                       KEY_FIELD: f"{post.key}#media{number}", **related}
            media_ids.append(await self._send(client, content, f"{post.key}#media{number}"))
        body, formatted = post.text, html.escape(post.text).replace("\n", "<br>")
        if post.link:
            body += f"\n\n{post.link}"
            formatted += f'<br><br><a href="{html.escape(post.link)}">{html.escape(post.link)}</a>'
        content = {"msgtype": "m.text", "body": body, "format": "org.matrix.custom.html",
                   "formatted_body": formatted, KEY_FIELD: post.key, **related}
        return self._ref(await self._send(client, content, post.key), media_event_ids=media_ids)

    def publish(self, post: Post) -> PostRef:
        return self._call(lambda client: self._publish(client, post))

    async def _find(self, client: AsyncClient, post: Post, not_before: datetime) -> PostRef | None:
        mine = {"senders": [self.user_id], **MESSAGES}
        ours = await self._back_to(lambda token: self._messages(client, token, mine), "",
                                   int(not_before.timestamp() * 1000))
        found = next((s for s in ours if (s.get("content") or {}).get(KEY_FIELD) == post.key), None)
        return self._ref(found["event_id"]) if found else None

    def find_published(self, post: Post, not_before: datetime) -> PostRef | None:
        """Our messages since `not_before`, newest first, matched on the key in their content."""
        return self._call(lambda client: self._find(client, post, not_before))

    async def _reaction(self, client: AsyncClient, source: dict[str, Any]) -> Reaction | None:
        content, sender = source.get("content") or {}, source.get("sender", "")
        relation = content.get("m.relates_to") or {}
        common = {"author_id": sender, "remote_id": source.get("event_id"), "at": _at(source)}
        if sender == self.user_id:
            return None
        if source.get("type") == "m.reaction" and relation.get("rel_type") == "m.annotation":
            return Reaction(kind="emoji", emoji=relation.get("key"), **common)
        if source.get("type") != "m.room.message" or relation.get("rel_type") != "m.thread":
            return None
        media: tuple[MediaFile, ...] = ()
        info = content.get("info") or {}
        if content.get("msgtype") == "m.image" and 0 < int(info.get("size") or MAX_REPLY_IMAGE) <= MAX_REPLY_IMAGE:
            download = await client.download(content.get("url"))
            _raise_for(download, "downloading an image")
            media = (MediaFile(download.body, info.get("mimetype") or download.content_type,
                               content.get("filename") or content.get("body") or "image"),)
        text = None if media else content.get("body")
        return Reaction(kind="reply", text=text, media=media, **common)

    async def _relations(self, client: AsyncClient, ref: PostRef, token: str | None) -> tuple[list, str | None]:
        room_id = ref.extra.get("room_id", self.room_id)
        method, path = Api.room_get_event_relations(client.access_token, room_id, ref.remote_id, limit=PAGE,
                                                    direction=MessageDirection.back, paginate_from=token)
        # nio's room_get_event_relations iterator swallows errors; its own request path does not.
        page = await client._send(RoomEventRelationsResponse, method, path, response_data=(room_id, ref.remote_id))
        _raise_for(page, "reading reactions")
        return [e.source for e in page.events], page.next_batch

    async def _reactions(self, client: AsyncClient, ref: PostRef, cursor: str | None) -> ReactionPage:
        seen_id, _, seen_ts = (cursor or "").partition("|")
        fresh = await self._back_to(lambda token: self._relations(client, ref, token), seen_id, _int(seen_ts))
        next_cursor = f"{fresh[0]['event_id']}|{fresh[0].get('origin_server_ts', '')}" if fresh else cursor
        items = [r for s in reversed(fresh) if (r := await self._reaction(client, s))]
        return ReactionPage(items=items, cursor=next_cursor)

    def fetch_reactions(self, ref: PostRef, cursor: str | None) -> ReactionPage:
        """Thread replies (with their images) and emoji annotations, oldest first, newer than `cursor`."""
        return self._call(lambda client: self._reactions(client, ref, cursor))

    def _mentions_me(self, content: dict[str, Any]) -> bool:
        """Intentional mentions (m.mentions), else the user id in the text or a matrix.to pill."""
        return (self.user_id in ((content.get("m.mentions") or {}).get("user_ids") or [])
                or self.user_id in f"{content.get('body')} {content.get('formatted_body')}")

    async def _inbound(self, client: AsyncClient, cursor: str | None) -> tuple[list[InboundPost], str | None]:
        # The cursor is "sync token|newest message id|its timestamp": a sync token alone cannot bound
        # the back-pagination that fills a gap (Synapse mixes stream and topological positions there).
        token, _, last = (cursor or "").partition("|")
        last_id, _, last_ts = last.partition("|")
        wanted = {"rooms": [self.room_id], "timeline": {"limit": TIMELINE_LIMIT if cursor else 1, **MESSAGES},
                "state": {"types": []}, "ephemeral": NOTHING, "account_data": NOTHING}
        sync = await client.sync(timeout=0, since=token or None, full_state=False,
                                 sync_filter={"room": wanted, "presence": NOTHING, "account_data": NOTHING})
        _raise_for(sync, "syncing")
        room = sync.rooms.join.get(self.room_id)
        events = [e.source for e in room.timeline.events] if room else []
        if cursor and room and room.timeline.limited:  # more than one timeline's worth since the cursor
            gap = room.timeline.prev_batch
            older = await self._back_to(lambda token: self._messages(client, token or gap, MESSAGES), last_id,
                                        _int(last_ts))
            events = older[::-1] + events
        newest = events[-1] if events else {"event_id": last_id, "origin_server_ts": last_ts}
        next_cursor = f"{sync.next_batch}|{newest['event_id']}|{newest.get('origin_server_ts', '')}"
        if cursor is None:  # first call: start from now, old mentions do not start processes
            return [], next_cursor
        posts = [InboundPost(remote_id=s["event_id"], author_id=s["sender"], text=s["content"].get("body", ""),
                             url=self._ref(s["event_id"]).url, at=_at(s))
                 for s in events if s.get("sender") != self.user_id and s.get("type") == "m.room.message"
                 and self._mentions_me(s.get("content") or {})]
        return posts, next_cursor

    def inbound(self, cursor: str | None) -> tuple[list[InboundPost], str | None]:
        """Room messages that mention this account, newer than the cursor."""
        return self._call(lambda client: self._inbound(client, cursor))

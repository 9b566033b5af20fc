"""One live feed connection: the text/event-stream body behind GET /api/v1/feed/events.

The stream subscribes to this process's broker (server/social/feed_events.py) before it reads
what the client missed (Last-Event-ID), so nothing committed in between is lost; an item found
both ways is written once. It holds no database session while it waits: the backlog and the
follows are read in short read-only sessions.

Each stream does hold one request thread of its server process (gunicorn's gthread worker). So a
process accepts at most half its threads as streams (503 with Retry-After beyond that; clients
retry or poll GET /api/v1/feed), one person at most a quarter of those (a new one ends their
oldest), and a stream ends
after a few minutes: EventSource reconnects
with Last-Event-ID and nothing is lost, and a restarting worker is not held up for long. The web
task list can serve the same body from a session-authenticated route: `EventStream(db, principal, after)`.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

from flask import current_app

from ..access import Principal
from ..db import Database
from ..social import feed
from ..social.feed_events import Event, broker_for, env_float

BACKLOG = 500  # items replayed on resume; a client that missed more reloads its feed
REFRESH = 30.0  # seconds between re-reading the follows (see FeedBroker.follows_changed)
RETRY_MS = 2000


def stream_limit() -> int | None:
    """Live streams one process takes: PROCESSCAFE_FEED_STREAMS, or half its request threads."""
    if os.environ.get("PROCESSCAFE_FEED_STREAMS"):
        return max(1, int(os.environ["PROCESSCAFE_FEED_STREAMS"]))
    threads = current_app.config.get("PROCESSCAFE_THREADS")  # set by server/wsgi.py
    return max(1, threads // 2) if threads else None


def per_user_limit(limit: int | None) -> int | None:
    """Live streams one person may hold in one process: PROCESSCAFE_FEED_STREAMS_PER_USER, or a
    quarter of the process's streams (4 of 16 by default: a few tabs)."""
    if os.environ.get("PROCESSCAFE_FEED_STREAMS_PER_USER"):
        return max(1, int(os.environ["PROCESSCAFE_FEED_STREAMS_PER_USER"]))
    return max(1, limit // 4) if limit else None


def followed(db: Database, principal: Principal) -> list[str]:
    with db.read() as session:
        return feed.followed_streams(session, principal)


class EventStream:
    """The body of one text/event-stream response. It is a class, not a bare generator, so that the
    subscription ends when the server closes the response even if it never started iterating."""

    def __init__(self, db: Database, principal: Principal, after: int | None, limit: int | None = None):
        self.db, self.principal, self.after = db, principal, after
        self.heartbeat = env_float("PROCESSCAFE_FEED_HEARTBEAT", 15.0)
        self.lifetime = env_float("PROCESSCAFE_FEED_LIFETIME", 300.0)
        self.broker = broker_for(db)
        self.sub = self.broker.subscribe(principal.name, self._streams(), limit,
                                         per_user_limit(limit))  # may raise TooManyStreams
        self._gen = self._events()

    def _streams(self) -> list[str]:
        return followed(self.db, self.principal)

    def __iter__(self) -> Iterator[bytes]:
        return self._gen

    def close(self) -> None:
        self.broker.unsubscribe(self.sub)  # also ends a wait in another thread
        with contextlib.suppress(ValueError):  # still running in another thread: it ends on waking
            self._gen.close()

    def _events(self) -> Iterator[bytes]:
        yield f"retry: {RETRY_MS}\n\n".encode()
        sent: set[int] = set()
        if self.after is not None:  # resume: what was missed comes from the database
            with self.db.read() as session:
                missed = [Event.of(i) for i in feed.items_after(session, self.sub.streams, self.after, BACKLOG)]
            sent = {ev.id for ev in missed}
            if missed:
                yield "".join(ev.sse() for ev in missed).encode()
        now = time.monotonic()
        end, beat, refresh = now + self.lifetime, now + self.heartbeat, now + REFRESH
        while now < end and not self.sub.closed:
            events = [ev for ev in self.sub.take(min(end, beat, refresh) - now) if ev.id not in sent]
            now = time.monotonic()
            if events:
                yield "".join(ev.sse() for ev in events).encode()
                beat = now + self.heartbeat
            elif now >= beat:
                yield b": keep-alive\n\n"
                beat = now + self.heartbeat
            if now >= refresh:
                self.broker.update(self.sub, self._streams())
                refresh = now + REFRESH

"""Live feed updates: an in-process broker that server-sent-events clients subscribe to.

Several server processes (gunicorn workers, job workers) write feed items, and each process only
knows its own commits. So every process that has at least one connected client runs one poller
thread that asks the database for items newer than the last it saw, about once a second: one
query per process, whatever the number of clients, and none at all in a process without clients.
After a commit that posted items, the committing process wakes its poller at once (an SQLAlchemy
`after_commit` hook), so local posts arrive in milliseconds and posts from other processes within
the poll interval. Items are always read back from the database, never handed over from the
writing transaction, so a client never hears of an item that rolled back.

Ids come from a sequence when a row is inserted, not when it commits: on PostgreSQL a transaction
holding id 11 may commit after the one holding id 12. `_Cursor` therefore keeps asking for the
ids it skipped for a grace period (rolled-back inserts leave holes for ever).

Nothing here holds a database session while waiting: the poller and each stream open a short
read-only session for one query and close it, so an idle stream never holds a connection or a
SQLite lock. The HTTP side (one text/event-stream response per client) is server/api/feed_stream.py.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, func, or_, select
from sqlalchemy.orm import Session

from ..db import Database
from ..models import FeedItem
from ..services.errors import ServiceError
from . import feed

log = logging.getLogger(__name__)

BATCH = 500  # items per poll query; a poll that fills it polls again at once
QUEUE_LIMIT = 1000  # a client this far behind is dropped; it reconnects and resumes from the database
GAP_GRACE = 10.0  # seconds a skipped id is asked for again (an open transaction may still commit it)


def env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


class TooManyStreams(ServiceError):
    status = 503
    title = "Service unavailable"


@dataclass(frozen=True)
class Event:
    id: int
    stream: str
    instance_id: str | None
    data: str  # the item as JSON, encoded once for every client

    @classmethod
    def of(cls, item: FeedItem) -> Event:
        body = feed.item_dict(item) | {"likes": 0, "liked": False, "comments": []}
        return cls(item.id, item.stream, item.instance_id, json.dumps(body, default=_iso))

    def sse(self) -> str:
        return f"id: {self.id}\nevent: item\ndata: {self.data}\n\n"


def _iso(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


class _Cursor:
    """Which item ids this process has seen: the highest, and the holes below it still worth asking for."""

    def __init__(self, top: int):
        self.top = top
        self.missing: dict[int, float] = {}  # id -> when it was first skipped

    def condition(self):
        if not self.missing:
            return FeedItem.id > self.top
        return or_(FeedItem.id > self.top, FeedItem.id.in_(sorted(self.missing)))

    def accept(self, ids: Iterable[int], now: float) -> set[int]:
        new = set()
        for item_id in sorted(ids):
            if item_id > self.top:
                for hole in range(max(self.top + 1, item_id - 1000), item_id):
                    self.missing[hole] = now
                self.top = item_id
                new.add(item_id)
            elif self.missing.pop(item_id, None) is not None:
                new.add(item_id)
        self.missing = {i: t for i, t in self.missing.items() if now - t < GAP_GRACE}
        return new


class Subscriber:
    """One connected client: the streams it reads and the events waiting to be written to it."""

    def __init__(self, username: str, streams: Iterable[str]):
        self.username = username
        self.since = time.monotonic()
        self.set_streams(streams)
        self.closed = False
        self._events: deque[Event] = deque()
        self._cond = threading.Condition()

    def set_streams(self, streams: Iterable[str]) -> None:
        self.streams = frozenset(streams)
        self.instances = frozenset(feed.instance_ids(self.streams))

    def wants(self, ev: Event) -> bool:
        if ev.stream not in self.streams:
            return False
        return not (ev.stream.startswith("definition:") and ev.instance_id in self.instances)

    def put(self, ev: Event) -> None:
        with self._cond:
            if len(self._events) >= QUEUE_LIMIT:
                self.closed = True  # too slow: it resumes from the database when it reconnects
            else:
                self._events.append(ev)
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify()

    def take(self, timeout: float) -> list[Event]:
        with self._cond:
            if not self._events and not self.closed:
                self._cond.wait(max(0.0, timeout))
            events = list(self._events)
            self._events.clear()
            return events


class FeedBroker:
    """The subscribers of one process and one database, and the poller that feeds them."""

    def __init__(self, db: Database, poll_interval: float | None = None):
        self._db = weakref.ref(db)  # not a strong one: the registry below is keyed by db.engine
        self.poll_interval = poll_interval or env_float("PROCESSCAFE_FEED_POLL", 1.0)
        self.pid = os.getpid()
        self._lock = threading.Condition()
        self._subscribers: set[Subscriber] = set()
        self._by_stream: dict[str, set[Subscriber]] = {}
        self._thread: threading.Thread | None = None
        self._wake = False
        self._cursor: _Cursor | None = None
        self.polls = 0

    @property
    def db(self) -> Database:
        return self._db()

    def subscribe(self, username: str, streams: Iterable[str], limit: int | None = None,
                  per_user: int | None = None) -> Subscriber:
        with self._lock:
            if limit is not None and len(self._subscribers) >= limit:
                raise TooManyStreams("this server process serves as many live feeds as it can; retry later "
                                     "or poll GET /api/v1/feed")
            if per_user is not None:
                self._make_room_for(username, per_user)
            sub = Subscriber(username, streams)
            self._subscribers.add(sub)
            self._index(sub, add=True)
            if self._thread is None:
                with self.db.read() as session:  # from here on, every commit reaches this subscriber
                    self._cursor = _Cursor(session.scalar(select(func.coalesce(func.max(FeedItem.id), 0))))
                self._thread = threading.Thread(target=self._run, name="feed-poller", daemon=True)
                self._thread.start()
            return sub

    def _make_room_for(self, username: str, per_user: int) -> None:
        """One person holds at most `per_user` streams, so that one client (many tabs, or a script
        opening and dropping streams) cannot take every slot. A new stream ends that person's
        oldest instead of being refused: a page left behind holds its stream until the next
        heartbeat finds the connection gone, and refusing the new one sent people who merely
        went back and forth between pages without live updates (a still open tab reconnects,
        resuming where it was)."""
        own = sorted((s for s in self._subscribers if s.username == username), key=lambda s: s.since)
        for oldest in own[:max(0, len(own) - per_user + 1)]:
            self._subscribers.discard(oldest)
            self._index(oldest, add=False)
            oldest.close()

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            if sub in self._subscribers:
                self._subscribers.discard(sub)
                self._index(sub, add=False)
                self._lock.notify()
        sub.close()

    def update(self, sub: Subscriber, streams: Iterable[str]) -> None:
        with self._lock:
            if sub not in self._subscribers:
                return
            self._index(sub, add=False)
            sub.set_streams(streams)
            self._index(sub, add=True)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait for the poller to stop once the last subscriber has gone (tests, benchmarks)."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def follows_changed(self, username: str, load_streams: Callable[[], Iterable[str]]) -> None:
        """A follow or unfollow committed in this process: that user's live streams switch over before
        the request returns, so an item posted right after it is not missed (other processes'
        streams catch up at their next periodic refresh)."""
        with self._lock:
            subs = [s for s in self._subscribers if s.username == username]
        if subs:
            streams = list(load_streams())
            for sub in subs:
                self.update(sub, streams)

    def wake(self) -> None:
        with self._lock:
            self._wake = True
            self._lock.notify()

    def _index(self, sub: Subscriber, add: bool) -> None:
        for stream in sub.streams:
            subs = self._by_stream.setdefault(stream, set())
            if add:
                subs.add(sub)
            else:
                subs.discard(sub)
                if not subs:
                    del self._by_stream[stream]

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._subscribers:
                    self._thread = None  # a later subscriber starts a new poller with a fresh cursor
                    return
                if not self._wake:
                    self._lock.wait(self.poll_interval)
                if not self._subscribers or self.db is None:  # the app that owned the database is gone
                    self._thread = None
                    return
                self._wake = False
            try:
                while self.poll_once() >= BATCH:
                    pass
            except Exception:
                log.exception("feed poll failed; trying again")
                time.sleep(self.poll_interval)

    def poll_once(self) -> int:
        """One query for everything new (in every stream); then each subscriber gets its share."""
        cursor = self._cursor
        with self.db.read() as session:
            rows = session.scalars(select(FeedItem).where(cursor.condition()).order_by(FeedItem.id).limit(BATCH))
            events = [Event.of(row) for row in rows]
        self.polls += 1
        new = cursor.accept([ev.id for ev in events], time.monotonic())
        for ev in events:
            if ev.id in new:
                with self._lock:
                    targets = [s for s in self._by_stream.get(ev.stream, ()) if s.wants(ev)]
                for sub in targets:
                    sub.put(ev)
        return len(events)


_brokers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_brokers_lock = threading.Lock()


def broker_for(db: Database) -> FeedBroker:
    """This process's broker for this database (a forked worker makes its own: threads do not fork)."""
    with _brokers_lock:
        broker = _brokers.get(db.engine)
        if broker is None or broker.pid != os.getpid():
            broker = _brokers[db.engine] = FeedBroker(db)
        return broker


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(feed.POSTED, False) and session.bind is not None:
        broker = _brokers.get(session.bind)
        if broker is not None:
            broker.wake()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(feed.POSTED, None)

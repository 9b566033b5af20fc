"""Live feed: the in-process broker, and a real server streaming /api/v1/feed/events to a client."""

from __future__ import annotations

import gc
import json
import queue
import threading
import time

import pytest
import requests

from server.db import Database
from server.migrations import upgrade
from server.social import feed
from server.social.feed_events import GAP_GRACE, FeedBroker, _Cursor, broker_for
from tests.social.test_feed import make_channel
from tests.system.server import ServerProcess


def test_cursor_asks_again_for_skipped_ids_until_the_grace_ends():
    cursor = _Cursor(top=10)
    assert cursor.accept([11, 13], now=0.0) == {11, 13}
    assert set(cursor.missing) == {12}  # an open transaction may still commit 12
    assert cursor.accept([12, 13], now=1.0) == {12}  # 13 is not delivered twice
    assert cursor.missing == {}
    cursor.accept([16], now=2.0)
    assert set(cursor.missing) == {14, 15}
    cursor.accept([], now=2.0 + GAP_GRACE)  # rolled back for good
    assert cursor.missing == {}


def test_broker_delivers_after_commit_to_followers_only(cafe):
    broker = broker_for(cafe.db)
    fan = broker.subscribe("fan", ["definition:orders", "instance:i1"])
    other = broker.subscribe("other", ["channel:news"])
    try:
        started = time.monotonic()
        with cafe.db.transaction() as session:
            feed.post_item(session, "definition:orders", "status", "shipped")
            feed.post_item(session, "definition:orders", "status", "copy", instance_id="i1")  # i1 followed
            feed.post_item(session, "instance:i1", "status", "case news")
            time.sleep(0.3)
            assert fan.take(0) == []  # nothing before the commit
        events = []
        while len(events) < 2 and time.monotonic() - started < 3:
            events += fan.take(1.0)
        assert time.monotonic() - started < 1.5  # woken by the commit, not the 1 s poll
        assert [json.loads(e.data)["text"] for e in events] == ["shipped", "case news"]
        assert other.take(0.2) == []

        with pytest.raises(RuntimeError), cafe.db.transaction() as session:
            feed.post_item(session, "definition:orders", "status", "rolled back")
            raise RuntimeError
        assert fan.take(1.5) == []
    finally:
        broker.unsubscribe(fan)
        broker.unsubscribe(other)


def test_one_poll_query_per_process_whatever_the_number_of_clients(cafe):
    broker = broker_for(cafe.db)
    subs = [broker.subscribe(f"user{n}", ["definition:orders"]) for n in range(50)]
    try:
        before = broker.polls
        time.sleep(2.5)
        assert 1 <= broker.polls - before <= 4  # about one a second, not one per client
    finally:
        for sub in subs:
            broker.unsubscribe(sub)
    assert broker.wait_idle()  # no clients, no polling


class SseClient:
    """Reads a text/event-stream response in a thread and queues its events and comments."""

    def __init__(self, url: str, token: str, last_event_id: int | None = None):
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.response = requests.get(url, headers=headers, stream=True, timeout=(5, 30))
        assert self.response.status_code == 200, self.response.text
        assert self.response.headers["Content-Type"].startswith("text/event-stream")
        self.events: queue.Queue = queue.Queue()
        self.comments: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            for line in self.response.iter_lines(chunk_size=None, decode_unicode=True):
                if line.startswith(":"):
                    self.comments.put(line)
                elif line:
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
                elif fields:
                    if fields.get("event") == "item":
                        self.events.put((int(fields["id"]), json.loads(fields["data"])))
                    fields = {}
        except (requests.RequestException, AttributeError, ValueError):
            pass  # closed by the test

    def next(self, timeout: float = 3.0) -> tuple[int, dict]:
        return self.events.get(timeout=timeout)

    def close(self) -> None:
        self.response.close()


@pytest.mark.slow
def test_server_streams_new_items_and_resumes_with_last_event_id(tmp_path, database_url):
    server = ServerProcess(tmp_path / "data", database_url, PROCESSCAFE_FEED_HEARTBEAT="1").start()
    writer = Database(database_url)  # another process's commits: the server learns of them by polling
    try:
        api = server.session()
        token = api.headers["Authorization"].split()[1]
        assert api.post(server.url + "/api/v1/follows", json={"stream": "definition:orders"}).status_code == 201

        def post(stream: str, text: str) -> int:
            with writer.transaction() as session:
                return feed.post_item(session, stream, "status", text).id

        client = SseClient(server.url + "/api/v1/feed/events", token)
        time.sleep(0.3)
        post("definition:invoices", "not followed")
        sent_at = time.monotonic()
        first = post("definition:orders", "order 1 shipped")
        item_id, item = client.next(timeout=3)
        assert time.monotonic() - sent_at < 2.5
        assert item_id == first and item["text"] == "order 1 shipped" and item["stream"] == "definition:orders"
        assert client.comments.get(timeout=3) == ": keep-alive"  # heartbeat (1 s in this test)
        client.close()

        second = post("definition:orders", "order 2 shipped")
        third = post("user:admin", "for admin")  # one's own stream is always in one's feed
        resumed = SseClient(server.url + "/api/v1/feed/events", token, last_event_id=first)
        assert [resumed.next()[0], resumed.next()[0]] == [second, third]
        fourth = post("definition:orders", "order 3 shipped")
        assert resumed.next() == (fourth, resumed_item(api, server, fourth))
        assert resumed.events.empty()
        resumed.close()
        bad = requests.get(server.url + "/api/v1/feed/events", headers={
            "Authorization": f"Bearer {token}", "Last-Event-ID": "x"}, timeout=5)
        assert bad.status_code == 400 and bad.headers["Content-Type"] == "application/problem+json"
        assert requests.get(server.url + "/api/v1/feed/events", timeout=5).status_code == 401
    finally:
        writer.dispose()
        server.stop()


def resumed_item(api, server, item_id: int) -> dict:
    """The item as the REST API shows it: the live event carries the same fields."""
    return api.get(f"{server.url}/api/v1/feed/items/{item_id}").json()


def test_in_process_stream_follows_at_once_and_limits_streams(app, cafe, admin_api, user_api):
    alice = user_api("alice")
    make_channel(admin_api, "news")
    app.config["PROCESSCAFE_THREADS"] = 2  # so this process takes one live stream
    response = alice.get("/api/v1/feed/events", buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    chunks: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [chunks.put(c) for c in response.response], daemon=True).start()
    assert chunks.get(timeout=2) == b"retry: 2000\n\n"

    busy = alice.get("/api/v1/feed/events")
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "10"
    assert busy.headers["Content-Type"] == "application/problem+json"

    # a follow applies to the open stream before the request returns: the next post is not missed
    assert alice.post("/api/v1/follows", json={"stream": "channel:news"}).status_code == 201
    with cafe.db.transaction() as session:
        item_id = feed.post_item(session, "channel:news", "status", "just followed").id
    chunk = chunks.get(timeout=2).decode()
    assert chunk.startswith(f"id: {item_id}\nevent: item\ndata: ") and "just followed" in chunk
    response.close()
    assert alice.get("/api/v1/feed/events", buffered=False).status_code == 200  # the slot is free again


def test_one_person_may_hold_a_quarter_of_the_streams_and_the_newest_wins(app, user_api):
    """Else one client opening streams (and dropping them unseen until a heartbeat) took every slot.
    A new stream ends the person's oldest: refusing it (429) left someone who went back and forth
    between pages without live updates, their old page's stream still counted."""
    app.config["PROCESSCAFE_THREADS"] = 16  # 8 streams in this process, 2 per person
    alice, bob = user_api("alice"), user_api("bob")
    held = [alice.get("/api/v1/feed/events", buffered=False) for _ in range(2)]
    assert [r.status_code for r in held] == [200, 200]
    bodies = [queue.Queue() for _ in held]
    for response, body in zip(held, bodies, strict=True):
        threading.Thread(target=lambda r=response, b=body: (b.put(b"".join(r.response)), r.close()),
                         daemon=True).start()
    newest = alice.get("/api/v1/feed/events", buffered=False)
    assert newest.status_code == 200
    assert bodies[0].get(timeout=5) == b"retry: 2000\n\n"  # the oldest stream ended at once
    assert bodies[1].empty()  # the other one stays open
    other = bob.get("/api/v1/feed/events", buffered=False)
    assert other.status_code == 200  # bob's slots are his own
    third = alice.get("/api/v1/feed/events", buffered=False)
    assert third.status_code == 200 and bodies[1].get(timeout=5) == b"retry: 2000\n\n"
    for response in (newest, other, third):
        response.close()
    assert alice.get("/api/v1/feed/events", headers={"Last-Event-ID": "9" * 30}).status_code == 400


def test_the_poller_stops_quietly_when_its_database_is_gone(tmp_path, caplog):
    """Streams left open when the app that owned the database went away (a test's app, a stopped
    server process's): the poller ends instead of failing on every tick."""
    url = f"sqlite:///{tmp_path / 'feed.db'}"
    upgrade(url)
    db = Database(url)
    broker = FeedBroker(db, poll_interval=0.05)
    broker.subscribe("fan", ["channel:news"])
    thread = broker._thread
    db.dispose()
    del db
    gc.collect()
    broker.wake()
    thread.join(5)
    assert not thread.is_alive()
    assert "feed poll failed" not in caplog.text

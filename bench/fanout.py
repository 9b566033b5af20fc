"""Fan-out benchmark: how long a status post takes to reach 10,000 followers' feeds.

The feed fans out on read (server/social/feed.py): a post is one INSERT into its stream, and a
follower's feed query finds it through the (stream, id) index. So the time from posting until
every follower's feed would show the post is the post's transaction (after its commit every
query sees it) plus one follower's feed query. Measured here, on SQLite (a file in a temporary
folder) and on PostgreSQL (127.0.0.1:5432, user postgres; a database created for the run and
dropped afterwards), with the schema migrated by Alembic:

- setup: `--followers` users (10,000) follow "definition:bench" and 4 of 1,000 other streams,
  which hold 50 items each (50,000 items), so the indexes are doing real work;
- post: the transaction of one `feed.post_item` to "definition:bench" (INSERT + commit);
- feed query: `feed.my_feed` (follows, then the items of the followed streams, newest first,
  limit 50) for `--sample` random followers (200), each checked to show the post first;
  reach = post + the slowest sampled feed query;
- live: `--subscribers` (500) in-process SSE subscribers of the broker (server/social/feed_events.py),
  one thread each, waiting for the post: the time from the start of the posting transaction until
  the last subscriber has it (local commits wake the poller at once), and the same for a post
  committed through another engine, as another server process would (found by the ~1 s poll).

PASS when reach and the local live fan-out are under `--target` seconds (1.0); exit code 1 on FAIL.

    python bench/fanout.py [--followers 10000] [--sample 200] [--subscribers 500] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from server.access import Principal  # noqa: E402
from server.db import Database  # noqa: E402
from server.migrations import upgrade  # noqa: E402
from server.models import FeedItem, Follow  # noqa: E402
from server.social import feed  # noqa: E402
from server.social.feed_events import FeedBroker, broker_for  # noqa: E402

STREAM = "definition:bench"
NOISE_STREAMS, NOISE_ITEMS = 1000, 50
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def populate(db: Database, followers: int) -> None:
    rng = random.Random(7)
    noise = [f"definition:noise{n}" for n in range(NOISE_STREAMS)]
    with db.transaction() as session:
        rows = [{"stream": s, "kind": "status", "text": f"noise {n}", "media_ids": [], "public": False}
                for n in range(NOISE_ITEMS) for s in noise]
        for start in range(0, len(rows), 5000):
            session.execute(sa.insert(FeedItem), rows[start:start + 5000])
        follows = []
        for n in range(followers):
            for stream in {STREAM, *rng.sample(noise, 4)}:
                follows.append({"username": f"user{n}", "stream": stream})
        for start in range(0, len(follows), 5000):
            session.execute(sa.insert(Follow), follows[start:start + 5000])
    if db.is_postgres:
        with db.engine.connect() as conn:
            conn.execute(sa.text("ANALYZE"))
            conn.commit()


def feed_query_seconds(db: Database, username: str, expect: int) -> float:
    started = time.perf_counter()
    with db.read() as session:
        items = feed.my_feed(session, Principal(username), limit=50)
    elapsed = time.perf_counter() - started
    if not items or items[0].id != expect:
        raise AssertionError(f"{username} does not see item {expect} first")
    return elapsed


def post(db: Database, text: str) -> tuple[int, float]:
    started = time.perf_counter()
    with db.transaction() as session:
        item_id = feed.post_item(session, STREAM, "status", text, actor="bench").id
    return item_id, time.perf_counter() - started


def live_fanout(db: Database, writer: Database, subscribers: int, local: bool) -> float:
    """Seconds from the start of the posting transaction until every subscriber holds the item."""
    broker: FeedBroker = broker_for(db)
    subs = [broker.subscribe(f"user{n}", [STREAM, f"user:user{n}"]) for n in range(subscribers)]
    received: list[float] = []
    lock = threading.Lock()
    ready = threading.Barrier(subscribers + 1)

    def wait(sub) -> None:
        ready.wait()
        deadline = time.perf_counter() + 10
        while time.perf_counter() < deadline:
            if sub.take(deadline - time.perf_counter()):
                with lock:
                    received.append(time.perf_counter())
                return

    threads = [threading.Thread(target=wait, args=(s,), daemon=True) for s in subs]
    for t in threads:
        t.start()
    ready.wait()
    time.sleep(0.2)
    started = time.perf_counter()
    post(db if local else writer, "live")
    for t in threads:
        t.join(15)
    for sub in subs:
        broker.unsubscribe(sub)
    broker.wait_idle()
    if len(received) != subscribers:
        raise AssertionError(f"only {len(received)} of {subscribers} subscribers got the item")
    return max(received) - started


def run(name: str, url: str, args) -> bool:
    upgrade(url)
    db, writer = Database(url), Database(url)
    try:
        started = time.perf_counter()
        populate(db, args.followers)
        print(f"\n== {name}: {args.followers} followers, {NOISE_STREAMS * NOISE_ITEMS} other items "
              f"(set up in {time.perf_counter() - started:.1f} s)")
        rng = random.Random(11)
        sample = rng.sample(range(args.followers), min(args.sample, args.followers))
        first, _ = post(db, "warm-up")
        for n in sample[:20]:
            feed_query_seconds(db, f"user{n}", first)
        item_id, post_s = post(db, "Order 17 is on its way")
        one = feed_query_seconds(db, f"user{sample[0]}", item_id)
        times = [feed_query_seconds(db, f"user{n}", item_id) for n in sample]
        reach = post_s + max(times)
        local = live_fanout(db, writer, args.subscribers, local=True)
        polled = live_fanout(db, writer, args.subscribers, local=False)
        ok = reach < args.target and local < args.target
        print(f"post transaction (INSERT + commit):     {post_s * 1000:8.1f} ms")
        print(f"one follower's feed query:              {one * 1000:8.1f} ms")
        print(f"{len(times)} sampled followers, each sees it: median {statistics.median(times) * 1000:.1f} ms, "
              f"p95 {sorted(times)[int(len(times) * 0.95) - 1] * 1000:.1f} ms, max {max(times) * 1000:.1f} ms")
        print(f"reach (post + slowest feed query):      {reach * 1000:8.1f} ms  "
              f"{'PASS' if reach < args.target else 'FAIL'} (< {args.target:g} s)")
        print(f"live, {args.subscribers} SSE subscribers, local commit: {local * 1000:8.1f} ms  "
              f"{'PASS' if local < args.target else 'FAIL'} (< {args.target:g} s)")
        print(f"live, {args.subscribers} SSE subscribers, other process: {polled * 1000:8.1f} ms  "
              f"(found by the {db_poll(db):g} s poll)")
        return ok
    finally:
        db.dispose()
        writer.dispose()


def db_poll(db: Database) -> float:
    return broker_for(db).poll_interval


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--target", type=float, default=1.0, help="PASS bound in seconds (default 1.0)")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="processcafe-fanout-") as tmp:
        results.append(run("SQLite", f"sqlite:///{Path(tmp) / 'fanout.db'}", args))
    if not args.sqlite_only:
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        name = f"pc_bench_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            results.append(run("PostgreSQL", f"postgresql://postgres@127.0.0.1:5432/{name}", args))
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(f"\n{'PASS' if all(results) else 'FAIL'}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())

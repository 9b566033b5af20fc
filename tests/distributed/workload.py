"""The workload of the distributed tests: instances of scale_mix.bpmn (a plain service task, a
one-second timer, a status published to a webhook) started over HTTP, and the checks that each
one completed and each outside effect happened once."""

from __future__ import annotations

import collections
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import requests
import sqlalchemy as sa

from tests.conftest import DIAGRAMS
from tests.system.server import ServerProcess

DIAGRAM = DIAGRAMS / "distributed" / "scale_mix.bpmn"


def prepare(server: ServerProcess, hook_url: str) -> requests.Session:
    api = server.session()
    with open(DIAGRAM, "rb") as f:
        assert api.post(server.url + "/api/v1/deployments", files={"file": (DIAGRAM.name, f)}).ok
    channel = {"name": "hook", "kind": "webhook", "allow_private": True, "settings": {"preset": "generic"},
               "credentials": {"url": hook_url}}
    response = api.post(server.url + "/api/v1/channels", json=channel)
    assert response.status_code == 201, response.text
    return api


def start_one(server: ServerProcess, api: requests.Session, n: int, definition_key: str = "scale_mix",
              attempts: int = 20) -> None:
    """Start order n; a request cut off by a killed HTTP worker is retried, but only when the
    instance does not exist yet (the business key tells), so no order is started twice."""
    body = {"definition_key": definition_key, "business_key": f"order-{n}",
            "variables": {"channels": "hook", "n": n}}
    for _ in range(attempts):
        try:
            response = api.post(server.url + "/api/v1/process-instances", json=body, timeout=30)
            if response.status_code == 201:
                return
        except requests.ConnectionError:
            pass
        try:
            found = api.get(server.url + "/api/v1/process-instances", params={"business_key": f"order-{n}"},
                            timeout=30).json()["items"]
            if found:
                return
        except (requests.ConnectionError, ValueError, KeyError):
            pass
    raise AssertionError(f"order {n} could not be started")


def start_all(server: ServerProcess, numbers, clients: int = 8, definition_key: str = "scale_mix") -> None:
    sessions = [server.session() for _ in range(clients)]
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda n: start_one(server, sessions[n % clients], n, definition_key), numbers))
    for session in sessions:
        session.close()


def engine(database_url: str) -> sa.Engine:
    return sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))


def statuses(db: sa.Engine) -> dict[str, int]:
    with db.connect() as conn:
        return dict(conn.execute(sa.text("SELECT status, count(*) FROM process_instances GROUP BY status")).all())


def describe(db: sa.Engine) -> str:
    """What is left to do, for a failure message: jobs by kind and state, held leases."""
    with db.connect() as conn:
        jobs = conn.execute(sa.text(
            "SELECT kind, status, locked_by IS NOT NULL AS claimed, dispatched_at IS NOT NULL AS sent, attempts, "
            "min(due_at), count(*) FROM jobs GROUP BY 1, 2, 3, 4, 5")).all()
        leases = conn.execute(sa.text("SELECT lease_owner, lease_expires_at FROM process_instances "
                                      "WHERE lease_owner IS NOT NULL")).all()
        posts = conn.execute(sa.text("SELECT status, count(*) FROM social_posts GROUP BY status")).all()
    return f"instances {statuses(db)}; jobs {jobs}; leases {leases}; posts {posts}; now {datetime.now(timezone.utc)}"


def check_exactly_once(db: sa.Engine, receiver, count: int, allowed_resends: int = 0) -> None:
    """Every order completed once, fired its timer once, and reached the webhook once (counted by
    Idempotency-Key; a resend after a killed worker carries the same key and is allowed)."""
    with db.connect() as conn:
        keys = conn.execute(sa.text("SELECT business_key, count(*) FROM process_instances GROUP BY business_key "
                                    "HAVING count(*) > 1")).all()
        assert keys == [], f"orders started twice: {keys[:5]}"
        assert statuses(db) == {"completed": count}
        history = dict(conn.execute(sa.text(
            "SELECT kind, count(*) FROM history_events WHERE kind IN ('timer_fired', 'ended', 'started') "
            "GROUP BY kind")).all())
        assert history == {"started": count, "timer_fired": count, "ended": count}, history
        posts = conn.execute(sa.text("SELECT status, count(*) FROM social_posts GROUP BY status")).all()
        assert dict(posts) == {"sent": count}, posts
        leftover = conn.execute(sa.text("SELECT kind, status, count(*) FROM jobs GROUP BY kind, status")).all()
        assert leftover == [], f"jobs left: {leftover}"
        leases = conn.execute(sa.text("SELECT count(*) FROM process_instances WHERE lease_owner IS NOT NULL")).scalar()
        assert leases == 0, f"{leases} instance lease(s) left behind"
    deliveries = collections.Counter(r.headers.get("Idempotency-Key") for r in receiver.requests)
    assert len(deliveries) == count, f"{len(deliveries)} distinct posts reached the webhook, expected {count}"
    resent = sum(n - 1 for n in deliveries.values())
    assert resent <= allowed_resends, f"{resent} post(s) were sent again: {deliveries.most_common(3)}"

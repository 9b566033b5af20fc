"""A worker killed after the network call and before the commit does not post twice.

The fake network holds its answer to the post until the test has SIGKILLed the server process
(whose job-runner thread made the call). The post exists on the network; our database still says
`sending`. After a restart the job's lease expires and the retry must not post again: Mastodon
gets the same Idempotency-Key and answers with the existing status; X, which has no key, is
looked up first and the existing tweet is found.
"""

import threading
import time

import pytest
from flask import request

from tests.conftest import DIAGRAMS
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.x import FakeX
from tests.social.test_demo_networks import MASTODON_TOKEN, X_CREDENTIALS
from tests.system.server import ServerProcess

pytestmark = pytest.mark.slow
DIAGRAM = DIAGRAMS / "social" / "publish_once.bpmn"
POST_PATHS = {"mastodon": "/api/v1/statuses", "x": "/2/tweets"}


def hold_first_post(fake, path: str):
    """Let the first post through to the fake's state, but keep its answer until `killed` is set."""
    arrived, killed = threading.Event(), threading.Event()

    @fake.app.after_request
    def hold(response):
        if request.method == "POST" and request.path.rstrip("/") == path and not arrived.is_set():
            arrived.set()
            killed.wait(30)
        return response

    return arrived, killed


def make_fake(network: str):
    if network == "mastodon":
        fake = FakeMastodon()
        return fake, lambda: setattr(fake, "me", fake.add_account("cafe", token=MASTODON_TOKEN))

    fake = FakeX()

    def setup():
        fake.add_consumer(X_CREDENTIALS["consumer_key"], X_CREDENTIALS["consumer_secret"])
        fake.me = fake.add_user("cafe", "1001", X_CREDENTIALS["access_token"], X_CREDENTIALS["access_token_secret"])

    return fake, setup


def channel_body(network: str, base_url: str) -> dict:
    if network == "mastodon":
        return {"name": "mastodon", "kind": "mastodon", "allow_private": True,
                "settings": {"base_url": base_url}, "credentials": {"access_token": MASTODON_TOKEN}}
    return {"name": "x", "kind": "x", "allow_private": True, "settings": {"username": "cafe", "api_base": base_url},
            "credentials": X_CREDENTIALS}


@pytest.mark.parametrize("network", ["mastodon", "x"])
def test_killed_worker_does_not_post_twice(network, tmp_path, database_url):
    fake, setup = make_fake(network)
    arrived, killed = hold_first_post(fake, POST_PATHS[network])
    with fake.serving() as base_url:
        setup()
        env = {"PROCESSCAFE_JOB_LEASE_SECONDS": "2"}
        server = ServerProcess(tmp_path / "data", database_url, **env).start()
        try:
            api = server.session()
            assert api.post(server.url + "/api/v1/channels", json=channel_body(network, base_url)).status_code == 201
            with open(DIAGRAM, "rb") as f:
                assert api.post(server.url + "/api/v1/deployments", files={"file": (DIAGRAM.name, f)}).ok
            instance = api.post(server.url + "/api/v1/process-instances", json={
                "definition_key": "publish_once", "variables": {"channels": network, "n": 7}}).json()
            assert arrived.wait(20), "the post never reached the network"
            server.kill()
            killed.set()

            server = ServerProcess(tmp_path / "data", database_url, **env).start()
            api = server.session()
            url = f"{server.url}/api/v1/process-instances/{instance['id']}"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and api.get(url).json()["status"] != "completed":
                time.sleep(0.3)
            state = api.get(url).json()
            assert state["status"] == "completed", state
        finally:
            server.stop()
            killed.set()

    log = (tmp_path / "data" / "server.log").read_text()
    for secret in (MASTODON_TOKEN, *X_CREDENTIALS.values()):
        assert secret not in log, "a credential reached the server log"
    posts = fake.received("POST", POST_PATHS[network])
    if network == "mastodon":
        assert len(posts) == 2, "the retry should repeat the request with the same key"
        assert posts[0].header("Idempotency-Key") == posts[1].header("Idempotency-Key")
        assert len([s for s in fake.statuses.values() if "Shipment 7" in s["text"]]) == 1
    else:
        assert len(posts) == 1, "X has no idempotency key: the retry must look the tweet up, not post again"
        assert fake.received("GET", "/2/users/1001/tweets"), "the retry did not look before posting"
    assert state["variables"]["status_post"][network]["id"]

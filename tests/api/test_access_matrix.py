"""Who may call what: every endpoint of the native API by role, as one table.

Roles, relative to one instance of tests/diagrams/engine/access_matrix.bpmn (a user task and a
review and an image step for the group "reviewers", and a message catch event):

    anon       no credentials
    user       a plain user with nothing to do with the instance
    starter    the plain user who started it
    candidate  a member of "reviewers": candidate of its open steps
    assignee   holds its user task (assigned by an admin), not a candidate of the rest
    admin

Each row of ACCESS is a rule of the app's url_map and its expected answers in that role order:
an exact status, or "2xx". Things a caller may not see answer 404, actions they may not take on
things they do see 403. Every row runs against a fresh instance, so actions (complete,
terminate, delete) do not change what the next row finds. `test_every_endpoint_has_a_row` fails
when an endpoint is added without a row here.
"""

from __future__ import annotations

import io
import itertools
import os
import uuid
from dataclasses import dataclass

import pytest
from PIL import Image

from server.app import create_app
from server.auth import forget_cached_logins
from server.config import Settings
from server.migrations import upgrade
from server.services import identity
from server.social import images
from tests.api.engine_support import diagram
from tests.conftest import Api, emptied, make_user, run_jobs

ROLES = ("anon", "user", "starter", "candidate", "assignee", "admin")
USERS = {"user": ("uma", ()), "starter": ("stan", ()), "candidate": ("cara", ("reviewers",)),
         "assignee": ("asa", ()), "admin": ("root", ("admins",))}
VICTIM = "vic"  # deactivated and moved between groups by the admin rows

ACCESS = {
    # public documents
    ("GET", "/api/v1/openapi.json"): "200 200 200 200 200 200",
    ("GET", "/api/v1/docs"): "200 200 200 200 200 200",
    ("GET", "/api/v1/docs/assets/<path:filename>"): "200 200 200 200 200 200",
    # deployments and definitions: read by every user, deployed by admins
    ("GET", "/api/v1/deployments"): "401 200 200 200 200 200",
    ("POST", "/api/v1/deployments"): "401 403 403 403 403 2xx",
    ("GET", "/api/v1/deployments/<deployment_id>"): "401 200 200 200 200 200",
    ("GET", "/api/v1/process-definitions"): "401 200 200 200 200 200",
    ("GET", "/api/v1/process-definitions/<definition_id>"): "401 200 200 200 200 200",
    ("GET", "/api/v1/process-definitions/<definition_id>/xml"): "401 200 200 200 200 200",
    # instances: anybody starts; seen by starter, task holders and candidates; changed by admins
    ("GET", "/api/v1/process-instances"): "401 200 200 200 200 200",
    ("POST", "/api/v1/process-instances"): "401 201 201 201 201 201",
    ("GET", "/api/v1/process-instances/<instance_id>"): "401 404 200 200 200 200",
    ("DELETE", "/api/v1/process-instances/<instance_id>"): "401 404 200 403 403 200",
    ("GET", "/api/v1/process-instances/<instance_id>/variables"): "401 404 200 200 200 200",
    ("PATCH", "/api/v1/process-instances/<instance_id>/variables"): "401 403 403 403 403 200",
    ("GET", "/api/v1/process-instances/<instance_id>/history"): "401 404 200 200 200 200",
    ("POST", "/api/v1/process-instances/<instance_id>/retry"): "401 403 403 403 403 409",  # no incident
    ("POST", "/api/v1/process-instances/<instance_id>/migrate"): "401 403 403 403 403 404",  # no such version
    # tasks: their assignee or, while unassigned, their candidates
    ("GET", "/api/v1/tasks"): "401 200 200 200 200 200",
    ("GET", "/api/v1/tasks/<task_id>"): "401 404 404 200 200 200",
    ("POST", "/api/v1/tasks/<task_id>/claim"): "401 404 404 200 200 200",
    ("POST", "/api/v1/tasks/<task_id>/unclaim"): "401 404 404 200 200 200",
    ("PUT", "/api/v1/tasks/<task_id>/assignee"): "401 403 403 403 403 200",
    ("POST", "/api/v1/tasks/<task_id>/complete"): "401 404 404 200 200 200",
    ("POST", "/api/v1/tasks/<task_id>/image"): "401 404 403 201 403 201",  # the uploaders asked
    ("GET", "/api/v1/tasks/<task_id>/review"): "401 404 200 200 200 200",
    # reviews: read with the instance; votes from the reviewers named (admins included: a vote is personal)
    ("GET", "/api/v1/reviews/<review_id>"): "401 404 200 200 200 200",
    ("POST", "/api/v1/reviews/<review_id>/votes"): "401 404 403 201 403 403",
    ("POST", "/api/v1/reviews/<review_id>/comments"): "401 404 201 201 201 201",
    ("POST", "/api/v1/reviews/<review_id>/likes"): "401 404 201 201 201 201",
    # messages and signals reach only the instances the caller may see (server/access.py)
    ("POST", "/api/v1/messages"): "401 404 200 200 200 200",
    ("POST", "/api/v1/signals"): "401 200 200 200 200 200",  # reaching nobody is not an error
    # users and tokens
    ("GET", "/api/v1/me"): "401 200 200 200 200 200",
    ("GET", "/api/v1/users"): "401 403 403 403 403 200",
    ("POST", "/api/v1/users"): "401 403 403 403 403 201",
    ("POST", "/api/v1/tokens"): "401 201 201 201 201 201",
    # one's own account (uma's: the "user" role's) is theirs and the admins' to read and manage
    ("GET", "/api/v1/users/<username>"): "401 200 403 403 403 200",
    ("PUT", "/api/v1/users/<username>/password"): "401 204 403 403 403 204",
    ("GET", "/api/v1/users/<username>/tokens"): "401 200 403 403 403 200",
    ("DELETE", "/api/v1/users/<username>/tokens/<token_id>"): "401 204 403 403 403 204",
    # locking people out and group membership (of "vic", nobody's role): admins only
    ("POST", "/api/v1/users/<username>/deactivate"): "401 403 403 403 403 200",
    ("POST", "/api/v1/users/<username>/activate"): "401 403 403 403 403 200",
    ("GET", "/api/v1/groups"): "401 403 403 403 403 200",
    ("PUT", "/api/v1/groups/<group>/members/<username>"): "401 403 403 403 403 200",
    ("DELETE", "/api/v1/groups/<group>/members/<username>"): "401 403 403 403 403 204",
    # channels: listed for everybody, configured by admins
    ("GET", "/api/v1/channels"): "401 200 200 200 200 200",
    ("POST", "/api/v1/channels"): "401 403 403 403 403 201",
    ("GET", "/api/v1/channels/<name>"): "401 200 200 200 200 200",
    ("PATCH", "/api/v1/channels/<name>"): "401 403 403 403 403 200",
    ("DELETE", "/api/v1/channels/<name>"): "401 403 403 403 403 204",
    ("POST", "/api/v1/channels/<name>/watches"): "401 403 403 403 403 201",
    # media: anybody uploads; an image is read by who sent it and with the instances it is attached to
    ("POST", "/api/v1/media"): "401 201 201 201 201 201",
    ("GET", "/api/v1/media/<media_id>"): "401 404 200 200 200 200",
    # the feed: instance streams are read with the instance
    ("GET", "/api/v1/feed"): "401 200 200 200 200 200",
    ("GET", "/api/v1/feed/events"): "401 200 200 200 200 200",
    ("GET", "/api/v1/feed/items/<item_id>"): "401 404 200 200 200 200",
    ("POST", "/api/v1/feed/items/<item_id>/comments"): "401 404 201 201 201 201",
    ("POST", "/api/v1/feed/items/<item_id>/like"): "401 404 200 200 200 200",
    ("DELETE", "/api/v1/feed/items/<item_id>/like"): "401 404 200 200 200 200",
    ("GET", "/api/v1/follows"): "401 200 200 200 200 200",
    ("POST", "/api/v1/follows"): "401 404 201 201 201 201",
    ("DELETE", "/api/v1/follows"): "401 204 204 204 204 204",  # unfollowing what one never saw is a no-op
    ("GET", "/api/v1/streams/<stream>"): "401 404 200 200 200 200",
    ("GET", "/feeds/<stream>.atom"): "401 404 200 200 200 200",  # instance streams are never public
}

ROWS = [(method, rule, role, expected)
        for (method, rule), answers in ACCESS.items()
        for role, expected in zip(ROLES, answers.split(), strict=True)]


def png(color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buffer, "PNG")
    return buffer.getvalue()


@dataclass
class World:
    """A fresh instance started by `stan`, and the ids of everything in it."""

    instance: str
    task: str
    review_task: str
    photo_task: str
    review: str
    item: int
    media: str
    channel: str
    token: int


class Matrix:
    """One app for the whole module (a fresh one per row would take minutes); users, tokens and the
    deployed diagram are made once, a World per row."""

    def __init__(self, app):
        self.app = app
        self.cafe = app.extensions["processcafe"]
        self.clients = {"anon": Api(app.test_client(), None)}
        for role, (name, groups) in USERS.items():
            self.clients[role] = Api(app.test_client(), make_user(self.cafe, name, admin=role == "admin",
                                                                  groups=groups))
        self.admin = self.clients["admin"]
        make_user(self.cafe, VICTIM)
        deployed = self.admin.deploy(diagram("access_matrix.bpmn")).get_json()
        self.deployment, self.definition = deployed["id"], deployed["definitions"][0]["id"]
        self.counter = itertools.count()

    def world(self, role: str) -> World:
        case = next(self.counter)
        started = self.clients["starter"].start("access_matrix", {"case": case})
        run_jobs(self.cafe)  # the review's post to the feed
        tasks = {t["bpmn_id"]: t["id"] for t in started["tasks"]}
        if role == "assignee":
            assigned = self.admin.put(f"/api/v1/tasks/{tasks['Task_work']}/assignee", json={"user": "asa"})
            assert assigned.status_code == 200, assigned.get_json()
        review = self.admin.get(f"/api/v1/tasks/{tasks['Task_review']}/review").get_json()["id"]
        [item, *_] = self.admin.get(f"/api/v1/streams/instance:{started['id']}").get_json()["items"]
        # other bytes than the rows upload: whoever sent an image's bytes may read it
        media = self.admin.post("/api/v1/media", data={"file": (io.BytesIO(png((case % 256, 120, 200))), "p.png")},
                                content_type="multipart/form-data").get_json()["media_id"]
        with self.cafe.db.transaction() as session:  # an image of this instance (as an attached one is)
            images.link(session, media, instance_id=started["id"])
        channel = f"ch-{uuid.uuid4().hex[:8]}"
        made = self.admin.post("/api/v1/channels", json={
            "name": channel, "kind": "mastodon", "settings": {"base_url": "https://mastodon.example"},
            "credentials": {"access_token": "t"}})
        assert made.status_code == 201, made.get_json()
        with self.cafe.db.transaction() as session:  # a token of uma's to revoke
            token, _ = identity.issue_token(session, identity.get_user(session, USERS["user"][0]), f"t{case}")
        return World(started["id"], tasks["Task_work"], tasks["Task_review"], tasks["Task_photo"], review,
                     item["id"], media, channel, token.id)


def path_for(rule: str, world: World, matrix: Matrix) -> str:
    values = {
        "instance_id": world.instance, "review_id": world.review, "item_id": world.item, "media_id": world.media,
        "deployment_id": matrix.deployment, "definition_id": matrix.definition, "name": world.channel,
        "stream": f"instance:{world.instance}", "path:filename": "swagger-ui.css",
        "username": VICTIM if "/deactivate" in rule or "/activate" in rule or "/groups/" in rule else USERS["user"][0],
        "group": "matrix-group", "token_id": world.token,
        "task_id": {"/api/v1/tasks/<task_id>/image": world.photo_task,
                    "/api/v1/tasks/<task_id>/review": world.review_task}.get(rule, world.task),
    }
    path = rule
    for name, value in values.items():
        path = path.replace(f"<{name}>", str(value))
    assert "<" not in path, path
    return path


def request_for(method: str, rule: str, world: World) -> dict:
    """A valid request body for the rule, so that only the caller's rights decide the answer."""
    image = {"data": {"file": (io.BytesIO(png()), "photo.png")}, "content_type": "multipart/form-data"}
    bodies = {
        ("POST", "/api/v1/deployments"): {"data": {"file": (io.BytesIO(diagram("access_matrix.bpmn").read_bytes()),
                                                            "access_matrix.bpmn")},
                                          "content_type": "multipart/form-data"},
        ("POST", "/api/v1/process-instances"): {"json": {"definition_key": "access_matrix", "variables": {"case": 0}}},
        ("PATCH", "/api/v1/process-instances/<instance_id>/variables"): {"json": {"set": {"x": 1}}},
        ("POST", "/api/v1/process-instances/<instance_id>/retry"): {"json": {}},
        ("POST", "/api/v1/process-instances/<instance_id>/migrate"): {"json": {"definition_id": "access_matrix:9:x"}},
        ("PUT", "/api/v1/tasks/<task_id>/assignee"): {"json": {"user": "asa"}},
        ("POST", "/api/v1/tasks/<task_id>/complete"): {"json": {"variables": {"done": True}}},
        ("POST", "/api/v1/tasks/<task_id>/image"): image,
        ("POST", "/api/v1/reviews/<review_id>/votes"): {"json": {"option": "approve"}},
        ("POST", "/api/v1/reviews/<review_id>/comments"): {"json": {"text": "looks fine"}},
        ("POST", "/api/v1/messages"): {"json": {"name": "ping", "instance_id": world.instance}},
        ("POST", "/api/v1/signals"): {"json": {"name": "nobody-waits", "instance_id": world.instance}},
        ("POST", "/api/v1/users"): {"json": {"username": f"new-{uuid.uuid4().hex[:8]}"}},
        ("POST", "/api/v1/tokens"): {"json": {"name": "matrix"}},
        ("PUT", "/api/v1/users/<username>/password"): {"json": {"current_password": "password-uma",
                                                                "password": "password-uma"}},
        ("POST", "/api/v1/channels"): {"json": {"name": f"new-{uuid.uuid4().hex[:8]}", "kind": "webhook",
                                                "credentials": {"url": "https://hooks.example/x"}}},
        ("PATCH", "/api/v1/channels/<name>"): {"json": {"enabled": False}},
        ("POST", "/api/v1/channels/<name>/watches"): {"json": {"message": "mention"}},
        ("POST", "/api/v1/media"): image,
        ("POST", "/api/v1/feed/items/<item_id>/comments"): {"json": {"text": "nice"}},
        ("POST", "/api/v1/follows"): {"json": {"stream": f"instance:{world.instance}"}},
        ("DELETE", "/api/v1/follows"): {"json": {"stream": f"instance:{world.instance}"}},
    }
    return bodies.get((method, rule), {})


@pytest.fixture(scope="module")
def matrix(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("matrix")
    if os.environ.get("PROCESSCAFE_TEST_DB", "sqlite") == "postgresql":
        url = emptied(request.getfixturevalue("postgres_url"))
    else:
        url = f"sqlite:///{tmp / 'cafe.db'}"
        upgrade(url)
    settings = Settings(data_dir=tmp / "data", database_url=url, secret_key="test-secret", job_runner="none",
                        deploy_examples=False, script_time_limit=2.0).resolved()
    forget_cached_logins()
    app = create_app(settings)
    yield Matrix(app)
    app.extensions["processcafe"].runner.stop()
    app.extensions["processcafe"].db.dispose()


def test_every_endpoint_has_a_row(matrix):
    endpoints = {(method, rule.rule) for rule in matrix.app.url_map.iter_rules()
                 if rule.rule.startswith(("/api/v1", "/feeds/"))
                 for method in rule.methods - {"HEAD", "OPTIONS"}}
    missing = sorted(endpoints - set(ACCESS))
    assert not missing, f"endpoints without a row in ACCESS (add one per role): {missing}"
    assert not set(ACCESS) - endpoints, "rows for endpoints that no longer exist"


@pytest.mark.parametrize(("method", "rule", "role", "expected"),
                         [pytest.param(*row, id=f"{row[0]} {row[1]} {row[2]}") for row in ROWS])
def test_access(matrix, method, rule, role, expected):
    world = matrix.world(role)
    response = matrix.clients[role].request(method, path_for(rule, world, matrix), **request_for(method, rule, world))
    try:
        status = response.status_code
        if expected == "2xx":
            assert 200 <= status < 300, (status, response.get_json(silent=True))
        else:
            assert status == int(expected), (status, response.get_json(silent=True))
        if status >= 400 and rule.startswith("/api/v1"):
            assert response.headers["Content-Type"] == "application/problem+json"
    finally:
        response.close()  # ends the live feed stream of /feed/events

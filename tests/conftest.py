"""Shared fixtures: a real database (SQLite file, or PostgreSQL with PROCESSCAFE_TEST_DB=postgresql),
the app with its schema migrated by Alembic, and an authenticated API client."""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

import pytest

# CPython 3.11 corrupts its AST recursion bookkeeping after a RecursionError while building an AST
# (some tests feed deliberately deep expressions); anything compiled afterwards in this process may
# fail with "AST constructor recursion depth mismatch". Import the lazily loaded schemathesis
# modules now, before such a test runs.
import schemathesis.specs.openapi.schemas  # noqa: F401, E402, I001
import sqlalchemy as sa
from argon2 import PasswordHasher

from server.app import create_app
from server.auth import forget_cached_logins
from server.config import Settings
from server.migrations import upgrade
from server.models import Base
from server.services import identity

# Argon2 with its production cost takes ~0.3 s per user; tests create many users.
identity.use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))

ROOT = Path(__file__).resolve().parent.parent
DIAGRAMS = Path(__file__).resolve().parent / "diagrams"
PG_ADMIN_URL = os.environ.get("PROCESSCAFE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _backend() -> str:
    return os.environ.get("PROCESSCAFE_TEST_DB", "sqlite")


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh PostgreSQL database for this test run, dropped afterwards."""
    admin = sa.create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"),
                             isolation_level="AUTOCOMMIT")
    name = f"pc_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as err:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({err.orig}). Start it with "
            "'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' "
            "or point PROCESSCAFE_TEST_PG at a server.")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def emptied(url: str) -> str:
    """The PostgreSQL test database with every table emptied (it is shared by the whole run)."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def database_url(request, tmp_path):
    if _backend() == "postgresql":
        return emptied(request.getfixturevalue("postgres_url"))
    url = f"sqlite:///{tmp_path / 'cafe.db'}"
    upgrade(url)
    return url


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, secret_key="test-secret",
                    job_runner="none", deploy_examples=False, script_time_limit=2.0).resolved()


@pytest.fixture
def app(settings):
    forget_cached_logins()
    app = create_app(settings)
    yield app
    cafe = app.extensions["processcafe"]
    cafe.runner.stop()
    cafe.db.dispose()


@pytest.fixture
def cafe(app):
    return app.extensions["processcafe"]


class Api:
    """A test client that sends a bearer token and returns (status, json)."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.token = token

    def _headers(self, headers=None):
        h = dict(headers or {})
        if self.token:
            h.setdefault("Authorization", f"Bearer {self.token}")
        return h

    def request(self, method: str, path: str, **kwargs):
        kwargs["headers"] = self._headers(kwargs.get("headers"))
        return self.client.open(path, method=method, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def deploy(self, *paths: Path, expect: int | None = 201):
        data = {"file": [(io.BytesIO(p.read_bytes()), p.name) for p in paths]}
        response = self.post("/api/v1/deployments", data=data, content_type="multipart/form-data")
        if expect is not None:
            assert response.status_code in (expect, 200), response.get_json()
        return response

    def start(self, key: str, variables: dict | None = None, **extra):
        response = self.post("/api/v1/process-instances",
                             json={"definition_key": key, "variables": variables or {}, **extra})
        assert response.status_code == 201, response.get_json()
        return response.get_json()


def make_user(cafe, username: str, *, admin: bool = False, groups=()) -> str:
    """Create a user and return a fresh API token for them."""
    with cafe.db.transaction() as session:
        user = identity.find_user(session, username) or identity.create_user(
            session, username, "password-" + username, is_admin=admin, groups=list(groups))
        return identity.create_token(session, user, "test")


@pytest.fixture
def admin_api(app, cafe) -> Api:
    return Api(app.test_client(), make_user(cafe, "admin", admin=True, groups=["admins"]))


@pytest.fixture
def user_api(app, cafe):
    """Factory: user_api('alice', groups=['reviewers'])."""

    def factory(username: str, groups=(), admin: bool = False) -> Api:
        return Api(app.test_client(), make_user(cafe, username, admin=admin, groups=groups))

    return factory


@pytest.fixture
def anonymous_api(app) -> Api:
    return Api(app.test_client(), None)


def run_jobs(cafe, rounds: int = 50) -> None:
    """Run the job runner synchronously until nothing is due."""
    for _ in range(rounds):
        if not cafe.runner.run_due():
            return


def pytest_collection_modifyitems(config, items):
    backend = _backend()
    for item in items:
        if backend != "postgresql" and "postgres_only" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="PostgreSQL test: run with PROCESSCAFE_TEST_DB=postgresql"))

"""Clients of /engine-rest through the app: Basic credentials, as Camunda clients send them."""

from __future__ import annotations

import pytest

from tests.camunda.query_fixtures import world  # noqa: F401  (the query tests' shared instances and tasks)
from tests.camunda.support import REST, basic, deploy_form, diagram
from tests.conftest import Api, make_user


class CamundaClient(Api):
    """The shared test client's verbs, with Basic credentials and paths under /engine-rest."""

    def __init__(self, client, user: str | None):
        super().__init__(client, None)
        self.headers = {"Authorization": basic(user, "password-" + user)} if user else {}

    def request(self, method: str, path: str, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open(REST + path, method=method, headers=headers, **kwargs)

    def deploy(self, name: str, **kwargs):
        body, content_type = deploy_form(diagram(name), **kwargs)
        return self.post("/deployment/create", data=body, content_type=content_type)

    def start(self, key: str, variables: dict | None = None, business_key: str | None = None) -> dict:
        response = self.post(f"/process-definition/key/{key}/start",
                             json={"businessKey": business_key, "variables": variables or {}})
        assert response.status_code == 200, response.get_json()
        return response.get_json()


@pytest.fixture
def camunda(app, cafe) -> CamundaClient:
    """An administrator who is also a reviewer and an editor."""
    make_user(cafe, "admin", admin=True, groups=["admins", "reviewers", "editors", "operators"])
    return CamundaClient(app.test_client(), "admin")


@pytest.fixture
def camunda_user(app, cafe):
    """Factory: camunda_user('rita', groups=['reviewers'])."""

    def factory(name: str, groups=()) -> CamundaClient:
        make_user(cafe, name, groups=list(groups))
        return CamundaClient(app.test_client(), name)

    return factory


def error(response, status: int, kind: str | None = None) -> dict:
    """A Camunda error body: JSON with type, message and code."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert set(body) >= {"type", "message", "code"}
    if kind:
        assert body["type"] == kind, body
    return body


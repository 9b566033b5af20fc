"""Actions that need no data (claim, unclaim, like a feed item, like a review) take no body, an
empty one or `{}`. A field in the body is refused with 422 naming it, and the action is not done:
a client that sends `{"like": false}` or `{"assignee": "bob"}` means something these routes do
not do, and silently doing something else would be worse than saying so."""

from __future__ import annotations

import pytest

from tests.api.engine_support import diagram, problem
from tests.social.test_feed import FEED
from tests.social.test_feed import post as feed_post


@pytest.fixture
def claimable(admin_api, user_api):
    admin_api.deploy(diagram("claims.bpmn"))
    clara = user_api("clara", groups=["clerks"])
    [task] = admin_api.start("claims")["tasks"]
    return clara, task["id"]


def assignee(api, task_id: str) -> str | None:
    return api.get(f"/api/v1/tasks/{task_id}").get_json()["assignee"]


@pytest.mark.parametrize("body", [{"assignee": "bob"}, {"x": 1, "y": 2}])
def test_claim_and_unclaim_refuse_fields_and_change_nothing(claimable, body):
    clara, task_id = claimable
    refused = problem(clara.post(f"/api/v1/tasks/{task_id}/claim", json=body), 422)
    assert all(field in refused["detail"] for field in body), refused
    assert assignee(clara, task_id) is None
    assert clara.post(f"/api/v1/tasks/{task_id}/claim").status_code == 200
    problem(clara.post(f"/api/v1/tasks/{task_id}/unclaim", json=body), 422)
    assert assignee(clara, task_id) == "clara"
    assert clara.post(f"/api/v1/tasks/{task_id}/unclaim", json={}).status_code == 200
    assert assignee(clara, task_id) is None


def test_a_feed_like_refuses_fields_and_takes_an_empty_body(cafe, user_api):
    alice = user_api("alice")
    url = f"{FEED}/items/{feed_post(cafe, 'definition:orders', 'order 7 is late')}"
    problem(alice.post(url + "/like", json={"like": False}), 422)
    problem(alice.post(url + "/like", data="[]", content_type="application/json"), 422)
    assert alice.get(url).get_json()["likes"] == 0
    assert alice.post(url + "/like", json={}).get_json()["likes"] == 1


def test_the_openapi_document_says_these_bodies_hold_no_fields(anonymous_api):
    spec = anonymous_api.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/tasks/{task_id}/claim", "/api/v1/tasks/{task_id}/unclaim",
                 "/api/v1/feed/items/{item_id}/like", "/api/v1/reviews/{review_id}/likes"):
        body = spec["paths"][path]["post"]["requestBody"]
        assert body["required"] is False, path
        schema = body["content"]["application/json"]["schema"]
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else schema
        assert schema.get("properties", {}) == {} and schema["additionalProperties"] is False, path

"""`POST /api/v1/reviews/{id}/likes` takes no fields: its body is empty or `{}`, and anything else
is refused with 422 naming what it holds, as every other route refuses unknown body fields."""

from __future__ import annotations

import pytest

from tests.social.test_review_closing import open_review, reviewer_api


@pytest.fixture
def review(admin_api, user_api):
    tom = reviewer_api(user_api)
    _, opened = open_review(admin_api, tom, "feed")
    return tom, opened


def likes(api, review_id: str) -> int:
    return api.get(f"/api/v1/reviews/{review_id}").get_json()["likes"]


@pytest.mark.parametrize("body", [{"option": "approve"}, {"like": True, "extra": 1}])
def test_a_like_with_fields_is_refused_naming_them_and_adds_nothing(review, body):
    tom, opened = review
    refused = tom.post(f"/api/v1/reviews/{opened['id']}/likes", json=body)
    assert refused.status_code == 422, refused.get_json()
    assert refused.headers["Content-Type"] == "application/problem+json"
    problem = refused.get_json()
    for field in body:
        assert field in problem["errors"]["json"] and field in problem["detail"], problem
    assert likes(tom, opened["id"]) == 0


@pytest.mark.parametrize("body", ["[]", '"like"', "1"])
def test_a_like_whose_body_is_no_object_is_refused(review, body):
    tom, opened = review
    refused = tom.post(f"/api/v1/reviews/{opened['id']}/likes", data=body, content_type="application/json")
    assert refused.status_code == 422, refused.get_json()
    assert likes(tom, opened["id"]) == 0


@pytest.mark.parametrize("send", [
    lambda api, path: api.post(path),  # no body at all
    lambda api, path: api.post(path, json={}),
    lambda api, path: api.post(path, data="", content_type="application/json"),  # empty, typed as JSON
])
def test_a_like_without_fields_is_taken(review, send):
    tom, opened = review
    liked = send(tom, f"/api/v1/reviews/{opened['id']}/likes")
    assert liked.status_code == 201, liked.get_json()
    assert liked.get_json()["kind"] == "like" and likes(tom, opened["id"]) == 1


def test_the_openapi_document_describes_the_like_body(anonymous_api):
    spec = anonymous_api.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/reviews/{review_id}/likes"]["post"]
    body = operation["requestBody"]
    assert body["required"] is False  # no body is a like too
    schema = body["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    assert schema["type"] == "object" and schema.get("properties", {}) == {}
    assert schema["additionalProperties"] is False
    assert "422" in operation["responses"]

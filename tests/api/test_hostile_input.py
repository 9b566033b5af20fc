"""Hostile input gets a clear 4xx problem document, never a 500: oversized and deeply nested
variables, unknown fields, wrong types, absurd path and query parameters, and channel URLs that
point into the server's own network."""

from __future__ import annotations

import dataclasses

import pytest

from server.api.limits import MAX_DEPTH
from tests.api.engine_support import diagram, problem

INSTANCES = "/api/v1/process-instances"


def nested(depth: int, leaf=1):
    """A value of `depth` levels of alternating objects and arrays."""
    value = leaf
    for level in range(depth):
        value = {"a": value} if level % 2 else [value]
    return value


@pytest.fixture
def small_limit_api(app, admin_api, cafe):
    """The admin API of an app whose variables may hold 2,000 bytes of JSON."""
    cafe.settings = dataclasses.replace(cafe.settings, max_variables_bytes=2000)
    return admin_api


def started_task(api) -> tuple[dict, str]:
    api.deploy(diagram("camunda_form.bpmn"))
    started = api.start("camunda_form")
    return started, started["tasks"][0]["id"]


def test_oversized_variables_are_refused_with_413_naming_the_field(small_limit_api):
    api = small_limit_api
    big = {"blob": "x" * 3000}
    instance, task_id = started_task(api)
    cases = [
        ("POST", INSTANCES, {"definition_key": "camunda_form", "variables": big}, "variables"),
        ("POST", f"/api/v1/tasks/{task_id}/complete", {"variables": big}, "variables"),
        ("POST", "/api/v1/messages", {"name": "m", "variables": big}, "variables"),
        ("POST", "/api/v1/messages", {"name": "m", "correlation_keys": big}, "correlation_keys"),
        ("POST", "/api/v1/signals", {"name": "s", "variables": big}, "variables"),
        ("PATCH", f"{INSTANCES}/{instance['id']}/variables", {"set": big}, "set"),
        ("POST", f"{INSTANCES}/{instance['id']}/retry", {"variables": big}, "variables"),
    ]
    for method, path, body, field in cases:
        body_ = problem(api.request(method, path, json=body), 413)
        assert body_["detail"].startswith(f"{field}:") and "PROCESSCAFE_MAX_VARIABLES_BYTES" in body_["detail"]
        assert field in body_["errors"], (path, body_)
    # nothing was written: the task is still open, the instance unchanged
    assert api.get(f"/api/v1/tasks/{task_id}").status_code == 200
    assert "blob" not in api.get(f"{INSTANCES}/{instance['id']}/variables").get_json()
    # just under the limit is fine
    ok = api.post(INSTANCES, json={"definition_key": "camunda_form", "variables": {"blob": "x" * 1500}})
    assert ok.status_code == 201, ok.get_json()


def test_default_limit_is_one_mebibyte(admin_api, cafe):
    assert cafe.settings.max_variables_bytes == 1024 * 1024
    response = admin_api.post(INSTANCES, json={"definition_key": "nothing", "variables": {"b": "x" * (1024 * 1024)}})
    assert list(problem(response, 413)["errors"]) == ["variables"]


def deep_json(depth: int, prefix: str, suffix: str) -> str:
    """`prefix` + `depth` nested arrays + `suffix`, as text (json.dumps itself recurses)."""
    return prefix + "[" * depth + "1" + "]" * depth + suffix


def post_text(api, path: str, text: str):
    return api.post(path, data=text, content_type="application/json")


@pytest.mark.parametrize("depth", [MAX_DEPTH, 200, 50_000])
def test_deeply_nested_json_is_refused_on_every_route(admin_api, depth):
    body = deep_json(depth, '{"definition_key": "x", "variables": {"deep": ', "}}")
    detail = problem(post_text(admin_api, INSTANCES, body), 422)["detail"]
    assert f"nested deeper than {MAX_DEPTH} levels" in detail
    # the same hook guards the other routes, and the Camunda API
    problem(post_text(admin_api, "/api/v1/tokens", deep_json(depth, '{"name": ', "}")), 422)
    response = post_text(admin_api, "/engine-rest/message", deep_json(depth, '{"messageName": "m", "x": ', "}"))
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e400", "-2e308", "9" * 5000])
def test_numbers_that_json_does_not_allow_are_refused_on_every_route(admin_api, constant):
    """Python's parser takes them; stored, they were a 500 on PostgreSQL and invalid JSON out."""
    admin_api.deploy(diagram("camunda_form.bpmn"))
    body = '{"definition_key": "camunda_form", "variables": {"x": NUMBER}}'.replace("NUMBER", constant)
    assert constant[:40] in problem(post_text(admin_api, INSTANCES, body), 422)["detail"].replace("4300", "9" * 40)
    response = post_text(admin_api, "/engine-rest/process-definition/key/camunda_form/start",
                         '{"variables": {"x": {"value": NUMBER, "type": "Double"}}}'.replace("NUMBER", constant))
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert admin_api.get(INSTANCES).get_json()["items"] == []


@pytest.mark.parametrize("body", [
    '{"definition_key": "camunda_form", "business_key": "a\\u0000b"}',
    '{"definition_key": "camunda_form", "business_key": "a\\ud800b"}',
    '{"definition_key": "camunda_form", "variables": {"\\udfff": 1}}',
    '{"definition_key": "camunda_form", "variables": {"note": ["x", "\\u0000"]}}',
    '{"definition_key": "camunda_form", "variables": {"k\\u0000": 1}}',
])
def test_strings_holding_nul_or_a_lone_surrogate_are_refused(admin_api, body):
    """PostgreSQL's text columns cannot store U+0000, and no UTF-8 text a lone surrogate (each was a 500)."""
    admin_api.deploy(diagram("camunda_form.bpmn"))
    assert "which text fields cannot store" in problem(post_text(admin_api, INSTANCES, body), 422)["detail"]
    assert admin_api.get(INSTANCES).get_json()["items"] == []
    escaped = '{"definition_key": "camunda_form", "business_key": "a\\\\u0000b"}'  # a backslash, then text
    assert post_text(admin_api, INSTANCES, escaped).status_code == 201


@pytest.mark.parametrize(("path", "data"), [
    (INSTANCES + "/00000000-0000-0000-0000-000000000000?reason=a%00b", None),
    ("/login", {"username": "a\x00", "password": "x"}),
])
def test_query_parameters_and_form_fields_holding_nul_are_refused(admin_api, path, data):
    """PostgreSQL cannot store them (a web comment or a termination reason holding one was a 500 there)."""
    response = admin_api.delete(path) if data is None else admin_api.client.post(path, data=data)
    assert response.status_code == 422  # a problem document from the API, an HTML page from the web
    assert "U+0000" in response.get_data(as_text=True)


def test_nesting_up_to_the_limit_is_accepted(admin_api):
    admin_api.deploy(diagram("camunda_form.bpmn"))
    value = nested(MAX_DEPTH - 2)  # the body and the variables object are two levels
    started = admin_api.start("camunda_form", {"deep": value})
    assert started["variables"]["deep"] == value


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("POST", INSTANCES, {"definition_key": "x", "variabels": {}}, "variabels"),
    ("POST", INSTANCES, {"definition_key": 5}, "definition_key"),
    ("POST", INSTANCES, {"definition_key": "x", "variables": "a=1"}, "variables"),
    ("POST", INSTANCES, {"definition_key": "x", "variables": {"": 1}}, "variables"),
    ("POST", INSTANCES, {"definition_key": "x", "business_key": ["a"]}, "business_key"),
    ("POST", "/api/v1/messages", {"name": "m", "all": "sometimes"}, "all"),
    ("POST", "/api/v1/messages", {"name": ""}, "name"),
    ("POST", "/api/v1/messages", {"name": "m", "extra": 1}, "extra"),
    ("POST", "/api/v1/signals", {"name": "s", "variables": [1]}, "variables"),
    ("POST", "/api/v1/tokens", {"name": "t", "expires": "never"}, "expires"),
    ("POST", "/api/v1/users", {"username": "u" * 500}, "username"),
    ("POST", "/api/v1/users", {"username": "u", "groups": "staff"}, "groups"),
    ("POST", "/api/v1/follows", {"stream": 7}, "stream"),
    ("POST", "/api/v1/channels", {"name": "c", "kind": "webhook", "settings": []}, "settings"),
])
def test_unknown_fields_and_wrong_types_are_refused_naming_the_field(admin_api, method, path, body, field):
    refused = problem(admin_api.request(method, path, json=body), 422)
    assert field in refused["errors"].get("json", refused["errors"]), refused
    assert field in refused["detail"]


@pytest.mark.parametrize("path", [
    f"{INSTANCES}/not-a-uuid", f"{INSTANCES}/not-a-uuid/variables", f"{INSTANCES}/not-a-uuid/history",
    "/api/v1/tasks/../../etc", "/api/v1/tasks/1", "/api/v1/tasks/x/review", "/api/v1/reviews/x",
    "/api/v1/deployments/abc", "/api/v1/media/abc", "/api/v1/feed/items/99999999999999999999999999",
    "/api/v1/feed/items/-1", "/api/v1/process-definitions/" + "k" * 5000, "/api/v1/channels/" + "c" * 5000,
    "/api/v1/streams/" + "instance:" + "i" * 5000, f"{INSTANCES}/" + "0" * 100_000,
])
def test_impossible_ids_and_absurd_path_parameters_are_404(admin_api, path):
    problem(admin_api.get(path), 404)


def test_impossible_ids_in_actions_are_404(admin_api):
    for method, path in [("POST", "/api/v1/tasks/nope/claim"), ("POST", "/api/v1/tasks/nope/complete"),
                         ("PUT", "/api/v1/tasks/nope/assignee"), ("DELETE", f"{INSTANCES}/nope"),
                         ("POST", f"{INSTANCES}/nope/retry"), ("POST", "/api/v1/feed/items/1e9/like"),
                         ("POST", "/api/v1/reviews/nope/votes")]:
        response = admin_api.request(method, path, json={"user": None, "option": "approve", "variables": {}})
        assert response.status_code == 404, (method, path, response.get_json())


@pytest.mark.parametrize("query", [
    "/api/v1/tasks?limit=0", "/api/v1/tasks?limit=100000", "/api/v1/tasks?offset=-1",
    "/api/v1/tasks?offset=99999999999999999999", f"{INSTANCES}?limit=abc", f"{INSTANCES}?status=lost",
    f"{INSTANCES}?offset=9223372036854775808", f"{INSTANCES}?business_key=" + "b" * 1000,
    "/api/v1/tasks?candidate_group=" + "g" * 1000, "/api/v1/process-definitions?latest=perhaps",
    "/api/v1/feed?before=0", "/api/v1/feed?before=99999999999999999999999", "/api/v1/feed?limit=201",
    "/api/v1/deployments?offset=-5", f"{INSTANCES}?surprise=1",
])
def test_query_parameters_out_of_range_are_422(admin_api, query):
    body = problem(admin_api.get(query), 422)
    name = query.split("?", 1)[1].split("=", 1)[0]
    assert name in body["detail"], body


def test_history_query_out_of_range(admin_api):
    admin_api.deploy(diagram("camunda_form.bpmn"))
    instance = admin_api.start("camunda_form")
    for query in ("after=-1", "after=99999999999999999999999", "limit=0", "limit=5001"):
        problem(admin_api.get(f"{INSTANCES}/{instance['id']}/history?{query}"), 422)


PRIVATE_CHANNELS = [
    ("mastodon", {"base_url": "http://127.0.0.1:3000"}, {"access_token": "t"}),
    ("mastodon", {"base_url": "http://localhost"}, {"access_token": "t"}),
    ("mastodon", {"base_url": "https://[::1]:8443"}, {"access_token": "t"}),
    ("matrix", {"homeserver": "http://10.1.2.3:8008", "room_id": "!r:x"},
     {"user_id": "@u:x", "device_id": "D", "access_token": "t"}),
    ("matrix", {"homeserver": "http://192.168.0.10", "room_id": "!r:x", "allow_private": True},
     {"user_id": "@u:x", "device_id": "D", "access_token": "t"}),
    ("webhook", {"preset": "slack"}, {"url": "http://169.254.169.254/latest/meta-data"}),
    ("webhook", {}, {"url": "http://172.16.0.1/hook"}),
    ("email", {"host": "127.0.0.1", "port": 25, "from": "a@example.org", "to": ["b@example.org"]}, {}),
    ("email", {"host": "[::1]", "port": 25, "from": "a@example.org", "to": ["b@example.org"]}, {}),
]


@pytest.mark.parametrize(("kind", "channel_settings", "credentials"), PRIVATE_CHANNELS)
def test_channels_pointing_at_private_addresses_are_refused(admin_api, kind, channel_settings, credentials):
    body = {"name": "inside", "kind": kind, "settings": channel_settings, "credentials": credentials}
    refused = problem(admin_api.post("/api/v1/channels", json=body), 422)
    assert "private or loopback" in refused["detail"] and "allow_private" in refused["errors"]
    assert admin_api.get("/api/v1/channels/inside").status_code == 404
    made = admin_api.post("/api/v1/channels", json=body | {"allow_private": True})
    assert made.status_code == 201, made.get_json()
    # switching the flag off again is refused too, and changes nothing
    problem(admin_api.patch("/api/v1/channels/inside", json={"allow_private": False}), 422)
    assert admin_api.get("/api/v1/channels/inside").get_json()["allow_private"] is True


def test_public_channel_urls_are_accepted(admin_api):
    made = admin_api.post("/api/v1/channels", json={
        "name": "toots", "kind": "mastodon", "settings": {"base_url": "https://mastodon.example"},
        "credentials": {"access_token": "t"}})
    assert made.status_code == 201, made.get_json()
    problem(admin_api.patch("/api/v1/channels/toots", json={"settings": {"base_url": "http://127.0.0.2"}}), 422)
    assert admin_api.get("/api/v1/channels/toots").get_json()["settings"]["base_url"] == "https://mastodon.example"


MAIL = {"port": 25, "from": "a@example.org", "to": ["b@example.org"]}


@pytest.mark.parametrize(("kind", "channel_settings", "credentials", "named"), [
    ("webhook", {"preset": "generic"}, {"url": "http://a..b/"}, "a..b"),
    ("webhook", {"preset": "generic"}, {"url": "http://" + "x" * 64 + ".example/"}, "not a valid host name"),
    ("mastodon", {"base_url": 5}, {"access_token": "t"}, "AttributeError"),
    ("mastodon", {"base_url": "https://m.example", "mastodon_version": "x"}, {"access_token": "t"}, "version"),
    ("x", {"api_base": 5}, {"bearer_token": "t"}, "AttributeError"),
    ("email", {"host": "", **MAIL}, {}, "host"),
    ("email", {"host": "mail.example", **MAIL, "to": [1]}, {}, "must be text"),
])
def test_channel_settings_a_connector_cannot_use_are_400(admin_api, kind, channel_settings, credentials, named):
    """Each was a 500 (an email host "" would even have sent through localhost, past the private check)."""
    body = {"name": "odd", "kind": kind, "settings": channel_settings, "credentials": credentials}
    assert named in problem(admin_api.post("/api/v1/channels", json=body), 400)["detail"]
    assert admin_api.get("/api/v1/channels/odd").status_code == 404

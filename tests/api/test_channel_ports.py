"""A channel URL (or mail port) whose port no connection can use is refused when the channel is
saved, naming the field and the reason, and nothing is stored; before, it was accepted and only
failed when a step sent through the channel."""

from __future__ import annotations

import pytest

from tests.api.engine_support import problem

CHANNELS = "/api/v1/channels"
MATRIX_CREDENTIALS = {"user_id": "@u:x", "device_id": "D", "access_token": "t"}
MAIL = {"host": "mail.example", "from": "a@example.org", "to": ["b@example.org"]}


def mastodon(url: str) -> dict:
    return {"kind": "mastodon", "settings": {"base_url": url}, "credentials": {"access_token": "t"}}


def matrix(url: str) -> dict:
    return {"kind": "matrix", "settings": {"homeserver": url, "room_id": "!r:x"}, "credentials": MATRIX_CREDENTIALS}


def webhook(url: str) -> dict:
    return {"kind": "webhook", "settings": {"preset": "slack"}, "credentials": {"url": url}}


def x(url: str) -> dict:
    keys = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
    return {"kind": "x", "settings": {"api_base": url}, "credentials": dict.fromkeys(keys, "t")}


URL_FIELDS = [(mastodon, "settings.base_url"), (matrix, "settings.homeserver"), (webhook, "credentials.url"),
              (x, "settings.api_base")]
BAD_PORTS = [("0", "port 0 is outside 1-65535"), ("65536", "port 65536 is outside 1-65535"),
             ("99999", "port 99999 is outside 1-65535"), ("abc", "the port is not a number"),
             ("-1", "the port is not a number"), ("8%30", "the port is not a number")]


@pytest.mark.parametrize(("channel", "field"), URL_FIELDS)
@pytest.mark.parametrize(("port", "reason"), BAD_PORTS)
def test_a_channel_url_with_an_impossible_port_is_refused_when_saved(admin_api, channel, field, port, reason):
    body = {"name": "ported", **channel(f"https://net.example:{port}/hook/secret-token")}
    refused = problem(admin_api.post(CHANNELS, json=body), 422)
    assert field in refused["detail"] and reason in refused["detail"], refused
    assert refused["errors"] == {field: [reason]}
    assert "secret-token" not in str(refused)  # a webhook URL is a secret: never echoed
    assert admin_api.get(f"{CHANNELS}/ported").status_code == 404
    assert [c["name"] for c in admin_api.get(CHANNELS).get_json()["items"]] == ["feed"]


@pytest.mark.parametrize(("channel", "field"), URL_FIELDS)
def test_changing_a_channel_to_an_impossible_port_changes_nothing(admin_api, channel, field):
    made = admin_api.post(CHANNELS, json={"name": "ported", **channel("https://net.example:8443/hook")})
    assert made.status_code == 201, made.get_json()
    before = admin_api.get(f"{CHANNELS}/ported").get_json()
    section, key = field.split(".")
    changed = {section: {**channel("https://net.example:65536/hook")[section]}}
    refused = problem(admin_api.patch(f"{CHANNELS}/ported", json=changed), 422)
    assert refused["errors"] == {field: ["port 65536 is outside 1-65535"]}
    assert admin_api.get(f"{CHANNELS}/ported").get_json() == before


@pytest.mark.parametrize("url", ["https://net.example:1/", "https://net.example:65535/", "https://net.example:08443",
                                 "https://net.example/", "https://net.example:/", "https://[2606:4700::1111]:443/"])
def test_ports_a_connection_can_use_are_accepted(admin_api, url):
    made = admin_api.post(CHANNELS, json={"name": "ported", **mastodon(url)})
    assert made.status_code == 201, made.get_json()


@pytest.mark.parametrize(("port", "reason"), [
    (0, "port 0 is outside 1-65535"), (65536, "port 65536 is outside 1-65535"),
    ("abc", "the port is not a number"), (True, "the port is not a number"), (2.5, "the port is not a number")])
def test_a_mail_channel_with_an_impossible_port_is_refused(admin_api, port, reason):
    body = {"name": "mail", "kind": "email", "settings": {**MAIL, "port": port}}
    refused = problem(admin_api.post(CHANNELS, json=body), 422)
    assert refused["errors"] == {"settings.port": [reason]} and "settings.port" in refused["detail"]
    assert admin_api.get(f"{CHANNELS}/mail").status_code == 404
    for name, good in (("mail", 2525), ("mail-text", "2525"), ("mail-default", "")):
        made = admin_api.post(CHANNELS, json={**body, "name": name, "settings": {**MAIL, "port": good}})
        assert made.status_code == 201, made.get_json()


@pytest.mark.parametrize("url", ["http://100.100.100.200/hook", "http://[64:ff9b::a9fe:a9fe]/hook",
                                 "http://[2002:7f00:1::]/hook"])
def test_a_channel_into_hidden_private_ranges_needs_allow_private(admin_api, url):
    refused = admin_api.post("/api/v1/channels", json={"name": "inside", **webhook(url)})
    assert refused.status_code == 422, refused.get_json()
    assert "allow_private" in refused.get_json()["errors"]
    allowed = admin_api.post("/api/v1/channels", json={"name": "inside", "allow_private": True, **webhook(url)})
    assert allowed.status_code == 201, allowed.get_json()

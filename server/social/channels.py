"""Named channels: configuration, encrypted credentials, and connectors built for them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.base import Connector
from connectors.http import OutboundProxy, guarded_session, is_private_address
from connectors.registry import connector_class

from ..models import Channel
from ..services.errors import BadRequest, Conflict, Invalid, NotFound
from .credentials import Vault

FEED = "feed"  # the built-in channel: always there, no network
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
URL_START = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.-]*://")  # a value with an authority: it may name a port

_outbound_proxy: OutboundProxy | None = None  # the server's PROCESSCAFE_OUTBOUND_PROXY


def use_outbound_proxy(proxy: OutboundProxy | None) -> None:
    """Send every channel's HTTP through the admin's egress proxy (None: connect directly). Set
    once for the process when the app is built, like the service-call dispatchers."""
    global _outbound_proxy
    _outbound_proxy = proxy


@dataclass(frozen=True)
class ChannelView:
    """What the API shows of a channel: never its credentials."""

    name: str
    kind: str
    settings: dict
    allow_private: bool
    enabled: bool
    has_credentials: bool
    created_at: datetime | None


def view(channel: Channel) -> ChannelView:
    return ChannelView(channel.name, channel.kind, dict(channel.settings or {}), channel.allow_private,
                       channel.enabled, bool(channel.credentials), channel.created_at)


FEED_VIEW = ChannelView(FEED, "feed", {}, False, True, False, None)


def list_channels(session: Session) -> list[ChannelView]:
    return [FEED_VIEW] + [view(c) for c in session.scalars(select(Channel).order_by(Channel.name))]


def get(session: Session, name: str) -> Channel:
    """A configured channel, to change, remove or watch. The built-in feed has no row: asking for
    it here says why it cannot be changed, not that it does not exist (it is listed)."""
    if name == FEED:
        raise BadRequest("the feed channel is built in: it cannot be changed, removed or watched")
    channel = session.scalars(select(Channel).where(Channel.name == name)).first()
    if channel is None:
        raise NotFound(f"no channel named {name!r}")
    return channel


def exists(session: Session, name: str) -> bool:
    return name == FEED or session.scalars(select(Channel.id).where(Channel.name == name)).first() is not None


def _check_kind(kind: str) -> type:
    if kind == FEED:
        raise BadRequest("the feed channel is built in; it needs no configuration")
    try:
        return connector_class(kind)
    except KeyError:
        raise BadRequest(f"unknown channel kind {kind!r}") from None


def create(session: Session, vault: Vault, name: str, kind: str, settings: dict[str, Any],
           credentials: dict[str, Any] | None, allow_private: bool = False) -> Channel:
    if not NAME.match(name or "") or name == FEED:
        raise BadRequest("a channel name has 1-64 lower-case letters, digits or _ . - (and is not 'feed')")
    if exists(session, name):
        raise Conflict(f"channel {name!r} exists already")
    cls = _check_kind(kind)
    _check_builds(cls, name, settings, credentials or {}, allow_private)
    channel = Channel(name=name, kind=kind, settings=settings, allow_private=allow_private,
                      credentials=vault.seal(credentials) if credentials else None)
    session.add(channel)
    session.flush()
    return channel


def update(session: Session, vault: Vault, name: str, settings: dict | None = None,
           credentials: dict | None = None, allow_private: bool | None = None,
           enabled: bool | None = None) -> Channel:
    channel = get(session, name)
    new_settings = settings if settings is not None else channel.settings
    new_credentials = credentials if credentials is not None else vault.open(channel.credentials)
    new_private = allow_private if allow_private is not None else channel.allow_private
    _check_builds(_check_kind(channel.kind), name, new_settings, new_credentials, new_private)
    channel.settings = new_settings
    if credentials is not None:
        channel.credentials = vault.seal(credentials)
    channel.allow_private = new_private
    if enabled is not None:
        channel.enabled = enabled
    channel.updated_at = datetime.now(timezone.utc)
    return channel


def delete(session: Session, name: str) -> None:
    session.delete(get(session, name))


def _check_builds(cls: type, name: str, settings: dict, credentials: dict, allow_private: bool) -> None:
    """Build the connector once, so bad settings are refused when saved, not when a step runs."""
    _check_ports(settings, credentials)
    try:
        _build(cls, name, settings, credentials, allow_private)
        hosts = cls.hosts(settings, credentials)
    except Exception as err:  # whatever the connector's client library raises on these settings
        raise BadRequest(f"the channel's settings or credentials are incomplete or wrong: "
                         f"{type(err).__name__}: {err}") from None
    _check_public(hosts, allow_private)


def port_problem(port: object) -> str | None:
    """Why `port` (a URL's port text, or a `port` setting) names no TCP port; None if it does."""
    if isinstance(port, int) and not isinstance(port, bool):
        port = str(port)
    if not (isinstance(port, str) and port.isascii() and port.isdigit()):
        return "the port is not a number"
    if len(port) > 10 or not 1 <= int(port) <= 65535:  # no int() of thousands of digits
        return f"port {port if len(port) <= 10 else port[:10] + '...'} is outside 1-65535"
    return None


def url_port(url: str) -> str | None:
    """The port text of an absolute URL, None if it has none (`http://h/` and `http://h:/` both
    mean the scheme's port). Read from the text: urlsplit(...).port says 0 for `:0` and raises
    ValueError for the rest, in words that differ between Python versions."""
    try:
        host_port = urlsplit(url.strip()).netloc.rpartition("@")[2]
    except ValueError:  # "http://[::1/": the connector's own check names it
        return None
    if host_port.startswith("["):  # an IPv6 literal: [::1]:8443
        host_port = host_port.partition("]")[2]
    port = host_port.partition(":")[2]
    return port or None


def _check_ports(settings: dict, credentials: dict) -> None:
    """Refuse, when saved, a URL (or a `port` setting) whose port no connection can use: `:0`,
    `:65536`, `:abc` were stored and failed only when a step sent. Credentials' URLs may carry a
    secret, so the problem names the field and the reason, never the value."""
    errors: dict[str, list[str]] = {}
    for section, values in (("settings", settings), ("credentials", credentials)):
        for key, value in (values or {}).items():
            if isinstance(value, str) and URL_START.match(value):
                port = url_port(value)
                problem = port_problem(port) if port is not None else None
            elif section == "settings" and key == "port" and value not in (None, ""):  # "": the default
                problem = port_problem(value)
            else:
                continue
            if problem:
                errors[f"{section}.{key}"] = [problem]
    if errors:
        raise Invalid("; ".join(f"{field}: {reasons[0]}" for field, reasons in errors.items()), errors=errors)


def _check_public(hosts, allow_private: bool) -> None:
    """Refuse, when saved, a channel whose URLs point into the server's own network (loopback,
    private, link-local: a cloud metadata service, an admin port), unless the channel's
    `allow_private` is set. The GuardedSession checks again at each request (a name may be
    re-pointed later); this check makes the mistake visible to the admin who made it. Only the
    channel's own flag counts, not an `allow_private` key inside its settings."""
    if allow_private:
        return
    for host in sorted(h for h in hosts if h):
        try:
            private = is_private_address(host)
        except ValueError as err:
            raise BadRequest(str(err)) from None
        if private:
            raise Invalid(f"the channel's host {host!r} resolves to a private or loopback address; "
                          "an admin must set allow_private to use it", errors={"allow_private": [
                              f"{host} is private; set allow_private to true to allow it"]})


def _build(cls: type, name: str, settings: dict, credentials: dict, allow_private: bool) -> Connector:
    hosts = cls.hosts(settings, credentials)
    return cls(name, settings, credentials, guarded_session(hosts, allow_private=allow_private, proxy=_outbound_proxy))


def connector_for(channel: Channel, vault: Vault) -> Connector:
    return _build(connector_class(channel.kind), channel.name, dict(channel.settings or {}),
                  vault.open(channel.credentials), channel.allow_private)

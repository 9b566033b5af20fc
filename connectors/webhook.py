"""Incoming webhooks (Slack, Microsoft Teams Workflows, Discord, Mattermost, or any JSON receiver).

A webhook is one JSON POST with no read-back, so this kind suits announce-only steps:
fetch_reactions returns an empty page and find_published returns None. There is no look-up before a
retry, so delivery is *at least once*: a POST whose answer was lost is sent again. The generic preset
sends an `Idempotency-Key` header so that receivers of ours can drop such repeats.

The webhook URL carries the secret (Slack and Discord put the token in the path), so it lives in the
channel's encrypted credentials `{"url": ...}`, never in settings, and it never appears in an error
message or a log record: urllib3's request lines are redacted and exceptions are raised `from None`.
Settings: `{"preset": "generic"|"slack"|"teams"|"discord"|"mattermost"}` (default generic).
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import requests

from .base import (
    AuthFailed,
    InboundPost,
    Post,
    PostRef,
    RateLimited,
    ReactionPage,
    Rejected,
    Transient,
    posted_id,
)
from .http import HostNotAllowed
from .registry import register

PRESETS = ("generic", "slack", "teams", "discord", "mattermost")
DEFAULT_RETRY = timedelta(seconds=60)
_SECRET_PATHS: set[str] = set()


class _RedactSecretPaths(logging.Filter):
    """urllib3 logs each request's path at DEBUG; for a webhook that path is the secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and _SECRET_PATHS:
            record.args = tuple("<webhook path redacted>" if isinstance(a, str) and any(
                p in a for p in _SECRET_PATHS) else a for a in record.args)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactSecretPaths())


def _media_urls(post: Post) -> list[str]:
    # MediaFile carries bytes only; a public (expiring) URL, if it ever gets one, is what a webhook can show.
    return [url for m in post.media if (url := getattr(m, "url", None))]


def _with_link(post: Post, fmt: str = "{text}\n\n{link}") -> str:
    return fmt.format(text=post.text, link=post.link) if post.link else post.text


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_body(preset: str, post: Post) -> dict[str, Any]:
    """The JSON body each receiver expects."""
    images = _media_urls(post)
    if preset == "slack":
        text = _slack_escape(post.text) + (f"\n<{post.link}|Open in Process Café>" if post.link else "")
        blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
        blocks += [{"type": "image", "image_url": url, "alt_text": "image"} for url in images]
        return {"text": text, "blocks": blocks}
    if preset == "mattermost":
        return {"text": _with_link(post, "{text}\n\n[Open in Process Café]({link})")}
    if preset == "discord":  # no @everyone pings from process text
        return {"content": _with_link(post), "allowed_mentions": {"parse": []},
                **({"embeds": [{"image": {"url": url}} for url in images[:10]]} if images else {})}
    if preset == "teams":
        card_body: list[dict[str, Any]] = [{"type": "TextBlock", "text": post.text, "wrap": True}]
        card_body += [{"type": "Image", "url": url} for url in images]
        card: dict[str, Any] = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                                "type": "AdaptiveCard", "version": "1.4", "body": card_body}
        if post.link:
            card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in Process Café", "url": post.link}]
        return {"type": "message", "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}
    return {"key": post.key, "text": post.text, "link": post.link, **({"media": images} if images else {})}


def _retry_at(response: requests.Response) -> datetime:
    now = datetime.now(timezone.utc)
    header = response.headers.get("Retry-After")
    if header:
        try:
            return now + timedelta(seconds=float(header))
        except ValueError:
            try:
                return parsedate_to_datetime(header)
            except (TypeError, ValueError):
                pass
    try:  # Discord: {"retry_after": 1.5, ...} in seconds
        return now + timedelta(seconds=float(response.json()["retry_after"]))
    except (ValueError, KeyError, TypeError):
        return now + DEFAULT_RETRY


@register
class WebhookConnector:
    """Announce-only channel: one POST per post, at least once."""

    kind: ClassVar[str] = "webhook"
    capabilities: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, name: str, settings: dict[str, Any], credentials: dict[str, Any],
                 http: requests.Session) -> None:
        if "url" in settings:
            raise ValueError("the webhook URL is a secret: store it in the channel's credentials, not settings")
        self.name = name
        self.preset = settings.get("preset", "generic")
        if self.preset not in PRESETS:
            raise ValueError(f"unknown webhook preset {self.preset!r}; one of {', '.join(PRESETS)}")
        url = credentials.get("url") or ""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the webhook credentials need an http(s) 'url'")
        if self.preset == "discord":  # ?wait=true makes Discord answer with the message (and its id)
            parts = parts._replace(query="&".join(q for q in (parts.query, "wait=true") if q))
        self._url = urlunsplit(parts)
        self.host = parts.hostname
        _SECRET_PATHS.add(parts.path)
        self.http = http

    @staticmethod
    def hosts(settings: dict[str, Any], credentials: dict[str, Any]) -> set[str]:
        """The one host this channel may reach (for the server's GuardedSession)."""
        return {urlsplit(credentials.get("url") or "").hostname or ""} - {""}

    def __repr__(self) -> str:
        return f"<WebhookConnector {self.name} {self.preset} {self.host}>"

    def publish(self, post: Post) -> PostRef:
        headers = {"Idempotency-Key": post.key} if self.preset == "generic" else {}
        try:
            response = self.http.post(self._url, json=build_body(self.preset, post), headers=headers)
        except HostNotAllowed as err:
            raise Rejected(str(err)) from None
        except requests.RequestException as err:  # its text names the URL, i.e. the secret
            raise Transient(f"webhook {self.host}: {type(err).__name__}") from None
        status = response.status_code
        if status == 429:
            raise RateLimited(_retry_at(response), f"webhook {self.host} rate limited")
        if status >= 500 or status == 408:
            raise Transient(f"webhook {self.host} answered {status}")
        if status in (401, 403):  # the URL (our credential) was revoked or is wrong
            raise AuthFailed(f"webhook {self.host} refused the URL ({status})")
        if status >= 400:
            raise Rejected(f"webhook {self.host} rejected the post ({status}): {response.text[:200]}")
        remote_id = post.key  # the post went out (a 2xx); Discord's message id is only a nicer name for it
        if self.preset == "discord":
            with contextlib.suppress(ValueError, KeyError, TypeError, Transient):
                remote_id = posted_id(response.json()["id"], "Discord")
        return PostRef(channel=self.name, remote_id=remote_id, extra={"preset": self.preset})

    def find_published(self, post: Post, not_before: datetime) -> PostRef | None:
        """Webhooks cannot be read back: unknown means resend (at least once)."""
        return None

    def fetch_reactions(self, ref: PostRef, cursor: str | None) -> ReactionPage:
        return ReactionPage(items=[], cursor=cursor)

    def inbound(self, cursor: str | None) -> tuple[list[InboundPost], str | None]:
        return [], cursor

"""Downloading the images an inbound post names, from the channel's media hosts only.

A post names its images by URL (Mastodon's `media_attachments`, X's expanded media). Those URLs
are written by servers we do not control (Mastodon's `remote_url` by any server in the
federation), so fetched as they come they would let anyone who mentions the account make our
server GET whatever they like. A URL is taken only when its host is one of the channel's media
hosts (the `media_hosts` setting; each connector says its default), it is fetched through the
channel's GuardedSession (vetted addresses; no proxy but the admin's outbound one), a redirect is
followed only to a media host, and no credentials go with it (the client libraries add their
tokens per request, never to the session).

Limits, each becoming a `MediaRefused` whose reason the started instance keeps: only attachments
the network calls images, and only bodies whose first bytes are one of the four formats
`connectors.media` opens (the full check, which also strips GPS and other metadata, is made where
the image is stored); at most `max_images` per post; at most `max_bytes` per image, read in
pieces and stopped at the limit; and at most `seconds` per download, however slowly the host
sends (each read returns what has arrived, so a trickle cannot stretch one read).
"""

from __future__ import annotations

import posixpath
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from urllib3.exceptions import HTTPError

from .base import MediaFile, MediaLink, MediaRefused, SkippedMedia
from .media import DEFAULT_MAX_BYTES, sniff

MAX_IMAGES_PER_POST = 4  # what Mastodon and X allow in one post
DOWNLOAD_SECONDS = 30.0
MAX_REDIRECTS = 3
_PIECE = 64 * 1024
_REDIRECTS = (301, 302, 303, 307, 308)
_CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
_HOST_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$")


@dataclass(frozen=True)
class Attachment:
    """One attachment of a post as its network describes it."""

    source: str  # the network's media id
    kind: str  # the network's word for it: "image", "photo", "video", "gifv", ...
    is_image: bool
    urls: tuple[str, ...]  # where it may be downloaded, preferred first
    description: str | None = None  # alt text


def _bare(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def _host_of(item: str) -> str:
    """The host an entry of `media_hosts` names: a host name, or a URL's host."""
    if "*" in item:
        raise ValueError(f"media_hosts: {item!r}: wildcards are not accepted; list each host")
    parts = urlsplit(item if "://" in item else f"//{item}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"media_hosts: {item!r} is not a host name")
    host = _bare(parts.hostname or "")
    if not host or not (":" in host or _HOST_NAME.match(host)):
        raise ValueError(f"media_hosts: {item!r} is not a host name")
    return host


def media_hosts(settings: dict[str, Any], default: Iterable[str | None]) -> list[str]:
    """The hosts a channel's inbound images may come from: the `media_hosts` setting (a list of
    host names or URLs, or one text of them separated by commas), else `default`."""
    value = settings.get("media_hosts")
    if value in (None, "", []):
        return list(dict.fromkeys(_bare(h) for h in default if h))
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ValueError("media_hosts must be a list of host names, or one text of names separated by commas")
    hosts = [_host_of(i.strip()) for i in items if i.strip()]
    if not hosts:
        raise ValueError("media_hosts names no host")
    return list(dict.fromkeys(hosts))


class MediaFetcher:
    """Chooses which attachments of a post to take and downloads them, within the limits above."""

    def __init__(self, http: requests.Session, hosts: Iterable[str], max_images: int = MAX_IMAGES_PER_POST,
                 max_bytes: int = DEFAULT_MAX_BYTES, seconds: float = DOWNLOAD_SECONDS):
        self.http = http
        self.hosts = frozenset(_bare(h) for h in hosts if h)
        self.max_images = max_images
        self.max_bytes = max_bytes
        self.seconds = seconds

    def allows(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
            return parts.scheme in ("http", "https") and _bare(parts.hostname or "") in self.hosts
        except ValueError:  # "http://[::1" and the like
            return False

    def select(self, attachments: Iterable[Attachment]) -> tuple[tuple[MediaLink, ...], tuple[SkippedMedia, ...]]:
        """The images to download (in the post's order, at most `max_images`), and the rest with why."""
        links: list[MediaLink] = []
        skipped: list[SkippedMedia] = []
        for item in attachments:
            source = item.urls[0] if item.urls else item.source
            url = next((u for u in item.urls if self.allows(u)), None)
            if not item.is_image:
                skipped.append(SkippedMedia(source, f"not an image ({item.kind or 'unknown'}); only images are taken"))
            elif len(links) >= self.max_images:
                skipped.append(SkippedMedia(source, f"only the first {self.max_images} images of a post are taken"))
            elif url is None:
                skipped.append(SkippedMedia(source, self._elsewhere(item.urls)))
            else:
                links.append(MediaLink(url, item.description))
        return tuple(links), tuple(skipped)

    def fetch(self, link: MediaLink) -> MediaFile:
        """The image's bytes; MediaRefused with the reason if they cannot be taken."""
        deadline = time.monotonic() + self.seconds
        wait = min(float(getattr(self.http, "timeout", None) or DOWNLOAD_SECONDS), self.seconds)
        url = link.url
        for _ in range(MAX_REDIRECTS + 1):
            if not self.allows(url):
                raise MediaRefused(self._elsewhere((url,)))
            try:
                response = self.http.get(url, stream=True, allow_redirects=False, timeout=(wait, wait),
                                         headers={"Accept": "image/*", "Accept-Encoding": "identity"})
            except requests.RequestException as err:
                raise MediaRefused(f"the download failed: {err}") from None
            with response:
                if response.status_code in _REDIRECTS and response.headers.get("Location"):
                    url = urljoin(url, response.headers["Location"])
                    continue
                if response.status_code != 200:
                    raise MediaRefused(f"the media host answered {response.status_code} {response.reason or ''}"
                                       .rstrip())
                content, fmt = self._read(response, deadline)
            filename = posixpath.basename(urlsplit(url).path) or "image"
            return MediaFile(content, _CONTENT_TYPES[fmt], filename, link.description)
        raise MediaRefused(f"more than {MAX_REDIRECTS} redirects")

    def _read(self, response: requests.Response, deadline: float) -> tuple[bytes, str]:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise MediaRefused(f"the image is {int(declared)} bytes; the limit is {self.max_bytes} bytes")
        data = bytearray()
        fmt: str | None = None
        try:
            while piece := response.raw.read1(_PIECE, decode_content=False):
                data += piece
                if len(data) > self.max_bytes:
                    raise MediaRefused(f"the image is larger than the limit of {self.max_bytes} bytes")
                if fmt is None and len(data) >= 12:
                    fmt = self._format(data)
                if time.monotonic() > deadline:
                    raise MediaRefused(f"the download took longer than {self.seconds:g} seconds")
        except (HTTPError, OSError) as err:
            raise MediaRefused(f"the download failed: {err}") from None
        return bytes(data), fmt or self._format(data)

    @staticmethod
    def _format(data: bytearray) -> str:
        fmt = sniff(bytes(data[:12]))
        if fmt is None:
            raise MediaRefused("not a JPEG, PNG, WebP or GIF image")
        return fmt

    def _elsewhere(self, urls: Iterable[str]) -> str:
        hosts = sorted({_host_or_text(u) for u in urls if u})
        allowed = ", ".join(sorted(self.hosts)) or "none"
        if not hosts:
            return "the network gave no address to download it from"
        return f"served from {', '.join(hosts)}, which is not one of the channel's media hosts ({allowed})"


def _host_or_text(url: str) -> str:
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url

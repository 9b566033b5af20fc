"""A small stateful Mastodon: the endpoints Mastodon.py calls for posting, media, polls, replies,
favourites and mention notifications, with Mastodon's quirks that matter to a client:

- content comes back as HTML (links split into invisible spans, text escaped), so a marker must be
  looked for in the HTML, not compared with the text we sent;
- the same Idempotency-Key from the same account returns the first status instead of a new one;
- polls arrive as JSON, other posts as form fields (`media_ids[]`); a poll with media is refused (< 4.6);
- pagination by max_id / since_id / min_id (min_id pages upwards without gaps);
- errors are `{"error": ...}`; a 429 carries X-RateLimit-Reset as an ISO time.

Other people act through Python methods (`post`, `favourite`, `vote`, `add_media` for the images of
their posts); `fail_next` scripts faults. Media files are served (without a token, as a files host
does) at `files_base_url`, by default the fake's own URL; a test points it at another name of the
fake (`localhost` for `127.0.0.1`) to play an instance whose files live on another host.
"""

from __future__ import annotations

import html
import itertools
import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Response, abort, jsonify, make_response, request

from tests.fakes.server import FakeService

_URL = re.compile(r"https?://[^\s<]+")


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def render_html(text: str) -> str:
    """Text as Mastodon renders it: paragraphs, <br>, escaped, links split into spans."""
    def paragraph(part: str) -> str:
        out, last = [], 0
        for m in _URL.finditer(part):
            out.append(html.escape(part[last:m.start()]))
            url = m.group(0)
            scheme, rest = url.split("://", 1)
            out.append(f'<a href="{html.escape(url)}" rel="nofollow noopener" target="_blank">'
                       f'<span class="invisible">{scheme}://</span><span class="">{html.escape(rest)}</span>'
                       f'<span class="invisible"></span></a>')
            last = m.end()
        out.append(html.escape(part[last:]))
        return "".join(out).replace("\n", "<br />")
    return "".join(f"<p>{paragraph(p)}</p>" for p in text.split("\n\n"))


class FakeMastodon(FakeService):
    def __init__(self) -> None:
        super().__init__("fake-mastodon")
        self._ids = itertools.count(113_000_000_000_000_001)
        self.accounts: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}
        self.statuses: dict[str, dict[str, Any]] = {}
        self.media: dict[str, dict[str, Any]] = {}  # id -> {bytes, content_type, filename, description, ...}
        self.polls: dict[str, dict[str, Any]] = {}
        self.favourites: dict[str, list[str]] = {}
        self.notifications: list[dict[str, Any]] = []
        self.idempotency: dict[tuple[str, str], str] = {}
        self.strip_invisible = False  # act like a server that drops zero-width characters
        self.files_base_url: str | None = None  # where media files are served; None: the fake's own URL
        self._routes()

    # -- what other people do -------------------------------------------------------------------

    def add_account(self, username: str, token: str | None = None) -> dict[str, Any]:
        with self.lock:
            account = {"id": self._next_id(), "username": username, "acct": username, "display_name": username.title(),
                       "locked": False, "bot": False, "created_at": _iso(datetime.now(timezone.utc)), "note": "",
                       "url": f"{self.base_url}/@{username}", "avatar": "", "avatar_static": "", "header": "",
                       "header_static": "", "followers_count": 0, "following_count": 0, "statuses_count": 0,
                       "last_status_at": None, "emojis": [], "fields": []}
            self.accounts[account["id"]] = account
            if token:
                self.tokens[token] = account["id"]
            return account

    def post(self, account_id: str, text: str, in_reply_to_id: str | None = None, visibility: str = "public",
             media_ids: list[str] | None = None, poll: dict[str, Any] | None = None,
             created_at: datetime | None = None) -> dict[str, Any]:
        """Create a status as `account_id`; mentioning @username notifies that local account."""
        if self.strip_invisible:
            text = re.sub("[\u200b-\u200d\u2060]", "", text)
        with self.lock:
            status_id = self._next_id()
            status = {"id": status_id, "account_id": account_id, "text": text, "in_reply_to_id": in_reply_to_id,
                      "visibility": visibility, "media_ids": list(media_ids or []), "poll_id": None,
                      "created_at": created_at or datetime.now(timezone.utc)}
            if poll:
                poll_id = self._next_id()
                expires_at = datetime.now(timezone.utc) + timedelta(seconds=int(poll["expires_in"]))
                self.polls[poll_id] = {"id": poll_id, "options": [[o, 0] for o in poll["options"]],
                                       "multiple": bool(poll.get("multiple")), "voters": 0, "expires_at": expires_at}
                status["poll_id"] = poll_id
            self.statuses[status_id] = status
            for other in self.accounts.values():
                if other["id"] != account_id and f"@{other['username']}" in text:
                    self.notifications.append({"id": self._next_id(), "type": "mention", "account_id": account_id,
                                               "status_id": status_id, "for": other["id"],
                                               "created_at": status["created_at"]})
            return self._status_json(status)

    def add_media(self, account_id: str, content: bytes, content_type: str = "image/jpeg", kind: str = "image",
                  description: str | None = None, remote_url: str | None = None, url: str | None = None,
                  serve: str = "whole") -> str:
        """An attachment someone uploaded, for `post(media_ids=...)`. `url` replaces the file's own
        address; `serve` is how its file is sent: "whole", "endless" (bytes without end, no length)
        or "trickle" (a few bytes at a time, slowly, without end)."""
        with self.lock:
            media_id = self._next_id()
            self.media[media_id] = {"bytes": content, "content_type": content_type, "filename": f"{media_id}.jpg",
                                    "description": description, "account_id": account_id, "status_id": None,
                                    "type": kind, "remote_url": remote_url, "url": url, "serve": serve}
            return media_id

    def favourite(self, account_id: str, status_id: str) -> None:
        with self.lock:
            likers = self.favourites.setdefault(status_id, [])
            if account_id not in likers:
                likers.append(account_id)

    def vote(self, status_id: str, option: int, voters: int = 1) -> None:
        with self.lock:
            poll = self.polls[self.statuses[status_id]["poll_id"]]
            poll["options"][option][1] += voters
            poll["voters"] += voters

    def expire_poll(self, status_id: str) -> None:
        with self.lock:
            self.polls[self.statuses[status_id]["poll_id"]]["expires_at"] = datetime.now(timezone.utc)

    def rate_limit_next(self, reset: datetime, path: str | None = None, count: int = 1) -> None:
        self.fail_next(429, {"error": "Too many requests"}, path=path, count=count,
                       headers={"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
                                "X-RateLimit-Reset": _iso(reset)})

    # -- JSON as Mastodon shapes it ---------------------------------------------------------------

    def _next_id(self) -> str:
        return str(next(self._ids))

    def _status_json(self, s: dict[str, Any]) -> dict[str, Any]:
        account = self.accounts[s["account_id"]]
        parent = self.statuses.get(s["in_reply_to_id"] or "")
        return {
            "id": s["id"], "created_at": _iso(s["created_at"]), "in_reply_to_id": s["in_reply_to_id"],
            "in_reply_to_account_id": parent["account_id"] if parent else None, "sensitive": False,
            "spoiler_text": "", "visibility": s["visibility"], "language": "en",
            "uri": f"{self.base_url}/users/{account['username']}/statuses/{s['id']}",
            "url": f"{self.base_url}/@{account['username']}/{s['id']}",
            "replies_count": sum(1 for o in self.statuses.values() if o["in_reply_to_id"] == s["id"]),
            "reblogs_count": 0, "favourites_count": len(self.favourites.get(s["id"], [])),
            "favourited": False, "reblogged": False, "muted": False, "bookmarked": False,
            "content": render_html(s["text"]), "reblog": None, "application": None, "account": account,
            "media_attachments": [self._media_json(m) for m in s["media_ids"]], "mentions": [], "tags": [],
            "emojis": [], "card": None, "poll": self._poll_json(s["poll_id"]) if s["poll_id"] else None,
            "edited_at": None,
        }

    def _media_json(self, media_id: str) -> dict[str, Any]:
        m = self.media[media_id]
        files = f"{self.files_base_url or self.base_url}/system/media_attachments/files/{media_id}"
        original = m.get("url") or f"{files}/original/{m['filename']}"
        return {"id": media_id, "type": m.get("type", "image"), "url": original,
                "preview_url": f"{files}/small/{m['filename']}", "remote_url": m.get("remote_url"), "text_url": None,
                "meta": {}, "description": m["description"], "blurhash": None}

    def _poll_json(self, poll_id: str) -> dict[str, Any]:
        p = self.polls[poll_id]
        return {"id": poll_id, "expires_at": _iso(p["expires_at"]),
                "expired": p["expires_at"] <= datetime.now(timezone.utc), "multiple": p["multiple"],
                "votes_count": sum(v for _, v in p["options"]), "voters_count": p["voters"], "voted": False,
                "own_votes": [], "options": [{"title": t, "votes_count": v} for t, v in p["options"]], "emojis": []}

    def _page(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Mastodon's id pagination: newest first; min_id returns the page just above it."""
        args = request.args
        limit = min(int(args.get("limit", 20)), 80)
        for name, keep in (("max_id", lambda i, b: i < b), ("since_id", lambda i, b: i > b),
                           ("min_id", lambda i, b: i > b)):
            if args.get(name):
                items = [x for x in items if keep(int(x["id"]), int(args[name]))]
        items = sorted(items, key=lambda x: int(x["id"]), reverse="min_id" not in args)[:limit]
        return sorted(items, key=lambda x: int(x["id"]), reverse=True)

    def _me(self) -> str:
        auth = request.headers.get("Authorization", "")
        account_id = self.tokens.get(auth.removeprefix("Bearer "))
        if account_id is None:
            abort(make_response(jsonify(error="The access token is invalid"), 401))
        return account_id

    # -- routes ------------------------------------------------------------------------------------

    def _routes(self) -> None:
        app = self.app

        @app.get("/api/v1/instance")
        @app.get("/api/v2/instance")
        def instance():
            return {"uri": "fake.test", "domain": "fake.test", "title": "Fake", "version": "4.3.0",
                    "api_versions": {"mastodon": 2}}

        @app.get("/api/v1/accounts/verify_credentials")
        def verify_credentials():
            with self.lock:
                return self.accounts[self._me()]

        @app.get("/system/media_attachments/files/<media_id>/<size>/<name>")
        def media_file(media_id: str, size: str, name: str):
            with self.lock:
                m = self.media.get(media_id)
            if m is None:
                return {"error": "Record not found"}, 404
            if m.get("serve") == "endless":
                return Response(_endless(m["bytes"]), mimetype=m["content_type"])
            if m.get("serve") == "trickle":
                return Response(_trickle(m["bytes"]), mimetype=m["content_type"])
            return Response(m["bytes"], mimetype=m["content_type"])

        @app.post("/api/v2/media")
        def media_upload():
            me = self._me()
            upload = request.files.get("file")
            if upload is None:
                return {"error": "Validation failed: File can't be blank"}, 422
            with self.lock:
                media_id = self._next_id()
                self.media[media_id] = {"bytes": upload.read(), "content_type": upload.mimetype,
                                        "filename": upload.filename, "description": request.form.get("description"),
                                        "account_id": me, "status_id": None}
                return self._media_json(media_id)

        @app.post("/api/v1/statuses")
        def create_status():
            me = self._me()
            body = request.get_json(silent=True)
            if body is None:
                form = request.form
                body = {k: form.get(k) for k in ("status", "in_reply_to_id", "visibility")}
                body["media_ids"] = form.getlist("media_ids[]")
            key = request.headers.get("Idempotency-Key")
            with self.lock:
                if key and (me, key) in self.idempotency:
                    return self._status_json(self.statuses[self.idempotency[(me, key)]])
                media_ids, poll = [str(m) for m in body.get("media_ids") or []], body.get("poll")
                if not (body.get("status") or media_ids):
                    return {"error": "Validation failed: Text can't be blank"}, 422
                if any(m not in self.media or self.media[m]["account_id"] != me or self.media[m]["status_id"]
                       for m in media_ids):
                    return {"error": "Validation failed: unknown or used media"}, 422
                if poll and (media_ids or not 2 <= len(poll.get("options", [])) <= 4):
                    return {"error": "Validation failed: Cannot attach files to a poll / 2 to 4 options"}, 422
                if body.get("in_reply_to_id") and str(body["in_reply_to_id"]) not in self.statuses:
                    return {"error": "Record not found"}, 404
                status = self.post(me, body.get("status") or "", body.get("in_reply_to_id") or None,
                                   body.get("visibility") or "public", media_ids, poll)
                for m in media_ids:
                    self.media[m]["status_id"] = status["id"]
                if key:
                    self.idempotency[(me, key)] = status["id"]
                return status

        def status_or_404(status_id: str) -> dict[str, Any]:
            if status_id not in self.statuses:
                abort(make_response(jsonify(error="Record not found"), 404))
            return self.statuses[status_id]

        @app.get("/api/v1/statuses/<status_id>")
        def get_status(status_id: str):
            self._me()
            with self.lock:
                return self._status_json(status_or_404(status_id))

        @app.get("/api/v1/statuses/<status_id>/context")
        def context(status_id: str):
            self._me()
            with self.lock:
                status_or_404(status_id)
                found, frontier = [], {status_id}
                while frontier:
                    children = [s for s in self.statuses.values() if s["in_reply_to_id"] in frontier]
                    found += children
                    frontier = {s["id"] for s in children}
                return {"ancestors": [], "descendants": [self._status_json(s) for s in
                                                         sorted(found, key=lambda s: int(s["id"]))]}

        @app.get("/api/v1/statuses/<status_id>/favourited_by")
        def favourited_by(status_id: str):
            self._me()
            with self.lock:
                status_or_404(status_id)
                return jsonify([self.accounts[a] for a in reversed(self.favourites.get(status_id, []))][:40])

        @app.get("/api/v1/polls/<poll_id>")
        def get_poll(poll_id: str):
            self._me()
            with self.lock:
                if poll_id not in self.polls:
                    return {"error": "Record not found"}, 404
                return self._poll_json(poll_id)

        @app.get("/api/v1/accounts/<account_id>/statuses")
        def account_statuses(account_id: str):
            self._me()
            with self.lock:
                mine = [self._status_json(s) for s in self.statuses.values() if s["account_id"] == account_id]
                return jsonify(self._page(mine))

        @app.get("/api/v1/notifications")
        def notifications():
            me = self._me()
            types, excluded = request.args.getlist("types[]"), request.args.getlist("exclude_types[]")
            with self.lock:
                mine = [{"id": n["id"], "type": n["type"], "created_at": _iso(n["created_at"]),
                         "account": self.accounts[n["account_id"]], "group_key": f"ungrouped-{n['id']}",
                         "status": self._status_json(self.statuses[n["status_id"]])}
                        for n in self.notifications if n["for"] == me and (not types or n["type"] in types)
                        and n["type"] not in excluded]
                return jsonify(self._page(mine))


def _endless(start: bytes):
    """A file that never ends: `start`, then zeros forever, sent as fast as the client reads."""
    yield start
    while True:
        yield bytes(64 * 1024)


def _trickle(start: bytes):
    """A file that never ends and never hurries: a few bytes at a time."""
    yield start[:16]
    while True:
        time.sleep(0.05)
        yield b"\0" * 8

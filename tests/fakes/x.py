"""A small stateful X API v2, for tweepy to talk to through `RewriteAdapter`.

tweepy's host is hard-coded, so tests mount `RewriteAdapter` on the connector's session: it sends
https://api.twitter.com/... and https://api.x.com/... to this fake and keeps the original URL in
X-Original-URL, against which the fake verifies every OAuth 1.0a HMAC-SHA1 signature with the known
consumer and token secrets (a wrong secret, a changed parameter or a bypassed adapter gets a 401).

X's quirks that matter to a client: links in `text` come back as t.co (the original only in
entities.urls[].expanded_url); an identical text gets 403 "duplicate content"; media and a poll
cannot be combined; timelines page with `pagination_token`, search with `next_token`; a missing tweet
is a 200 with `errors`. Other people act through Python methods (`tweet`, `like`, `vote`, and
`add_media` for the photos and videos of their tweets). Media come back through the
`attachments.media_keys` expansion with the requested `media.fields`; photos have a `url` at
`media_base_url` (by default the fake's own URL; "https://pbs.twimg.com" as on X, reached like the
API through `RewriteAdapter`), where the fake serves their bytes without asking for a signature.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from flask import Response, abort, jsonify, make_response, request
from oauthlib.oauth1.rfc5849 import signature, utils

from connectors.http import GuardedAdapter
from tests.fakes.server import FakeService

_URL = re.compile(r"https?://[^\s]+")
_INVALID = {"title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request"}


class RewriteAdapter(GuardedAdapter):
    """Send requests for X's hosts to the fake, keeping the signed URL in X-Original-URL. A
    GuardedAdapter (the only kind a GuardedSession sends through): the fake's host must be one of
    the session's hosts, and private addresses allowed."""

    def __init__(self, base_url: str):
        super().__init__()
        self.base_url = base_url

    def send(self, request: Any, **kwargs: Any) -> Any:
        request.headers["X-Original-URL"] = request.url
        parts = urlsplit(request.url)
        request.url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, **kwargs)

    @classmethod
    def mount_on(cls, session: Any, base_url: str) -> None:
        for host in ("https://api.twitter.com", "https://api.x.com"):
            session.mount(host, cls(base_url))


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _parse_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def _invalid(message: str) -> Any:
    return make_response(jsonify(errors=[{"message": message}], **_INVALID), 400)


class FakeX(FakeService):
    def __init__(self) -> None:
        super().__init__("fake-x")
        self._ids = itertools.count(1_850_000_000_000_000_001)
        self.consumers: dict[str, str] = {}
        self.tokens: dict[str, tuple[str, str]] = {}  # access token -> (secret, user id)
        self.users: dict[str, dict[str, str]] = {}
        self.tweets: dict[str, dict[str, Any]] = {}
        self.media: dict[str, dict[str, Any]] = {}  # id -> {bytes, content_type, filename, category, user_id}
        self.polls: dict[str, dict[str, Any]] = {}
        self.likes: dict[str, list[str]] = {}
        self.strip_invisible = False  # act like a server that drops zero-width characters
        self.media_base_url: str | None = None  # where photos are served; None: the fake's own URL
        self._routes()

    # -- what other people do -------------------------------------------------------------------

    def add_consumer(self, key: str, secret: str) -> None:
        self.consumers[key] = secret

    def add_user(self, username: str, user_id: str | None = None, access_token: str | None = None,
                 access_token_secret: str | None = None) -> dict[str, str]:
        with self.lock:
            user = {"id": user_id or str(next(self._ids)), "name": username.title(), "username": username}
            self.users[user["id"]] = user
            if access_token:
                self.tokens[access_token] = (access_token_secret or "", user["id"])
            return user

    def tweet(self, author_id: str, text: str, reply_to: str | None = None, created_at: datetime | None = None,
              media_ids: list[str] | None = None, poll: dict[str, Any] | None = None) -> dict[str, Any]:
        """Create a tweet; links become t.co in `text` with the original kept in entities."""
        if self.strip_invisible:
            text = re.sub("[\u200b-\u200d\u2060]", "", text)
        with self.lock:
            tweet_id = str(next(self._ids))
            urls, shown, last = [], "", 0
            for m in _URL.finditer(text):
                short = "https://t.co/" + hashlib.sha256(m.group(0).encode()).hexdigest()[:10]
                shown += text[last:m.start()]
                urls.append({"start": len(shown), "end": len(shown) + len(short), "url": short,
                             "expanded_url": m.group(0), "display_url": m.group(0).split("://", 1)[1][:24]})
                shown, last = shown + short, m.end()
            parent = self.tweets.get(reply_to or "")
            tweet = {"id": tweet_id, "author_id": author_id, "text": shown + text[last:], "source": text,
                     "entities": {"urls": urls},
                     "created_at": created_at or datetime.now(timezone.utc),
                     "conversation_id": parent["conversation_id"] if parent else tweet_id,
                     "in_reply_to_user_id": parent["author_id"] if parent else None,
                     "media_keys": [f"3_{m}" for m in media_ids or []], "poll_id": None}
            if poll:
                poll_id, minutes = str(next(self._ids)), int(poll["duration_minutes"])
                self.polls[poll_id] = {"id": poll_id, "duration_minutes": minutes, "voting_status": "open",
                                       "end_datetime": _iso(datetime.now(timezone.utc) + timedelta(minutes=minutes)),
                                       "options": [{"position": i + 1, "label": o, "votes": 0}
                                                   for i, o in enumerate(poll["options"])]}
                tweet["poll_id"] = poll_id
            self.tweets[tweet_id] = tweet
            return tweet

    def add_media(self, user_id: str, content: bytes = b"", content_type: str = "image/jpeg", kind: str = "photo",
                  alt_text: str | None = None) -> str:
        """A photo (or "video", "animated_gif") someone uploaded, for `tweet(media_ids=...)`."""
        with self.lock:
            media_id = str(next(self._ids))
            self.media[media_id] = {"bytes": content, "content_type": content_type, "filename": f"{media_id}.jpg",
                                    "user_id": user_id, "category": None, "type": kind, "alt_text": alt_text}
            return media_id

    def like(self, tweet_id: str, user_id: str) -> None:
        with self.lock:
            likers = self.likes.setdefault(tweet_id, [])
            if user_id not in likers:
                likers.append(user_id)

    def vote(self, tweet_id: str, label: str, votes: int = 1) -> None:
        with self.lock:
            poll = self.polls[self.tweets[tweet_id]["poll_id"]]
            next(o for o in poll["options"] if o["label"] == label)["votes"] += votes

    def close_poll(self, tweet_id: str) -> None:
        with self.lock:
            self.polls[self.tweets[tweet_id]["poll_id"]]["voting_status"] = "closed"

    def rate_limit_next(self, reset_epoch: int, path: str | None = None, **extra_headers: str) -> None:
        headers = {"x-rate-limit-limit": "300", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset_epoch)}
        self.fail_next(429, {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
                             "status": 429}, headers={**headers, **extra_headers}, path=path)

    # -- OAuth 1.0a and rendering -------------------------------------------------------------------

    def _authenticate(self) -> str:
        """Verify the HMAC-SHA1 signature over the original URL; return the user id of the token."""
        header = request.headers.get("Authorization", "")
        pairs = utils.parse_authorization_header(header) if header.startswith("OAuth ") else []
        params = {k: utils.unescape(v) for k, v in pairs}
        consumer_secret = self.consumers.get(params.get("oauth_consumer_key", ""))
        token_secret, user_id = self.tokens.get(params.get("oauth_token", ""), (None, None))
        if consumer_secret is None or user_id is None or params.get("oauth_signature_method") != "HMAC-SHA1":
            abort(make_response(jsonify(title="Unauthorized", type="about:blank", status=401,
                                        detail="Unauthorized"), 401))
        url = request.headers.get("X-Original-URL", request.url)
        form = list(request.form.items(multi=True)) if request.mimetype == "application/x-www-form-urlencoded" else None
        collected = signature.collect_parameters(uri_query=urlsplit(url).query, body=form,
                                                 headers={"Authorization": header}, exclude_oauth_signature=True)
        base = signature.signature_base_string(request.method, signature.base_string_uri(url),
                                               signature.normalize_parameters(collected))
        secrets = SimpleNamespace(client_secret=consumer_secret, resource_owner_secret=token_secret)
        if not signature.safe_string_equals(signature.sign_hmac_sha1_with_client(base, secrets),
                                            params.get("oauth_signature", "")):
            abort(make_response(jsonify(title="Unauthorized", type="about:blank", status=401,
                                        detail="Unauthorized"), 401))
        return user_id

    def _render(self, t: dict[str, Any]) -> dict[str, Any]:
        fields = set(filter(None, request.args.get("tweet.fields", "").split(",")))
        expansions = request.args.get("expansions", "")
        out = {"id": t["id"], "text": t["text"], "edit_history_tweet_ids": [t["id"]]}
        for name in fields & {"author_id", "conversation_id", "in_reply_to_user_id"}:
            if t[name] is not None:
                out[name] = t[name]
        if "created_at" in fields:
            out["created_at"] = _iso(t["created_at"])
        if "entities" in fields and t["entities"]["urls"]:
            out["entities"] = t["entities"]
        if "public_metrics" in fields:
            replies = sum(1 for o in self.tweets.values() if o["conversation_id"] == t["id"] and o is not t)
            out["public_metrics"] = {"retweet_count": 0, "reply_count": replies, "quote_count": 0,
                                     "like_count": len(self.likes.get(t["id"], [])), "bookmark_count": 0,
                                     "impression_count": 0}
        if ("attachments" in fields or "attachments." in expansions) and (t["media_keys"] or t["poll_id"]):
            out["attachments"] = {k: v for k, v in (("media_keys", t["media_keys"]),
                                                    ("poll_ids", [t["poll_id"]] if t["poll_id"] else [])) if v}
        return out

    def _includes(self, tweets: list[dict[str, Any]]) -> dict[str, Any]:
        expansions = set(request.args.get("expansions", "").split(","))
        poll_fields = set(request.args.get("poll.fields", "").split(","))
        includes: dict[str, Any] = {}
        if "author_id" in expansions:
            includes["users"] = [self.users[a] for a in dict.fromkeys(t["author_id"] for t in tweets)]
        if "attachments.media_keys" in expansions:
            includes["media"] = [self._media_json(key.removeprefix("3_")) for t in tweets for key in t["media_keys"]
                                 if key.removeprefix("3_") in self.media]
        if "attachments.poll_ids" in expansions:
            wanted = {"id", "options"} | poll_fields
            includes["polls"] = [{k: v for k, v in self.polls[t["poll_id"]].items() if k in wanted}
                                 for t in tweets if t["poll_id"]]
        return {k: v for k, v in includes.items() if v}

    def _media_json(self, media_id: str) -> dict[str, Any]:
        """A media object with the fields asked for in `media.fields` (a photo's `url` among them)."""
        m = self.media[media_id]
        fields = set(request.args.get("media.fields", "").split(","))
        kind = m.get("type", "photo")
        out = {"media_key": f"3_{media_id}", "type": kind}
        if "url" in fields and kind == "photo":
            out["url"] = f"{self.media_base_url or self.base_url}/media/{media_id}.jpg"
        if "alt_text" in fields and m.get("alt_text"):
            out["alt_text"] = m["alt_text"]
        return out

    def _listing(self, tweets: list[dict[str, Any]], token_param: str, low: int = 5) -> Any:
        """A timeline page: newest first, since_id/until_id/start_time filters, opaque page tokens."""
        args = request.args
        limit = int(args.get("max_results", 10))
        if not low <= limit <= 100:
            return _invalid(f"The `max_results` query parameter value [{limit}] is not between {low} and 100")
        if args.get("since_id"):
            tweets = [t for t in tweets if int(t["id"]) > int(args["since_id"])]
        if args.get("start_time"):
            tweets = [t for t in tweets if t["created_at"] >= _parse_time(args["start_time"])]
        if args.get(token_param):
            tweets = [t for t in tweets if int(t["id"]) < int(args[token_param])]
        tweets = sorted(tweets, key=lambda t: int(t["id"]), reverse=True)
        page = tweets[:limit]
        if not page:
            return {"meta": {"result_count": 0}}
        meta = {"result_count": len(page), "newest_id": page[0]["id"], "oldest_id": page[-1]["id"]}
        if len(tweets) > limit:
            meta["next_token"] = page[-1]["id"]
        body = {"data": [self._render(t) for t in page], "meta": meta}
        includes = self._includes(page)
        return {**body, "includes": includes} if includes else body

    # -- routes ------------------------------------------------------------------------------------

    def _routes(self) -> None:
        app = self.app

        @app.get("/media/<media_id>.jpg")
        def media_file(media_id: str):
            with self.lock:
                m = self.media.get(media_id)
            if m is None:
                return {"errors": [{"message": "Sorry, that page does not exist"}]}, 404
            return Response(m["bytes"], mimetype=m["content_type"])

        @app.post("/2/media/upload")
        def media_upload():
            me = self._authenticate()
            upload = request.files.get("media")
            if upload is None or not (upload.mimetype or "").startswith("image/"):
                return _invalid("media is required and must be an image")
            with self.lock:
                media_id = str(next(self._ids))
                self.media[media_id] = {"bytes": upload.read(), "content_type": upload.mimetype,
                                        "filename": upload.filename, "user_id": me,
                                        "category": request.form.get("media_category")}
            return {"data": {"id": media_id, "media_key": f"3_{media_id}", "size": len(self.media[media_id]["bytes"]),
                             "expires_after_secs": 86400}}

        @app.post("/2/tweets")
        def create_tweet():
            me = self._authenticate()
            body = request.get_json(silent=True) or {}
            text, poll = body.get("text") or "", body.get("poll")
            media_ids = (body.get("media") or {}).get("media_ids") or []
            reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
            with self.lock:
                if not text and not media_ids or len(text) > 280:
                    return _invalid("text must be 1 to 280 characters unless media is attached")
                if any(self.media.get(m, {}).get("user_id") != me for m in media_ids):
                    return _invalid("Your media IDs are invalid.")
                if poll and (media_ids or not 2 <= len(poll.get("options", [])) <= 4
                             or not 5 <= int(poll.get("duration_minutes", 0)) <= 10080):
                    return _invalid("A poll has 2 to 4 options, lasts 5 to 10080 minutes and has no media")
                if reply_to and reply_to not in self.tweets:
                    return {"title": "Forbidden", "type": "about:blank", "status": 403,
                            "detail": "You attempted to reply to a Tweet that is deleted or not visible to you."}, 403
                if any(t["author_id"] == me and t["source"] == text for t in self.tweets.values()):
                    return {"title": "Forbidden", "type": "about:blank", "status": 403,
                            "detail": "You are not allowed to create a Tweet with duplicate content."}, 403
                tweet = self.tweet(me, text, reply_to, media_ids=media_ids, poll=poll)
            return {"data": {"id": tweet["id"], "text": tweet["text"], "edit_history_tweet_ids": [tweet["id"]]}}, 201

        @app.get("/2/users/<user_id>/tweets")
        def user_tweets(user_id: str):
            self._authenticate()
            with self.lock:
                return self._listing([t for t in self.tweets.values() if t["author_id"] == user_id],
                                     "pagination_token")

        @app.get("/2/users/<user_id>/mentions")
        def mentions(user_id: str):
            self._authenticate()
            with self.lock:
                handle = f"@{self.users[user_id]['username']}".lower()
                return self._listing([t for t in self.tweets.values()
                                      if handle in t["text"].lower() and t["author_id"] != user_id], "pagination_token")

        @app.get("/2/tweets/search/recent")
        def search_recent():
            self._authenticate()
            match = re.fullmatch(r"conversation_id:(\d+)", request.args.get("query", ""))
            if not match:
                return _invalid("this fake understands only conversation_id:<id> queries")
            with self.lock:
                return self._listing([t for t in self.tweets.values() if t["conversation_id"] == match.group(1)],
                                     "next_token", low=10)

        @app.get("/2/tweets/<tweet_id>")
        def get_tweet(tweet_id: str):
            self._authenticate()
            with self.lock:
                if tweet_id not in self.tweets:
                    return {"errors": [{"value": tweet_id, "detail": f"Could not find tweet with id: [{tweet_id}].",
                                        "title": "Not Found Error", "resource_type": "tweet", "parameter": "id",
                                        "resource_id": tweet_id,
                                        "type": "https://api.twitter.com/2/problems/resource-not-found"}]}
                tweet = self.tweets[tweet_id]
                includes = self._includes([tweet])
                return {"data": self._render(tweet), **({"includes": includes} if includes else {})}

        @app.get("/2/tweets/<tweet_id>/liking_users")
        def liking_users(tweet_id: str):
            self._authenticate()
            with self.lock:
                users = [self.users[u] for u in reversed(self.likes.get(tweet_id, []))][:100]
            return {"data": users, "meta": {"result_count": len(users)}} if users else {"meta": {"result_count": 0}}

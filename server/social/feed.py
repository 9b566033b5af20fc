"""The built-in feed: activity streams, comments and likes, follows, and who may read which stream.

Every instance, definition and user has a stream ("instance:<id>", "definition:<key>",
"user:<name>", and each channel "channel:<name>"); an item lives in exactly one stream.

Fan-out on read. A user's feed is computed when it is read: the newest items of the streams they
follow plus their own "user:<name>" stream, one query that walks the (stream, id) index of each
stream backwards and stops at `limit`. The alternative, fan-out on write (a copy of every item per
follower), would turn a status post to a definition followed by 10,000 people into 10,000 INSERTs
inside the process step's transaction, holding SQLite's single writer lock (or the instance's row
lock on PostgreSQL) for seconds, and every follow or unfollow would have to backfill or purge
copies. Posting here costs one INSERT whatever the audience; reading costs the follows lookup and
one bounded index query. bench/fanout.py measures both.

Reading rules: instance streams follow the instance's visibility (`server.access.instance_visible`:
admins and whoever took part in it: its starter, assignees, candidates and people in its history);
definition and channel streams are open to every signed-in user (an unknown definition is just an
empty stream, so one may follow a process before it is deployed; following a channel or user that
does not exist is a 404, as for an instance); a user stream is read by that user and admins.
Items marked `public` on definition and channel streams are also world-readable through the
stream's Atom feed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from sqlalchemy import case, delete, func, or_, select
from sqlalchemy.orm import Session

from ..access import Principal, instance_visible
from ..models import FeedItem, FeedReaction, Follow, ProcessInstance
from ..services import identity
from ..services.errors import BadRequest, NotFound
from . import channels

STREAM = re.compile(r"^(instance|definition|user|channel):(\S{1,240})$")
OPEN_KINDS = ("definition", "channel")  # any signed-in user reads them; their public items, anyone
POSTED = "feed_posted"  # session.info flag: this transaction wrote feed items (see feed_events)
MAX_TEXT = 20_000
MAX_ITEM_ID = 2**31 - 1  # feed_items.id is a 32-bit integer: larger values are clamped, not sent


def parse_stream(stream: str) -> tuple[str, str]:
    match = STREAM.match(stream or "")
    if not match:
        raise BadRequest(f"{stream!r} is not a stream: use instance:<id>, definition:<key>, user:<name> "
                         "or channel:<name>")
    return match.group(1), match.group(2)


def is_open(stream: str) -> bool:
    """Definition and channel streams: readable by every signed-in user, public items by anyone."""
    return parse_stream(stream)[0] in OPEN_KINDS


def readable_streams(session: Session, principal: Principal, streams: Iterable[str]) -> set[str]:
    """The subset of `streams` the caller may read; one query covers all the instance streams."""
    readable, instances = set(), {}
    for stream in streams:
        match = STREAM.match(stream)
        if not match:
            continue
        kind, name = match.groups()
        if kind in OPEN_KINDS or (kind == "user" and (principal.is_admin or name == principal.name)):
            readable.add(stream)
        elif kind == "instance":
            instances[name] = stream
    if instances:
        visible = session.scalars(select(ProcessInstance.id).where(
            ProcessInstance.id.in_(list(instances)), instance_visible(principal)))
        readable.update(instances[i] for i in visible)
    return readable


def check_readable(session: Session, principal: Principal, stream: str) -> str:
    """The stream, or 404 when it is unknown or not for this caller (the two are not told apart)."""
    parse_stream(stream)
    if stream not in readable_streams(session, principal, [stream]):
        raise NotFound(f"no stream {stream!r}")
    return stream


# -- posting -----------------------------------------------------------------------------------

def post_item(session: Session, stream: str, kind: str, text: str, actor: str | None = None,
              title: str | None = None, media_ids: Sequence[str] = (), link: str | None = None,
              instance_id: str | None = None, review_id: str | None = None, public: bool = False) -> FeedItem:
    """Write one item to one stream (one INSERT, whoever follows it); live clients hear of it after
    the transaction commits (feed_events), never before, so nobody sees an item that rolls back."""
    stream_kind, name = parse_stream(stream)
    if public and stream_kind not in OPEN_KINDS:
        raise BadRequest("only definition and channel streams have public items")
    if not kind or len(kind) > 32:
        raise BadRequest("an item kind has 1-32 characters")
    if stream_kind == "instance" and instance_id is None:
        instance_id = name  # every row that belongs to an instance carries its id
    item = FeedItem(stream=stream, kind=kind, text=(text or "")[:MAX_TEXT], actor=actor,
                    title=title[:255] if title else None, media_ids=list(media_ids), link=link,
                    instance_id=instance_id, review_id=review_id, public=public)
    session.add(item)
    session.flush()  # the id, for links and for the caller's records
    session.info[POSTED] = True
    return item


def post_to_instance_streams(session: Session, instance: ProcessInstance, kind: str, text: str,
                             public: bool = False, **fields) -> list[FeedItem]:
    """Post to the instance's stream and its definition's stream: [instance item, definition item].

    People who follow one case and people who follow the whole process both see it; a reader who
    follows both sees it once (my_feed drops the definition copy). `public` applies to the
    definition copy only: instance streams are never world-readable.
    """
    fields.setdefault("instance_id", instance.id)
    return [
        post_item(session, f"instance:{instance.id}", kind, text, **fields),
        post_item(session, f"definition:{instance.definition_key}", kind, text, public=public, **fields),
    ]


# -- reading -----------------------------------------------------------------------------------

def followed_streams(session: Session, principal: Principal) -> list[str]:
    """The streams in the caller's feed: those they follow and may still read, and their own."""
    follows = session.scalars(select(Follow.stream).where(Follow.username == principal.name)).all()
    own = f"user:{principal.name}"
    return sorted(readable_streams(session, principal, follows) | {own})


def my_feed(session: Session, principal: Principal, before: int | None = None, limit: int = 50) -> list[FeedItem]:
    """Newest first; the next page is `before=<id of the last item>`."""
    return _page(session, feed_query(followed_streams(session, principal)), before, limit)


def items_after(session: Session, streams: Sequence[str], after: int, limit: int) -> list[FeedItem]:
    """Oldest first: what a live client missed since the item `after` (its Last-Event-ID)."""
    query = feed_query(streams).where(FeedItem.id > min(after, MAX_ITEM_ID)).order_by(FeedItem.id).limit(limit)
    return list(session.scalars(query))


def feed_query(streams: Sequence[str]):
    """Items of these streams, without the definition copy of an item whose instance stream is in them."""
    query = select(FeedItem).where(FeedItem.stream.in_(streams))
    instances = instance_ids(streams)
    if instances:
        query = query.where(or_(~FeedItem.stream.startswith("definition:"), FeedItem.instance_id.is_(None),
                                FeedItem.instance_id.not_in(instances)))
    return query


def instance_ids(streams: Iterable[str]) -> list[str]:
    return [s.split(":", 1)[1] for s in streams if s.startswith("instance:")]


def stream_items(session: Session, principal: Principal | None, stream: str, before: int | None = None,
                 limit: int = 50) -> list[FeedItem]:
    """One stream, newest first. Without a principal (an anonymous Atom reader): public items only."""
    if principal is None:
        if not is_open(stream):
            raise NotFound(f"no public stream {stream!r}")
        query = select(FeedItem).where(FeedItem.stream == stream, FeedItem.public.is_(True))
    else:
        query = select(FeedItem).where(FeedItem.stream == check_readable(session, principal, stream))
    return _page(session, query, before, limit)


def _page(session: Session, query, before: int | None, limit: int) -> list[FeedItem]:
    if before is not None:
        query = query.where(FeedItem.id < min(before, MAX_ITEM_ID))
    return list(session.scalars(query.order_by(FeedItem.id.desc()).limit(limit)))


def get_item(session: Session, principal: Principal, item_id: int | str, lock: bool = False) -> FeedItem:
    """An item the caller may read; 404 otherwise. `lock` serializes reactions on PostgreSQL."""
    raw = item_id
    try:
        item_id = int(item_id)
    except (TypeError, ValueError):
        item_id = -1
    if not 0 < item_id <= MAX_ITEM_ID:
        raise NotFound(f"no feed item {raw!r}")
    query = select(FeedItem).where(FeedItem.id == item_id)
    item = session.scalars(query.with_for_update() if lock else query).first()
    if item is None or not readable_streams(session, principal, [item.stream]):
        raise NotFound(f"no feed item {item_id!r}")
    return item


# -- reactions and follows ---------------------------------------------------------------------

def comment(session: Session, principal: Principal, item_id: int | str, text: str) -> FeedReaction:
    item = get_item(session, principal, item_id)
    text = (text or "").strip()
    if not text:
        raise BadRequest("a comment needs some text")
    reaction = FeedReaction(item_id=item.id, kind="comment", author=principal.name, text=text[:MAX_TEXT])
    session.add(reaction)
    session.flush()
    return reaction


def like(session: Session, principal: Principal, item_id: int | str) -> FeedItem:
    """One like per user: liking again changes nothing. The item row is locked first (FOR UPDATE on
    PostgreSQL; SQLite has one writer anyway), so two parallel likes cannot both insert."""
    item = get_item(session, principal, item_id, lock=True)
    exists = session.scalars(select(FeedReaction.id).where(
        FeedReaction.item_id == item.id, FeedReaction.kind == "like", FeedReaction.author == principal.name)).first()
    if exists is None:
        session.add(FeedReaction(item_id=item.id, kind="like", author=principal.name))
        session.flush()
    return item


def unlike(session: Session, principal: Principal, item_id: int | str) -> FeedItem:
    item = get_item(session, principal, item_id)
    session.execute(delete(FeedReaction).where(
        FeedReaction.item_id == item.id, FeedReaction.kind == "like", FeedReaction.author == principal.name))
    return item


def follow(session: Session, principal: Principal, stream: str) -> Follow:
    """Follow a stream one may read (404 otherwise, and for a channel or user that does not exist);
    following twice is the same as once. Readability is checked first, so the 404 for someone
    else's user stream does not tell whether that user exists."""
    check_readable(session, principal, stream)
    kind, name = parse_stream(stream)
    if kind == "channel" and not channels.exists(session, name):
        raise NotFound(f"no channel {name!r}")
    if kind == "user" and identity.find_user(session, name) is None:
        raise NotFound(f"no user {name!r}")
    row = session.get(Follow, (principal.name, stream))
    if row is None:
        row = Follow(username=principal.name, stream=stream)
        session.add(row)
        session.flush()
    return row


def unfollow(session: Session, principal: Principal, stream: str) -> None:
    parse_stream(stream)
    session.execute(delete(Follow).where(Follow.username == principal.name, Follow.stream == stream))


def follows(session: Session, principal: Principal) -> list[Follow]:
    return list(session.scalars(select(Follow).where(Follow.username == principal.name).order_by(Follow.stream)))


# -- presenting --------------------------------------------------------------------------------

def item_dict(item: FeedItem) -> dict:
    return {
        "id": item.id, "stream": item.stream, "kind": item.kind, "actor": item.actor, "title": item.title,
        "text": item.text, "media_ids": list(item.media_ids or []), "link": item.link,
        "instance_id": item.instance_id, "review_id": item.review_id, "public": bool(item.public),
        "created_at": item.created_at,
    }


def reaction_dict(reaction: FeedReaction) -> dict:
    return {"id": reaction.id, "item_id": reaction.item_id, "kind": reaction.kind, "author": reaction.author,
            "text": reaction.text, "created_at": reaction.created_at}


def with_reactions(session: Session, principal: Principal | None, items: Sequence[FeedItem]) -> list[dict]:
    """Items with their like count, whether the caller liked each, and their comments: two queries a page."""
    ids = [item.id for item in items]
    likes, mine, comments = {}, set(), {}
    if ids:
        me = principal.name if principal else ""
        counted = session.execute(
            select(FeedReaction.item_id, func.count(),
                   func.max(case((FeedReaction.author == me, 1), else_=0)))
            .where(FeedReaction.item_id.in_(ids), FeedReaction.kind == "like").group_by(FeedReaction.item_id))
        for item_id, count, liked in counted:
            likes[item_id] = count
            if liked:
                mine.add(item_id)
        rows = session.scalars(select(FeedReaction).where(
            FeedReaction.item_id.in_(ids), FeedReaction.kind == "comment").order_by(FeedReaction.id))
        for row in rows:
            comments.setdefault(row.item_id, []).append(reaction_dict(row))
    return [item_dict(item) | {"likes": likes.get(item.id, 0), "liked": item.id in mine,
                               "comments": comments.get(item.id, [])} for item in items]

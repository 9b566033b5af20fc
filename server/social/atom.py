"""Each activity stream as an Atom feed, so status reaches anyone with a feed reader.

The XML is written by feedgen (a maintained library that escapes, orders and validates the Atom
elements) rather than by hand. Entry ids are built from the server's public URL and the item id,
so they stay the same whichever address a reader used; the self link is the address it used.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timezone

from feedgen.ext.base import BaseEntryExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from ..models import FeedItem

ATOM_TYPE = "application/atom+xml"
TITLE_WORDS = 80  # characters of the text used as the title of an item that has none
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
STREAM_NAMES = {"instance": "Process instance", "definition": "Process", "user": "User", "channel": "Channel"}


class _MoreLinks(BaseEntryExtension):
    """Links beside an entry's alternate one (images as enclosures). feedgen 1.0 writes every entry
    link without its rel and type (lkiesow/python-feedgen#135), which would turn an enclosure into a
    second "alternate" link; these are added to the entry element here, with their attributes."""

    def __init__(self):
        self.links: list[dict[str, str]] = []

    def extend_atom(self, entry):
        for attributes in self.links:
            etree.SubElement(entry, "link", **attributes)
        return entry


def item_url(public_url: str, item_id: int) -> str:
    return f"{public_url}/feed/items/{item_id}"


def entry_title(item: FeedItem) -> str:
    if item.title:
        return item.title
    first_line = (item.text or "").strip().splitlines()[0] if (item.text or "").strip() else ""
    if not first_line:
        return item.kind
    return first_line if len(first_line) <= TITLE_WORDS else first_line[:TITLE_WORDS - 1].rstrip() + "…"


def xml_text(text: str) -> str:
    """`text` with the characters XML 1.0 cannot carry (control characters, U+FFFE, U+FFFF, lone
    surrogates) replaced by U+FFFD: a feed item's text comes from process data, and one such
    character made every feed that showed the item fail."""
    return _NOT_XML.sub("\ufffd", text)


def atom_document(stream: str, items: Sequence[FeedItem], public_url: str, self_url: str) -> bytes:
    """An Atom 1.0 document of `items` (newest first)."""
    kind, _, name = xml_text(stream).partition(":")
    fg = FeedGenerator()
    fg.id(f"{public_url}/feeds/{stream}.atom")
    fg.title(f"{STREAM_NAMES.get(kind, kind.title())} {name} — Process Café")
    fg.subtitle(f"Activity of {stream}")
    fg.author({"name": "Process Café"})
    fg.link(href=self_url, rel="self", type=ATOM_TYPE)
    fg.link(href=public_url + "/", rel="alternate")
    fg.generator("Process Café")
    fg.updated(items[0].created_at if items else datetime(2000, 1, 1, tzinfo=timezone.utc))
    for item in items:
        fe = fg.add_entry(order="append")
        fe.id(item_url(public_url, item.id))
        fe.title(xml_text(entry_title(item)))
        fe.content(xml_text(item.text or ""), type="text")
        fe.published(item.created_at)
        fe.updated(item.created_at)
        fe.author({"name": xml_text(item.actor or "Process Café")})
        fe.category({"term": item.kind})
        fe.link(href=xml_text(item.link or item_url(public_url, item.id)))  # no rel: "alternate" (RFC 4287 4.2.7.2)
        fe.register_extension("more_links", _MoreLinks, atom=True, rss=False)
        fe.more_links.links = [{"rel": "enclosure", "href": f"{public_url}/api/v1/media/{media_id}"}
                               for media_id in item.media_ids or []]
    return fg.atom_str(pretty=True)

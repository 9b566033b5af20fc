"""Parsing untrusted XML: no DTDs, no entity expansion, no network, bounded size.

Diagrams come from people over HTTP. A DOCTYPE is the door for external entities (reading local
files, fetching URLs) and for entity expansion bombs, and BPMN/DMN never need one, so it is refused
before libxml2 gets to act on it; the parser is configured safely as well, as a second line.
"""

from __future__ import annotations

import re

from lxml import etree

from .errors import DiagramProblem, DiagramRejected

MAX_DIAGRAM_BYTES = 5 * 1024 * 1024

_PROLOG_SCAN = 64 * 1024  # a DOCTYPE further in is still caught, after parsing, with a vaguer message
_FIRST_ELEMENT = re.compile(r"<[^?!/\s]")
_UTF16 = ((b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"), (b"<\x00", "utf-16-le"), (b"\x00<", "utf-16-be"))
_NOT_XML = "the file is not an XML document (it contains binary data)"


def safe_parser() -> etree.XMLParser:
    """An lxml parser that loads no DTD, expands no entity and touches no network."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def _reject(reason: str, filename: str, line: int | None = None) -> DiagramRejected:
    return DiagramRejected([DiagramProblem(reason, file=filename, line=line)])


def _prolog(data: bytes) -> str:
    """The text before the root element, decoded well enough to look for a DOCTYPE in it.

    UTF-16 is decoded as such; anything else is read as Latin-1, which keeps the ASCII markup of
    UTF-8 and of the other ASCII-compatible encodings intact.
    """
    head = data[:_PROLOG_SCAN]
    codec = next((codec for prefix, codec in _UTF16 if head.startswith(prefix)), "latin-1")
    text = head.decode(codec, errors="replace")
    first = _FIRST_ELEMENT.search(text)
    return text[: first.start()] if first else text


def _doctype_line(data: bytes) -> int | None:
    """Line of a DOCTYPE declaration in the prolog, found before libxml2 gets to process it."""
    prolog = _prolog(data)
    index = prolog.find("<!DOCTYPE")
    return prolog.count("\n", 0, index) + 1 if index >= 0 else None


def _any_doctype_line(data: bytes) -> int | None:
    """For the after-parse check: the line of the first DOCTYPE anywhere, when it can be found."""
    index = data.find(b"<!DOCTYPE")
    return data.count(b"\n", 0, index) + 1 if index >= 0 else None


def _looks_binary(data: bytes) -> bool:
    """NUL bytes in a file that does not start like UTF-16 XML: an image, an archive, random junk."""
    head = data[:4096]
    return b"\x00" in head and not head.startswith(tuple(prefix for prefix, _ in _UTF16))


def _syntax_problem(err: etree.LxmlError, data: bytes, filename: str) -> DiagramRejected:
    if _looks_binary(data):
        return _reject(_NOT_XML, filename)
    position = getattr(err, "position", None)
    line = position[0] if position and position[0] else getattr(err, "lineno", None)
    message = getattr(err, "msg", None) or str(err) or type(err).__name__
    return _reject(f"malformed XML: {message}", filename, line if isinstance(line, int) and line > 0 else None)


def parse_xml(data: bytes, filename: str, max_bytes: int = MAX_DIAGRAM_BYTES) -> etree._Element:
    """Parse one uploaded XML document or raise DiagramRejected naming the file and line.

    A DOCTYPE is refused outright: BPMN and DMN never need one, and it is how entity
    expansion and external entity attacks get in.
    """
    if len(data) > max_bytes:
        raise _reject(f"the file is {len(data):,} bytes; the limit for one diagram is {max_bytes:,} bytes",
                      filename)
    if not data.strip():
        raise _reject("the file is empty", filename)
    doctype = _doctype_line(data)
    if doctype is not None:
        raise _reject("a DOCTYPE declaration is not allowed in a diagram (DTDs and entities are refused)",
                      filename, doctype)
    try:
        root = etree.fromstring(data, parser=safe_parser())
    except (etree.LxmlError, ValueError) as err:
        raise _syntax_problem(err, data, filename) from err
    if root.getroottree().docinfo.doctype:
        raise _reject("a DOCTYPE declaration is not allowed in a diagram", filename, _any_doctype_line(data))
    for entity in root.iter(etree.Entity):
        raise _reject("entity references are not allowed", filename, entity.sourceline)
    return root

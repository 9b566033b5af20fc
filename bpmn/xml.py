"""Parsing untrusted XML: no DTDs, no entity expansion, no network, bounded size."""

from __future__ import annotations

from lxml import etree

from .errors import DiagramProblem, DiagramRejected

MAX_DIAGRAM_BYTES = 5 * 1024 * 1024


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def parse_xml(data: bytes, filename: str, max_bytes: int = MAX_DIAGRAM_BYTES) -> etree._Element:
    """Parse one uploaded XML document or raise DiagramRejected naming the file and line.

    A DOCTYPE is refused outright: BPMN and DMN never need one, and it is how entity
    expansion and external entity attacks get in.
    """
    if len(data) > max_bytes:
        raise DiagramRejected(
            [DiagramProblem(f"file is {len(data)} bytes; the limit is {max_bytes} bytes", file=filename)]
        )
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as err:
        line = err.position[0] if err.position else None
        raise DiagramRejected([DiagramProblem(f"malformed XML: {err.msg}", file=filename, line=line)]) from err
    tree = root.getroottree()
    if tree.docinfo.doctype:
        raise DiagramRejected(
            [DiagramProblem("a DOCTYPE declaration is not allowed in a diagram", file=filename, line=1)]
        )
    for entity in root.iter(etree.Entity):
        raise DiagramRejected(
            [DiagramProblem("entity references are not allowed", file=filename, line=entity.sourceline)]
        )
    return root

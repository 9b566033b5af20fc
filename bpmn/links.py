"""Link events: a throw link event continues at the catch link event of the same name.

SpiffWorkflow 3.2 does not know link events: it reads them as plain intermediate events, so the
throw side ended its path and the catch side was never reached, silently. Modelers use them as
"off-page connectors" in large diagrams. Before parsing, each pair becomes what it means: a
sequence flow from the throw event to the catch event (in the parsed copy; the stored XML is
unchanged). A throw link without a catch link of its name, in the same (sub-)process, is refused.
"""

from __future__ import annotations

from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag

from .errors import DiagramProblem

_LINK = full_tag("linkEventDefinition")


def _link_name(event: etree._Element) -> str | None:
    definition = event.find(_LINK)
    if definition is None:
        return None
    return definition.get("name") or event.get("name")


def resolve_links(root: etree._Element, filename: str) -> list[DiagramProblem]:
    """Replace link event pairs of every flow container of `root` by sequence flows."""
    problems = []
    containers = {event.getparent() for event in root.iter(full_tag("intermediateThrowEvent"))
                  if event.find(_LINK) is not None}
    for container in containers:
        catches = {_link_name(e): e for e in container.iterfind(full_tag("intermediateCatchEvent"))
                   if e.find(_LINK) is not None}
        for throw in list(container.iterfind(full_tag("intermediateThrowEvent"))):
            name = _link_name(throw)
            if throw.find(_LINK) is None:
                continue
            catch = catches.get(name)
            if catch is None:
                problems.append(DiagramProblem(f"the link event {name!r} has no catching link event of that name "
                                               "in the same process or sub-process", file=filename,
                                               element_id=throw.get("id"), line=throw.sourceline))
                continue
            throw.remove(throw.find(_LINK))
            etree.SubElement(container, full_tag("sequenceFlow"), id=f"{throw.get('id')}__link",
                             sourceRef=throw.get("id"), targetRef=catch.get("id"))
    for catch in root.iter(full_tag("intermediateCatchEvent")):
        if catch.find(_LINK) is not None:
            catch.remove(catch.find(_LINK))
    return problems

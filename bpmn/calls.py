"""Call activities across files and deployments.

A call activity names a process id. SpiffWorkflow resolves it only among the files handed to the
same parser, so a deployment that calls a process deployed earlier (or drawn in a file of another
dialect in the same upload) needs that XML parsed along. `called_elsewhere` collects it,
transitively: the called process may call further processes.

The called spec is copied into the caller's definition when the caller is deployed (like Camunda's
`calledElementBinding="deployment"`), so a running caller never changes under its instances;
`content_hash` folds the called files in, so deploying the caller again after the called process
changed makes a new caller version that calls the new one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from lxml import etree

from .xml import parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

ResolveCalled = Callable[[str], "tuple[str, bytes] | None"]


def process_ids(root: etree._Element) -> set[str]:
    return {p.get("id") for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("id")}


def called_ids(roots: Iterable[etree._Element]) -> set[str]:
    """Process ids named by call activities (expressions such as `${key}` cannot be resolved)."""
    return {
        ref for root in roots for call in root.iter(f"{{{BPMN_NS}}}callActivity")
        if (ref := (call.get("calledElement") or "").strip()) and "{" not in ref
    }


def called_elsewhere(group: dict[str, etree._Element], upload: dict[str, etree._Element],
                     resolve: ResolveCalled | None, max_bytes: int) -> dict[str, etree._Element]:
    """Files the call activities of `group` need that `group` lacks: first other files of the same
    upload, then (through `resolve`) the latest deployed XML of the called process id.

    Ids nobody provides are left out: SpiffWorkflow then reports the missing process, naming the
    call activity.
    """
    known = set().union(*(process_ids(r) for r in group.values()))
    extra: dict[str, etree._Element] = {}
    pending = called_ids(group.values()) - known
    while pending:
        pid = pending.pop()
        found = next(((n, r) for n, r in upload.items() if n not in group and n not in extra
                      and pid in process_ids(r)), None)
        if found is None and resolve is not None:
            resolved = resolve(pid)
            if resolved is not None:
                filename, content = resolved
                name = _unique(f"deployed:{filename}", {**group, **extra})
                found = name, parse_xml(content, name, max_bytes=max_bytes)
        if found is None:
            continue
        name, root = found
        extra[name] = root
        known |= process_ids(root)
        pending = (pending | called_ids([root])) - known
    return extra


def _unique(name: str, taken: dict) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}#{n}"
    return candidate


def content_hash(root: etree._Element, called: dict[str, etree._Element], subprocess_specs: dict) -> str:
    """The hash of a process's file plus the called files its spec was built from."""
    digest = hashlib.sha256(etree.tostring(root))
    for name in sorted(called):
        if process_ids(called[name]) & set(subprocess_specs):
            digest.update(etree.tostring(called[name]))
    return digest.hexdigest()


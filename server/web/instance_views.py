"""Instances: a filtered list, and one instance's page with its diagram (drawn in the browser by
bpmn-js), current and completed steps, waits, variables, history and incidents."""

from __future__ import annotations

import json
import os
from pathlib import Path

from flask import Flask, Response, abort, flash, redirect, render_template, request, send_from_directory, url_for

from bpmn.json_values import mend_text, unstorable_character

from .. import variables_rules
from ..api.limits import UnsafeJSON, load_json
from ..context import cafe
from ..models.instances import ACTIVE_STATUSES, COMPLETED, ERROR, RUNNING, TERMINATED, WAITING
from ..services import catalog, instances, progress
from ..services.errors import ServiceError
from ..social import feed, images
from .blueprint import bp
from .form_text import keeps_odd_text, odd_text
from .guards import MAX_PAGE, admins_only, signed_in, user, whole_number

PAGE_SIZE = 25
STATUSES = (RUNNING, WAITING, ERROR, COMPLETED, TERMINATED)
# bpmn-js comes from npm (package.json at the repository root; `scripts/dev setup` installs it)
NODE_MODULES = Path(os.environ.get("PROCESSCAFE_NODE_MODULES", Path(__file__).resolve().parents[2] / "node_modules"))
BPMN_JS_DIST = NODE_MODULES / "bpmn-js" / "dist"


def register_vendor_assets(app: Flask) -> None:
    """Serve bpmn-js's built files (scripts, CSS, fonts) from node_modules, read-only."""

    def bpmn_js(filename: str):
        if not BPMN_JS_DIST.is_dir():
            abort(404, "bpmn-js is not installed: run scripts/dev setup (needs npm)")
        return send_from_directory(BPMN_JS_DIST, filename, max_age=3600)

    app.add_url_rule("/vendor/bpmn-js/<path:filename>", "vendor_bpmn_js", bpmn_js)


@bp.get("/instances")
@signed_in
def instances_list():
    args = request.args
    page = whole_number(args.get("page"), MAX_PAGE) or 1
    status = args.get("status") if args.get("status") in STATUSES else None
    flt = instances.InstanceFilter(
        definition_key=(args.get("key") or "").strip()[:120] or None,
        business_key=(args.get("business_key") or "").strip()[:255] or None,
        status=status, started_by=user().name if args.get("mine") else None,
        limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    with cafe().db.read() as session:
        rows, total = instances.search(session, user(), flt)
        processes = catalog.definition_keys(session)
    return render_template("web/instances/list.html", rows=rows, total=total, page=page, page_size=PAGE_SIZE,
                           flt=flt, statuses=STATUSES, processes=processes, mine=bool(args.get("mine")))


@bp.get("/instances/<instance_id>")
@signed_in
def instance_page(instance_id: str):
    return _render_instance(instance_id)


def _render_instance(instance_id: str, status: int = 200, retry_error: str | None = None, retry_variables: str = ""):
    """The instance page; a refused retry comes back on it with its reason and the variables as typed."""
    with cafe().db.read() as session:
        instance = instances.get_visible(session, user(), instance_id)
        definition = cafe().store.specs.info(session, instance.definition_id)
        state = progress.of_instance(session, instance_id)
        incidents = instances.incidents(session, instance_id, open_only=True)
        context = {
            "instance": instance, "definition": definition, "progress": state,
            "tasks": instances.open_tasks(session, instance_id),
            "incidents": incidents,
            "history": progress.recent_history(session, instance_id),
            "markers": state.markers(), "active": instance.status in ACTIVE_STATUSES,
            "media": images.instance_media(session, instance_id),
            "following": {f.stream for f in feed.follows(session, user())},
            "retry_form": user().is_admin and instance.status == ERROR and bool(incidents),
            "retry_error": retry_error, "retry_variables": retry_variables,
        }
    return render_template("web/instances/instance.html", **context), status


@bp.get("/instances/<instance_id>/diagram.xml")
@signed_in
def instance_diagram(instance_id: str):
    """The BPMN XML of the instance's version, for bpmn-js on the instance page."""
    with cafe().db.read() as session:
        instance = instances.get_visible(session, user(), instance_id)
        xml = progress.diagram_xml(session, instance.definition_id)
    return Response(xml, mimetype="application/xml", headers={"Cache-Control": "private, max-age=300"})


class _Refused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def _unstorable(text: str, character: str | None = None, shown: bool = False) -> _Refused | None:
    """The refusal of typed variables that hold a character no text column can store, naming the
    variable that holds it; None when `character` is not given and none is found."""
    try:
        document = json.loads(text, strict=False)  # strict=False: a raw U+0000 inside a string
    except (ValueError, RecursionError):
        document = None
    pairs = document.items() if isinstance(document, dict) else ()
    holder, found = next(((name, c) for name, value in pairs if (c := unstorable_character([name, value]))),
                         (None, None))
    character = found or character
    if character is None:
        return None
    where = f"the variable “{mend_text(holder)}”" if holder is not None else "the variables box"
    marker = " (shown as � below)" if shown else ""
    return _Refused(422, f"The variables cannot be stored: {where} holds the character {character}{marker}, "
                         "which text fields cannot store. Remove it and retry.")


def _retry_variables(typed: str) -> dict:
    """The variables typed into the retry form, by the rules the API's retry follows too
    (server/variables_rules.py); `_Refused` says why not."""
    odd = odd_text().get("variables")
    if odd is not None:  # a raw U+0000: the input check let it through as U+FFFD (web/form_text.py)
        raise _unstorable(odd.sent, odd.character, shown=True)
    raw = typed.strip()
    try:
        variables = load_json(raw) if raw else {}
        if not isinstance(variables, dict):
            raise ValueError("not an object")
    except UnsafeJSON as err:  # an escape such as "\\u0000" is named like a raw U+0000
        raise _unstorable(raw) or _Refused(422, f"The variables cannot be stored: the JSON {err}.") from None
    except ValueError:
        raise _Refused(400, 'The variables must be a JSON object, e.g. {"amount": 10}.') from None
    found = variables_rules.problem(variables)
    if found is not None:
        status, reason = found
        raise _Refused(status, f"The variables cannot be stored: {reason}.")
    return variables


@bp.post("/instances/<instance_id>/retry")
@keeps_odd_text
@admins_only
def retry_instance(instance_id: str):
    """Run the failed step again, optionally after setting variables given as a JSON object. A
    refused retry shows the page again with the reason and the variables as they were typed
    (nothing to type twice); a retry that ran redirects, also when it failed again."""
    typed = request.form.get("variables") or ""

    def refused(status: int, reason: str):
        return _render_instance(instance_id, status, retry_error=reason, retry_variables=typed)

    try:
        variables = _retry_variables(typed)
    except _Refused as err:
        return refused(err.status, err.reason)
    try:
        with cafe().unit_of_work() as session:
            instance, _ = instances.retry(session, cafe().store, instance_id, user().name, variables)
            status = instance.status
            failures = [i.message for i in instances.incidents(session, instance_id, open_only=True)]
    except ServiceError as err:  # no incident to retry any more, changed meanwhile, ...
        return refused(err.status, f"The instance was not retried: {err.detail}")
    if status == ERROR:  # the retry ran and is stored: post/redirect/get, so a reload does not run it again
        reason = f": {failures[0]}" if failures else ""
        flash(f"The instance was retried but failed again{reason}.", "error")
    else:
        flash(f"Retried: the instance is now {status}.", "info")
    return redirect(url_for("web.instance_page", instance_id=instance_id))

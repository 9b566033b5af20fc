"""Instances: a filtered list, and one instance's page with its diagram (drawn in the browser by
bpmn-js), current and completed steps, waits, variables, history and incidents."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response, abort, flash, redirect, render_template, request, send_from_directory, url_for

from ..api.fields import MAX_NAME, json_size, max_variables_bytes
from ..api.limits import UnsafeJSON, load_json
from ..context import cafe
from ..models.instances import ACTIVE_STATUSES, COMPLETED, ERROR, RUNNING, TERMINATED, WAITING
from ..services import catalog, instances, progress
from ..services.errors import ServiceError
from ..social import feed, images
from .blueprint import bp
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


@bp.post("/instances/<instance_id>/retry")
@admins_only
def retry_instance(instance_id: str):
    """Run the failed step again, optionally after setting variables given as a JSON object. A
    refused retry shows the page again with the reason and the variables as they were typed
    (nothing to type twice); a retry that ran redirects, also when it failed again."""
    typed = request.form.get("variables") or ""
    raw = typed.strip()

    def refused(status: int, reason: str):
        return _render_instance(instance_id, status, retry_error=reason, retry_variables=typed)

    try:
        variables = load_json(raw) if raw else {}
        if not isinstance(variables, dict):
            raise ValueError("not an object")
    except UnsafeJSON as err:
        return refused(422, f"The variables cannot be stored: the JSON {err}.")
    except ValueError:
        return refused(400, 'The variables must be a JSON object, e.g. {"amount": 10}.')
    unnamed = [name for name in variables if not 1 <= len(name) <= MAX_NAME]
    if unnamed:  # the same rules as the API's retry (server/api/fields.py)
        return refused(422, f"The variables cannot be stored: a variable name must have 1 to {MAX_NAME} "
                            f"characters, not {len(unnamed[0])}.")
    limit, size = max_variables_bytes(), json_size(variables)
    if size > limit:
        return refused(413, f"The variables cannot be stored: they are {size} bytes of JSON; "
                            f"the limit is {limit} bytes.")
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

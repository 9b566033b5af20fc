"""Instances: a filtered list, and one instance's page with its diagram (drawn in the browser by
bpmn-js), current and completed steps, waits, variables, history and incidents."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response, abort, flash, redirect, render_template, request, send_from_directory, url_for

from ..api.limits import UnsafeJSON, load_json
from ..context import cafe
from ..models.instances import ACTIVE_STATUSES, COMPLETED, ERROR, RUNNING, TERMINATED, WAITING
from ..services import catalog, instances, progress
from ..services.errors import Conflict
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
    with cafe().db.read() as session:
        instance = instances.get_visible(session, user(), instance_id)
        definition = cafe().store.specs.info(session, instance.definition_id)
        state = progress.of_instance(session, instance_id)
        context = {
            "instance": instance, "definition": definition, "progress": state,
            "tasks": instances.open_tasks(session, instance_id),
            "incidents": instances.incidents(session, instance_id, open_only=True),
            "history": progress.recent_history(session, instance_id),
            "markers": state.markers(), "active": instance.status in ACTIVE_STATUSES,
            "media": images.instance_media(session, instance_id),
            "following": {f.stream for f in feed.follows(session, user())},
        }
    return render_template("web/instances/instance.html", **context)


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
    """Run the failed step again, optionally after setting variables given as a JSON object."""
    raw = (request.form.get("variables") or "").strip()
    try:
        variables = load_json(raw) if raw else {}
        if not isinstance(variables, dict):
            raise ValueError("not an object")
    except UnsafeJSON as err:
        flash(f"The variables cannot be stored: the JSON {err}.", "error")
        return redirect(url_for("web.instance_page", instance_id=instance_id))
    except ValueError:
        flash('The variables must be a JSON object, e.g. {"amount": 10}.', "error")
        return redirect(url_for("web.instance_page", instance_id=instance_id))
    try:
        with cafe().unit_of_work() as session:
            instance, _ = instances.retry(session, cafe().store, instance_id, user().name, variables)
            status = instance.status
        flash(f"Retried: the instance is now {status}.", "info" if status != ERROR else "error")
    except Conflict as err:
        flash(err.detail, "error")
    return redirect(url_for("web.instance_page", instance_id=instance_id))

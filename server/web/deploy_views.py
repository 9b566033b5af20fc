"""Deploying diagrams from the browser (admins): the new versions, or every problem of a
diagram that cannot run with its file, element and line, on the same page."""

from __future__ import annotations

from flask import render_template, request

from ..context import cafe
from ..services import catalog, deployments
from ..services.deployments import DeploymentRejected
from ..services.errors import BadRequest
from .blueprint import bp
from .guards import admins_only, user

ACCEPTED = (".bpmn", ".dmn", ".json", ".xml")


def _page(status: int = 200, **context):
    with cafe().db.read() as session:
        latest = catalog.latest_definitions(session)
    return render_template("web/deploy.html", latest=latest, accepted=",".join(ACCEPTED), **context), status


@bp.get("/deploy")
@admins_only
def deploy_page():
    return _page()


@bp.post("/deploy")
@admins_only
def deploy_upload():
    files = [(f.filename, f.read()) for f in request.files.getlist("files") if f and f.filename]
    name = (request.form.get("name") or "").strip()[:200] or None
    if not files:
        return _page(400, error="Choose at least one .bpmn or .dmn file.", name=name)
    wrong = [n for n, _ in files if not n.lower().endswith(ACCEPTED)]
    if wrong:
        return _page(400, error=f"Only {', '.join(ACCEPTED)} files can be deployed, not {', '.join(wrong)}.",
                     name=name)
    try:
        with cafe().unit_of_work() as session:
            result = deployments.deploy(session, files, name=name, source="web", user=user().name,
                                        max_bytes=cafe().settings.max_diagram_bytes)
            deployed = [(d.key, d.name, d.version, d in result.new_definitions) for d in result.definitions]
            created, not_executable = result.created, result.not_executable
    except DeploymentRejected as err:
        return _page(422, problems=err.problems, files=[n for n, _ in files], name=name)
    except BadRequest as err:
        return _page(400, error=err.detail, name=name)
    return _page(201 if created else 200, deployed=deployed, created=created, not_executable=not_executable)

from __future__ import annotations

from flask import request
from flask.views import MethodView
from sqlalchemy import func, select

from .. import access
from ..auth import current_principal
from ..context import cafe
from ..models import Deployment
from ..services import deployments
from ..services.errors import BadRequest, NotFound
from .blueprint import Blueprint
from .schemas import DeploymentList, DeploymentSchema, DeployResultSchema, Page, Problem

blp = Blueprint("deployments", __name__, url_prefix="/api/v1/deployments",
                description="Upload .bpmn and .dmn files; each executable process becomes a definition.")


def deployment_dict(deployment: Deployment) -> dict:
    return {
        "id": deployment.id,
        "name": deployment.name,
        "source": deployment.source,
        "created_at": deployment.created_at,
        "created_by": deployment.created_by,
        "resources": [r.name for r in deployment.resources],
    }


def uploaded_files() -> list[tuple[str, bytes]]:
    files = []
    for field_name, storage in request.files.items(multi=True):
        name = storage.filename or field_name
        files.append((name, storage.read()))
    if not files:
        raise BadRequest("send the diagrams as multipart/form-data file parts (e.g. curl -F file=@order.bpmn)")
    return files


def form_text(field: str, limit: int = 200) -> str | None:
    value = request.form.get(field)
    if value is not None and len(value) > limit:
        raise BadRequest(f"the form field {field!r} is longer than {limit} characters")
    return value


def form_flag(field: str) -> bool:
    value = (request.form.get(field) or "false").strip().lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise BadRequest(f"the form field {field!r} must be true or false")
    return value in ("true", "1", "yes")


@blp.route("")
class Deployments(MethodView):
    @blp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                       "name": {"type": "string"}, "source": {"type": "string"},
                       "run_non_executable": {"type": "boolean", "description":
                                              "also deploy processes marked isExecutable=\"false\""}}}}}})
    @blp.response(201, DeployResultSchema)
    @blp.alt_response(200, schema=DeployResultSchema, description="nothing changed: the existing deployment")
    @blp.alt_response(422, schema=Problem, description="a diagram cannot be deployed; `problems` says where")
    def post(self):
        """Deploy diagrams (admins only). Unchanged content returns the existing versions."""
        principal = current_principal()
        access.require_admin(principal, "deploy diagrams")
        files = uploaded_files()
        name, source = form_text("name"), form_text("source")
        run_non_executable = form_flag("run_non_executable")
        settings = cafe().settings
        with cafe().unit_of_work() as session:
            result = deployments.deploy(
                session, files, name=name, source=source,
                user=principal.name, max_bytes=settings.max_diagram_bytes,
                run_non_executable=run_non_executable)
            body = deployment_dict(result.deployment) | {
                "created": result.created,
                "definitions": result.definitions,
                "new_definitions": [d.id for d in result.new_definitions],
                "not_executable": result.not_executable,
            }
        return body, 201 if result.created else 200

    @blp.arguments(Page, location="query")
    @blp.response(200, DeploymentList)
    def get(self, query):
        """List deployments, newest first."""
        current_principal()
        with cafe().db.read() as session:
            total = session.scalar(select(func.count()).select_from(Deployment))
            rows = session.scalars(select(Deployment).order_by(Deployment.created_at.desc())
                                   .limit(query["limit"]).offset(query["offset"])).all()
            return {"items": [deployment_dict(d) for d in rows], "total": total}


@blp.route("/<deployment_id>")
class OneDeployment(MethodView):
    @blp.response(200, DeploymentSchema)
    def get(self, deployment_id):
        current_principal()
        with cafe().db.read() as session:
            deployment = session.get(Deployment, deployment_id)
            if deployment is None:
                raise NotFound(f"no deployment with id {deployment_id!r}")
            return deployment_dict(deployment)

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from sqlalchemy import func, select

from ..auth import current_principal
from ..context import cafe
from ..models import ProcessDefinition
from ..services import deployments
from .blueprint import Blueprint
from .schemas import DefinitionList, DefinitionQuery, DefinitionSchema

blp = Blueprint("definitions", __name__, url_prefix="/api/v1/process-definitions",
                description="Versions of deployed processes and their XML.")


@blp.route("")
class Definitions(MethodView):
    @blp.arguments(DefinitionQuery, location="query")
    @blp.response(200, DefinitionList)
    def get(self, query):
        """List definitions; `latest=true` gives one row per key."""
        current_principal()
        stmt = select(ProcessDefinition)
        if query.get("key"):
            stmt = stmt.where(ProcessDefinition.key == query["key"])
        if query["latest"]:
            newest = (select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v"))
                      .group_by(ProcessDefinition.key).subquery())
            stmt = stmt.join(newest, (newest.c.key == ProcessDefinition.key)
                             & (newest.c.v == ProcessDefinition.version))
        with cafe().db.read() as session:
            total = session.scalar(select(func.count()).select_from(stmt.subquery()))
            rows = session.scalars(stmt.order_by(ProcessDefinition.key, ProcessDefinition.version.desc())
                                   .limit(query["limit"]).offset(query["offset"])).all()
            return {"items": rows, "total": total}


@blp.route("/<definition_id>")
class OneDefinition(MethodView):
    @blp.response(200, DefinitionSchema)
    def get(self, definition_id):
        """A definition by id, or the latest version when given a key."""
        current_principal()
        with cafe().db.read() as session:
            return _by_id_or_key(session, definition_id)


@blp.route("/<definition_id>/xml")
class DefinitionXml(MethodView):
    @blp.response(200, {"type": "string"}, content_type="application/xml")
    def get(self, definition_id):
        """The BPMN XML exactly as deployed."""
        current_principal()
        with cafe().db.read() as session:
            content = deployments.definition_xml(session, _by_id_or_key(session, definition_id))
        return Response(content, mimetype="application/xml")


def _by_id_or_key(session, value: str) -> ProcessDefinition:
    if ":" in value:
        return deployments.get_definition(session, value)
    return deployments.get_latest(session, value)

from __future__ import annotations

from flask import jsonify
from flask.views import MethodView

from .. import access
from ..auth import current_principal
from ..context import cafe
from ..services import instances, migration
from ..services.counting import COUNT_CAP, total_fields
from .blueprint import Blueprint
from .presenters import instance_dict
from .schemas import (
    HistoryList,
    HistoryQuery,
    InstanceDetailSchema,
    InstanceList,
    InstanceQuery,
    MigrateBody,
    Problem,
    RetryBody,
    StartInstance,
    TerminateQuery,
    VariablesPatch,
)

blp = Blueprint("instances", __name__, url_prefix="/api/v1/process-instances",
                description="Start instances, follow them, change their variables, end them.")


@blp.route("")
class Instances(MethodView):
    @blp.arguments(StartInstance)
    @blp.response(201, InstanceDetailSchema)
    def post(self, body):
        """Start an instance by key (latest version) or definition id; it runs until it waits."""
        principal = current_principal()
        store = cafe().store

        def plan(session):  # the engine runs before the write transaction
            return instances.plan_start_of(session, store, body.get("definition_id"), body.get("definition_key"),
                                           body["variables"], body.get("business_key"), principal.name)

        def write(session, planned):
            instance = instances.write_start(session, store, planned)
            return instance_dict(session, instance, detail=True, with_incidents=instance.status == "error",
                                 open_tasks=planned.open_task_rows)

        return cafe().optimistic(plan, write)

    @blp.arguments(InstanceQuery, location="query")
    @blp.response(200, InstanceList)
    def get(self, query):
        """Instances the caller may see, newest first, with filters and pagination."""
        principal = current_principal()
        flt = instances.InstanceFilter(**query, count_cap=COUNT_CAP)
        with cafe().db.read() as session:
            rows, total = instances.search(session, principal, flt)
            return {"items": [instance_dict(session, i) for i in rows]} | total_fields(total)


@blp.route("/<instance_id>")
class OneInstance(MethodView):
    @blp.response(200, InstanceDetailSchema)
    def get(self, instance_id):
        """State, variables, open tasks, incidents and version of one instance."""
        principal = current_principal()
        with cafe().db.read() as session:
            return instance_dict(session, instances.get_visible(session, principal, instance_id), detail=True)

    @blp.arguments(TerminateQuery, location="query")
    @blp.response(200, InstanceDetailSchema)
    def delete(self, query, instance_id):
        """Terminate a running instance (admins, or the user who started it)."""
        principal = current_principal()
        with cafe().unit_of_work() as session:
            access.check_terminate(principal, instances.get_visible(session, principal, instance_id))
            instance = instances.terminate(session, cafe().store, instance_id, principal.name, query["reason"])
            return instance_dict(session, instance, detail=True)


@blp.route("/<instance_id>/variables")
class Variables(MethodView):
    @blp.response(200, {"type": "object"})
    def get(self, instance_id):
        principal = current_principal()
        with cafe().db.read() as session:
            # a returned Response bypasses the schema, which only documents "any object" here
            return jsonify(instances.get_visible(session, principal, instance_id).variables or {})

    @blp.arguments(VariablesPatch)
    @blp.response(200, {"type": "object"})
    def patch(self, body, instance_id):
        """Set and delete variables of a running instance (admins)."""
        principal = current_principal()
        access.require_admin(principal, "change variables")
        with cafe().unit_of_work() as session:
            instance = instances.update_variables(session, cafe().store, instance_id, principal.name,
                                                  body["set"], body["delete"])
            return jsonify(instance.variables or {})


@blp.route("/<instance_id>/history")
class History(MethodView):
    @blp.arguments(HistoryQuery, location="query")
    @blp.response(200, HistoryList)
    def get(self, query, instance_id):
        """The append-only history: started, tasks completed by whom, timers, messages, errors."""
        principal = current_principal()
        with cafe().db.read() as session:
            instances.get_visible(session, principal, instance_id)
            return {"items": instances.history(session, instance_id, query["after"], query["limit"])}


@blp.route("/<instance_id>/retry")
class Retry(MethodView):
    @blp.arguments(RetryBody)
    @blp.response(200, InstanceDetailSchema)
    def post(self, body, instance_id):
        """Run the failed step of an instance in error again, optionally with corrected variables."""
        principal = current_principal()
        access.require_admin(principal, "retry incidents")
        with cafe().unit_of_work() as session:
            instance, _ = instances.retry(session, cafe().store, instance_id, principal.name, body["variables"])
            return instance_dict(session, instance, detail=True)


@blp.route("/<instance_id>/migrate")
class Migrate(MethodView):
    @blp.arguments(MigrateBody)
    @blp.response(200, InstanceDetailSchema)
    @blp.alt_response(409, schema=Problem, description="the target version is incompatible; `reasons` says why")
    def post(self, body, instance_id):
        """Move a running instance to another version of its process (admins), when the change is
        compatible with where the instance stands; recorded in the history as `migrated`."""
        principal = current_principal()
        access.require_admin(principal, "migrate instances")
        with cafe().unit_of_work() as session:
            instance = migration.migrate_instance(session, cafe().store, instance_id, body["definition_id"],
                                                  principal.name)
            return instance_dict(session, instance, detail=True, with_incidents=instance.status == "error")

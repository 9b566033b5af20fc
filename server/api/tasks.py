from __future__ import annotations

from flask.views import MethodView

from ..auth import current_principal
from ..context import cafe
from ..services import tasks
from ..services.counting import COUNT_CAP, total_fields
from .blueprint import Blueprint
from .presenters import instance_dict, task_detail, task_dict
from .schemas import AssignTask, CompleteTask, InstanceDetailSchema, NoFields, TaskDetailSchema, TaskList, TaskQuery

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks",
                description="User tasks: visible and completable only by their assignee or candidates.")


@blp.route("")
class Tasks(MethodView):
    @blp.arguments(TaskQuery, location="query")
    @blp.response(200, TaskList)
    def get(self, query):
        """Open tasks the caller may see; `mine=true` for those assigned to the caller."""
        principal = current_principal()
        with cafe().db.read() as session:
            rows, total = tasks.search(session, principal, tasks.TaskFilter(**query, count_cap=COUNT_CAP))
            return {"items": [task_dict(t) for t in rows]} | total_fields(total)


@blp.route("/<task_id>")
class OneTask(MethodView):
    @blp.response(200, TaskDetailSchema)
    def get(self, task_id):
        """A task with its form and the instance's variables."""
        principal = current_principal()
        with cafe().db.read() as session:
            return task_detail(session, tasks.get_visible(session, principal, task_id))


@blp.route("/<task_id>/claim")
class Claim(MethodView):
    @blp.arguments(NoFields, required=False)
    @blp.response(200, TaskDetailSchema)
    def post(self, _body, task_id):
        """Take a task you are a candidate for; 409 when someone else holds it."""
        principal = current_principal()
        with cafe().unit_of_work() as session:
            return task_detail(session, tasks.claim(session, principal, task_id))


@blp.route("/<task_id>/unclaim")
class Unclaim(MethodView):
    @blp.arguments(NoFields, required=False)
    @blp.response(200, TaskDetailSchema)
    def post(self, _body, task_id):
        principal = current_principal()
        with cafe().unit_of_work() as session:
            return task_detail(session, tasks.unclaim(session, principal, task_id))


@blp.route("/<task_id>/assignee")
class Assignee(MethodView):
    @blp.arguments(AssignTask)
    @blp.response(200, TaskDetailSchema)
    def put(self, body, task_id):
        """Assign a task to a user of this server (404 naming an unknown one), or to nobody with null
        (admins)."""
        principal = current_principal()
        with cafe().unit_of_work() as session:
            return task_detail(session, tasks.assign(session, principal, task_id, body["user"]))


@blp.route("/<task_id>/complete")
class Complete(MethodView):
    @blp.arguments(CompleteTask)
    @blp.response(200, InstanceDetailSchema)
    def post(self, body, task_id):
        """Complete with variables (checked against the form); 409 if the task is no longer open,
        404 if no task had the id."""
        principal = current_principal()
        store = cafe().store

        def write(session, planned):
            instance = tasks.write_completion(session, store, planned)
            rows = planned.open_task_rows
            return instance_dict(session, instance, detail=True, with_incidents=instance.status == "error",
                                 open_tasks=True if rows is None else rows)

        return cafe().optimistic(
            lambda session: tasks.plan_completion(session, store, principal, task_id, body["variables"]), write)

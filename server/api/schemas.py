"""Request and response shapes of the native API (marshmallow; OpenAPI is generated from them)."""

from __future__ import annotations

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from .fields import JsonBoolean, Variables

MAX_PAGE = 500
MAX_OFFSET = 2**31 - 1  # past any real list; larger values overflow the databases' integers
MAX_ID = 2**63 - 1  # the largest 64-bit id
MAX_TEXT = 255  # characters of a name, key or id used as a filter


def text(**kwargs) -> fields.String:
    """A short text filter: longer values cannot match anything stored, so they are refused (422)."""
    return fields.String(validate=validate.Length(max=MAX_TEXT), **kwargs)


class Strict(Schema):
    class Meta:
        unknown = RAISE
        ordered = True


class NoFields(Strict):
    """The body of an action that needs no data (a claim, a like): none, an empty one or `{}`. A
    field in it would be ignored (a client sending `{"like": false}` expecting an unlike would like
    instead), so it is refused with 422 naming it, as unknown fields are on every other route."""


class Lenient(Schema):
    class Meta:
        unknown = EXCLUDE
        ordered = True


class Page(Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, MAX_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, MAX_OFFSET))


class Problem(Lenient):
    """An RFC 9457 problem document: every error of the API (media type application/problem+json)."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Raw(metadata={"description": "what was wrong with which input field (422, 413)"})
    problems = fields.List(fields.Nested("DiagramProblemSchema"), metadata={
        "description": "each problem of a diagram that cannot be deployed: file, element, line, reason"})


class DiagramProblemSchema(Lenient):
    reason = fields.String()
    file = fields.String(allow_none=True)
    element_id = fields.String(allow_none=True)
    line = fields.Integer(allow_none=True)


class DefinitionSchema(Lenient):
    id = fields.String()
    key = fields.String()
    version = fields.Integer()
    name = fields.String(allow_none=True)
    dialect = fields.String()
    deployment_id = fields.String()
    resource_name = fields.String()
    created_at = fields.DateTime()


class DefinitionQuery(Page):
    key = text()
    latest = fields.Boolean(load_default=False)


class DefinitionList(Lenient):
    items = fields.List(fields.Nested(DefinitionSchema))
    total = fields.Integer()


class DeploymentSchema(Lenient):
    id = fields.String()
    name = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    created_at = fields.DateTime()
    created_by = fields.String(allow_none=True)
    resources = fields.List(fields.String())


class DeployResultSchema(DeploymentSchema):
    created = fields.Boolean()
    definitions = fields.List(fields.Nested(DefinitionSchema))
    new_definitions = fields.List(fields.String())
    not_executable = fields.List(fields.String())


class DeploymentList(Lenient):
    items = fields.List(fields.Nested(DeploymentSchema))
    total = fields.Integer()


class StartInstance(Strict):
    definition_key = text()
    definition_id = text()
    business_key = fields.String(allow_none=True, validate=validate.Length(max=255))
    variables = Variables()


class TaskSchema(Lenient):
    id = fields.String()
    instance_id = fields.String()
    definition_id = fields.String()
    definition_key = fields.String()
    bpmn_id = fields.String()
    name = fields.String(allow_none=True)
    type = fields.String()
    lane = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    candidate_users = fields.List(fields.String())
    candidate_groups = fields.List(fields.String())
    documentation = fields.String(allow_none=True)
    priority = fields.Integer(allow_none=True)
    due = fields.String(allow_none=True)
    created_at = fields.DateTime()


class TaskDetailSchema(TaskSchema):
    form = fields.Dict(allow_none=True)
    variables = fields.Dict()


class IncidentSchema(Lenient):
    id = fields.Integer()
    task_id = fields.String(allow_none=True)
    bpmn_id = fields.String(allow_none=True)
    message = fields.String()
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)


class InstanceSchema(Lenient):
    id = fields.String()
    definition_id = fields.String()
    definition_key = fields.String()
    version = fields.Integer()
    business_key = fields.String(allow_none=True)
    status = fields.String()
    started_by = fields.String(allow_none=True)
    started_at = fields.DateTime()
    updated_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    end_reason = fields.String(allow_none=True)


class InstanceDetailSchema(InstanceSchema):
    variables = fields.Dict()
    tasks = fields.List(fields.Nested(TaskSchema))
    incidents = fields.List(fields.Nested(IncidentSchema))
    revision = fields.Integer()


class InstanceQuery(Page):
    definition_key = text()
    definition_id = text()
    business_key = text()
    status = fields.String(validate=validate.OneOf(["running", "waiting", "completed", "error", "terminated"]))
    started_by = text()


TOTAL_HELP = ("how many match, counted up to 1,000 (a count of a large list costs as much as reading it); "
              "when more match, `total` is 1000 and `total_exact` is false")


class InstanceList(Lenient):
    items = fields.List(fields.Nested(InstanceSchema))
    total = fields.Integer(metadata={"description": TOTAL_HELP})
    total_exact = fields.Boolean(metadata={"description": "false when more than `total` match"})


class VariablesPatch(Strict):
    set = Variables()
    delete = fields.List(fields.String(validate=validate.Length(1, 255)), load_default=list)


class RetryBody(Strict):
    variables = Variables()


class MigrateBody(Strict):
    definition_id = fields.String(required=True, validate=validate.Length(min=1, max=255))


class TerminateQuery(Strict):
    reason = fields.String(load_default="terminated", validate=validate.Length(max=32))


class HistoryEventSchema(Lenient):
    id = fields.Integer()
    at = fields.DateTime()
    kind = fields.String()
    bpmn_id = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    element_type = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    user = fields.String(allow_none=True)
    data = fields.Raw(allow_none=True)


class HistoryQuery(Strict):
    after = fields.Integer(load_default=0, validate=validate.Range(0, MAX_ID))
    limit = fields.Integer(load_default=500, validate=validate.Range(1, 5000))


class HistoryList(Lenient):
    items = fields.List(fields.Nested(HistoryEventSchema))


class TaskQuery(Page):
    assignee = text()
    candidate_user = text()
    candidate_group = text()
    mine = fields.Boolean(load_default=False)
    instance_id = text()
    definition_key = text()
    bpmn_id = text()
    include_assigned = fields.Boolean(load_default=True)


class TaskList(Lenient):
    items = fields.List(fields.Nested(TaskSchema))
    total = fields.Integer(metadata={"description": TOTAL_HELP})
    total_exact = fields.Boolean(metadata={"description": "false when more than `total` match"})


class CompleteTask(Strict):
    variables = Variables()


class AssignTask(Strict):
    user = fields.String(required=True, allow_none=True, validate=validate.Length(1, 120))


class MessageBody(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    business_key = fields.String(allow_none=True, validate=validate.Length(max=255))
    instance_id = fields.String(allow_none=True, validate=validate.Length(max=255))
    correlation_keys = Variables()
    variables = Variables()
    all = JsonBoolean(load_default=False)


class MessageResult(Lenient):
    instance_id = fields.String()
    started = fields.Boolean()
    status = fields.String()


class MessageResults(Lenient):
    items = fields.List(fields.Nested(MessageResult))


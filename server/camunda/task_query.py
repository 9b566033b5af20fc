"""`GET /task` and `/task/count`: the query string as a task filter.

Every documented parameter either filters (here or in services/task_criteria.py) or is refused
with a 400 (camunda/unsupported.py). Some name things no task here has, which no task then
matches: an owner, a delegation state, a parent task, a follow-up date, suspension.
"""

from __future__ import annotations

from ..services import tasks
from ..services.errors import BadRequest
from ..services.instance_queries import VariableCondition
from ..services.task_criteria import TaskCriteria
from ..services.task_order import SORTS
from .dto import bad_request
from .params import Params

_NEVER = ("owner", "delegationState", "parentTaskId", "followUpDate", "followUpAfter", "followUpBefore")


def _criteria(p: Params) -> TaskCriteria:
    keys = p.names("processInstanceBusinessKeyIn")
    if p.text("processInstanceBusinessKey"):
        keys.append(p.text("processInstanceBusinessKey"))
    try:
        conditions = [VariableCondition.parse(c) for c in p.names("processVariables")]
    except BadRequest as err:
        raise bad_request(f"Cannot set query parameter 'processVariables': {err}") from err
    for name in ("followUpDate", "followUpAfter", "followUpBefore", "followUpBeforeOrNotExistent"):
        p.date(name)  # checked, so that a wrong one is a 400 as in Camunda
    execution = p.text("executionId")  # TaskDto's executionId is the instance's id
    return TaskCriteria(
        task_ids=p.names("taskIdIn") + ([p.text("taskId")] if p.text("taskId") else []),
        name=p.text("name"), name_not=p.text("nameNotEqual"), name_like=p.text("nameLike"),
        name_not_like=p.text("nameNotLike"), description=p.text("description"),
        description_like=p.text("descriptionLike"),
        instance_ids=p.names("processInstanceIdIn") + ([execution] if execution else []),
        business_keys=keys, business_key_like=p.text("processInstanceBusinessKeyLike"),
        bpmn_ids=p.names("taskDefinitionKeyIn"), bpmn_id_like=p.text("taskDefinitionKeyLike"),
        definition_keys=p.names("processDefinitionKeyIn"), definition_name=p.text("processDefinitionName"),
        definition_name_like=p.text("processDefinitionNameLike"),
        tenant_ids=p.names("tenantIdIn"), without_tenant=p.flag("withoutTenantId"),
        assignees=p.names("assigneeIn"), assignees_not=p.names("assigneeNotIn"),
        assignee_like=p.text("assigneeLike"), involved_user=p.text("involvedUser"),
        priority=p.integer("priority"), min_priority=p.integer("minPriority"),
        max_priority=p.integer("maxPriority"),
        created_after=p.date("createdAfter"), created_before=p.date("createdBefore"), created_on=p.date("createdOn"),
        candidate_groups=_with_without(p, "CandidateGroups"), candidate_users=_with_without(p, "CandidateUsers"),
        nothing=any(p.text(name) for name in _NEVER) or p.flag("suspended"),
        due_after=p.date("dueAfter"), due_before=p.date("dueBefore"), due_on=p.date("dueDate"),
        without_due=p.flag("withoutDueDate"), variables=conditions,
        names_ignore_case=p.flag("variableNamesIgnoreCase"), values_ignore_case=p.flag("variableValuesIgnoreCase"))


def _with_without(p: Params, what: str) -> bool | None:
    """`with<what>=true`: True; `without<what>=true`: False; both at once: a 400."""
    with_, without = p.flag(f"with{what}"), p.flag(f"without{what}")
    if with_ and without:
        raise bad_request(f"with{what} and without{what} exclude each other")
    return True if with_ else False if without else None


def task_filter(limit_override: int | None = None) -> tasks.TaskFilter:
    p = Params()
    p.refuse("task")
    offset, limit = p.page()
    sort, descending = p.sorting({name: name for name in SORTS}, "created")
    unassigned = True if p.flag("unassigned") else False if p.flag("assigned") else None
    return tasks.TaskFilter(
        assignee=p.text("assignee"), candidate_user=p.text("candidateUser"),
        candidate_group=p.text("candidateGroup"), candidate_groups=tuple(p.names("candidateGroups")),
        instance_id=p.text("processInstanceId"), definition_key=p.text("processDefinitionKey"),
        definition_id=p.text("processDefinitionId"), bpmn_id=p.text("taskDefinitionKey"),
        include_assigned=p.flag("includeAssignedTasks"), unassigned=unassigned, offset=offset,
        limit=limit if limit_override is None else limit_override, criteria=_criteria(p),
        sort=None if sort == "created" and not descending else sort, descending=descending)

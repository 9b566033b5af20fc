"""The documented Camunda 7 query parameters each list endpoint cannot honour, in one place.

Camunda's REST API (Jersey) ignores parameters it does not know, and so does this server; but a
documented filter silently ignored gives a client the whole list, or makes it work on the wrong
tasks. So a documented parameter that this server does not implement is answered with a 400
naming it (`Params.refuse`). Parameters for things this server has none of, and which therefore
match nothing or everything, are implemented as such where the endpoint parses its query (an
owner, a suspended task, a root instance), not listed here.
"""

from __future__ import annotations

# expressions are evaluated by Camunda's expression engine, which this server does not have
_EXPRESSIONS = frozenset(
    f"{name}Expression" for name in (
        "processInstanceBusinessKey", "processInstanceBusinessKeyLike", "assignee", "assigneeLike", "owner",
        "candidateGroup", "candidateUser", "involvedUser", "dueDate", "dueAfter", "dueBefore", "followUpDate",
        "followUpAfter", "followUpBefore", "followUpBeforeOrNotExistent", "createdOn", "createdAfter",
        "createdBefore", "updatedAfter", "candidateGroups"))

UNSUPPORTED: dict[str, frozenset[str]] = {
    "task": _EXPRESSIONS | {
        "caseInstanceId", "caseInstanceBusinessKey", "caseInstanceBusinessKeyLike", "caseDefinitionId",
        "caseDefinitionKey", "caseDefinitionName", "caseDefinitionNameLike", "caseExecutionId",
        "caseInstanceVariables", "activityInstanceIdIn", "candidateGroupLike", "updatedAfter",
        "taskVariables",  # tasks here have no local variables; processVariables filters the instance's
        "withCommentAttachmentInfo",
    },
    "process-instance": frozenset({
        "superProcessInstance", "subProcessInstance", "caseInstanceId", "superCaseInstance", "subCaseInstance",
        "incidentType",
    }),
    "process-definition": frozenset({
        "versionTag", "versionTagLike", "withoutVersionTag", "startableBy", "startablePermissionCheck",
        "incidentId", "incidentType", "incidentMessage", "incidentMessageLike",
    }),
}


def refused(endpoint: str, names) -> list[str]:
    """The parameters among `names` that `endpoint` does not support, in their order."""
    unsupported = UNSUPPORTED[endpoint]
    return [name for name in names if name in unsupported]

"""GET /engine-rest/task and /task/count: every documented filter either filters or is refused
with a 400 naming it; sortBy/sortOrder sort, as Camunda's do."""

from __future__ import annotations

import pytest

from tests.camunda.conftest import error

ALL = {f"{i}:{t}" for i in ("i1", "i2", "i3") for t in ("Task_approve", "Task_check", "Task_ship")} | {
    "i4:Task_review"}


def _tasks(client, world, query: str) -> list[dict]:
    response = client.get(f"/task?{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def found(client, world, query: str) -> set[str]:
    """The tasks the list gives, as instance label:BPMN id; the count must agree."""
    rows = _tasks(client, world, query)
    count = client.get(f"/task/count?{query}").get_json()
    assert count == {"count": len(rows)}, (query, count, len(rows))
    return {f"{world.labels[t['processInstanceId']]}:{t['taskDefinitionKey']}" for t in rows}


def of(*labels: str, tasks=("Task_approve", "Task_check", "Task_ship")) -> set[str]:
    return {f"{label}:{task}" for label in labels for task in tasks}


def test_the_world_has_ten_tasks(camunda, world):
    assert found(camunda, world, "") == ALL


TASK_FILTERS = [
    ("name=Approve invoice", of("i1", "i2", "i3", tasks=["Task_approve"])),
    ("name=approve INVOICE", of("i1", "i2", "i3", tasks=["Task_approve"])),  # Camunda: case-insensitive
    ("nameLike=%25stock", of("i1", "i2", "i3", tasks=["Task_check"])),
    ("nameLike=%25ORDER%25", of("i1", "i2", "i3", tasks=["Task_ship"]) | {"i4:Task_review"}),
    ("nameNotEqual=Ship order", ALL - of("i1", "i2", "i3", tasks=["Task_ship"])),
    ("nameNotLike=%25order", of("i1", "i2", "i3", tasks=["Task_approve", "Task_check"])),
    ("description=Look in the warehouse", of("i1", "i2", "i3", tasks=["Task_check"])),
    ("descriptionLike=%25warehouse", of("i1", "i2", "i3", tasks=["Task_check"])),
    ("processInstanceBusinessKey=order-2", of("i2")),
    ("processInstanceBusinessKeyIn=order-2,review-4", of("i2") | {"i4:Task_review"}),
    ("processInstanceBusinessKeyLike=order-%25", of("i1", "i2")),  # case-sensitive, as on PostgreSQL
    ("processInstanceIdIn={i1},{i3}", of("i1", "i3")),
    ("executionId={i2}", of("i2")),
    ("taskDefinitionKeyIn=Task_check,Task_review", of("i1", "i2", "i3", tasks=["Task_check"]) | {"i4:Task_review"}),
    ("taskDefinitionKeyLike=Task_%25e%25", ALL - of("i1", "i2", "i3", tasks=["Task_ship"])),
    ("processDefinitionKeyIn=order_review,nothing", {"i4:Task_review"}),
    ("processDefinitionName=Order review", {"i4:Task_review"}),
    ("processDefinitionNameLike=Task%25", of("i1", "i2", "i3")),
    ("processVariables=orderId_eq_B-2", of("i2")),
    ("processVariables=orderId_eq_nomatch", set()),
    ("processVariables=amount_gt_20", of("i2", "i3")),
    ("processVariables=amount_gt_20&processVariables=orderId_neq_C-3", of("i2")),
    ("processVariables=orderId_like_A%25", of("i1")),
    ("processVariables=orderId_notLike_A%25", ALL - of("i1")),
    ("processVariables=orderId_eq_b-2&variableValuesIgnoreCase=true", of("i2")),
    ("processVariables=ORDERID_eq_B-2&variableNamesIgnoreCase=true", of("i2")),
    ("processVariables=ORDERID_eq_B-2", set()),
    ("createdAfter={between}", of("i2", "i3") | {"i4:Task_review"}),
    ("createdBefore={between}", of("i1")),
    ("dueBefore=2026-02-01T00:00:00.000%2B0000", {"i2:Task_approve"}),
    ("dueAfter=2026-02-01T00:00:00.000%2B0000", {"i1:Task_approve", "i3:Task_approve"}),
    ("dueDate=2026-03-01T11:00:00.000%2B0100", {"i1:Task_approve"}),
    ("withoutDueDate=true", ALL - of("i1", "i2", "i3", tasks=["Task_approve"])),
    ("priority=80", of("i1", "i2", "i3", tasks=["Task_approve"])),
    ("minPriority=50", ALL - of("i1", "i2", "i3", tasks=["Task_ship"])),  # no priority is 50, as in Camunda
    ("maxPriority=49", of("i1", "i2", "i3", tasks=["Task_ship"])),
    ("assigneeIn=otto,anna", {"i1:Task_ship", "i2:Task_ship"}),
    ("assigneeNotIn=otto", ALL - {"i1:Task_ship"}),
    ("assigneeLike=%25t%25", {"i1:Task_ship"}),
    ("assignee=zed", {"i3:Task_ship"}),
    ("owner=otto", set()),  # no task here has an owner
    ("involvedUser=rita", of("i1", "i2", "i3", tasks=["Task_check"])),
    ("involvedUser=otto", {"i1:Task_ship"}),
    ("tenantIdIn=t1", of("i3")),
    ("withoutTenantId=true", of("i1", "i2") | {"i4:Task_review"}),
    ("withCandidateGroups=true", of("i1", "i2", "i3", tasks=["Task_approve"]) | {"i4:Task_review"}),
    ("withoutCandidateGroups=true", of("i1", "i2", "i3", tasks=["Task_check", "Task_ship"])),
    ("withCandidateUsers=true", of("i1", "i2", "i3", tasks=["Task_check"])),
    ("withoutCandidateUsers=true", ALL - of("i1", "i2", "i3", tasks=["Task_check"])),
    ("suspended=true", set()),
    ("active=true", ALL),
    ("unknownParameter=whatever", ALL),  # undocumented parameters are ignored, as by Camunda's Jersey
    ("processInstanceBusinessKey=order-1&name=Ship order", {"i1:Task_ship"}),
]


def test_task_filters(camunda, world):
    """One world for all cases (building it costs a second); every mismatch is reported."""
    wrong = {}
    for query, expected in TASK_FILTERS:
        got = found(camunda, world, query.format(**world.ids, between=world.between))
        if got != expected:
            wrong[query] = (sorted(got), sorted(expected))
    assert wrong == {}


def test_task_id_filters(camunda, world):
    rows = _tasks(camunda, world, f"processInstanceId={world.ids['i1']}")
    first, second = rows[0]["id"], rows[1]["id"]
    assert {t["id"] for t in _tasks(camunda, world, f"taskIdIn={first},{second}")} == {first, second}
    assert [t["id"] for t in _tasks(camunda, world, f"taskId={first}")] == [first]


def test_task_filters_keep_visibility(world, camunda_user):
    """A plain user sees only what they may see, filtered further."""
    rita = camunda_user("rita")
    assert found(rita, world, "") == of("i1", "i2", "i3", tasks=["Task_check"])
    assert found(rita, world, "processInstanceBusinessKey=order-2") == {"i2:Task_check"}
    assert found(rita, world, "processVariables=amount_lt_40") == {"i1:Task_check", "i3:Task_check"}
    assert found(rita, world, "sortBy=priority&sortOrder=asc&tenantIdIn=t1") == {"i3:Task_check"}


def test_task_dto_carries_the_instance_tenant(camunda, world):
    assert {t["tenantId"] for t in _tasks(camunda, world, f"processInstanceId={world.ids['i3']}")} == {"t1"}
    assert {t["tenantId"] for t in _tasks(camunda, world, f"processInstanceId={world.ids['i1']}")} == {None}


def _column(client, world, query: str, field: str) -> list:
    return [t[field] for t in _tasks(client, world, query)]


def test_task_sorting(camunda, world):
    created_desc = _tasks(camunda, world, "sortBy=created&sortOrder=desc")
    created_asc = _tasks(camunda, world, "sortBy=created&sortOrder=asc")
    # an instance's tasks open together (they may share a time): compare the instances' order
    assert [world.labels[t["processInstanceId"]] for t in created_desc] == ["i4"] + ["i3"] * 3 + [
        "i2"] * 3 + ["i1"] * 3
    assert [world.labels[t["processInstanceId"]] for t in created_asc] == ["i1"] * 3 + ["i2"] * 3 + [
        "i3"] * 3 + ["i4"]

    assert _column(camunda, world, "sortBy=priority&sortOrder=desc", "priority") == [80] * 3 + [50] * 4 + [20] * 3
    assert _column(camunda, world, "sortBy=priority&sortOrder=asc", "priority") == [20] * 3 + [50] * 4 + [80] * 3
    assert _column(camunda, world, "sortBy=priority&sortOrder=desc&firstResult=2&maxResults=2",
                   "priority") == [80, 50]
    names = ["Approve invoice"] * 3 + ["Check stock"] * 3 + ["Review order"] + ["Ship order"] * 3
    assert _column(camunda, world, "sortBy=name&sortOrder=asc", "name") == names
    assert _column(camunda, world, "sortBy=name&sortOrder=desc", "name") == names[::-1]
    assert _column(camunda, world, "sortBy=nameCaseInsensitive&sortOrder=asc", "name") == names
    # a missing value sorts below every value, on SQLite and PostgreSQL alike
    assert _column(camunda, world, "sortBy=assignee&sortOrder=asc", "assignee") == [None] * 7 + [
        "anna", "otto", "zed"]
    assert _column(camunda, world, "sortBy=assignee&sortOrder=desc", "assignee") == [
        "zed", "otto", "anna"] + [None] * 7
    dues = _column(camunda, world, "sortBy=dueDate&sortOrder=desc", "due")
    assert dues[:3] == ["2026-06-01T10:00:00.000+0000", "2026-03-01T10:00:00.000+0000",
                        "2026-01-15T10:00:00.000+0000"] and dues[3:] == [None] * 7
    ids = _column(camunda, world, "sortBy=id&sortOrder=asc", "id")
    assert ids == sorted(ids)
    instances = _column(camunda, world, "sortBy=instanceId&sortOrder=desc", "processInstanceId")
    assert instances == sorted(instances, reverse=True)
    filtered = _column(camunda, world, "sortBy=priority&sortOrder=asc&processInstanceBusinessKey=order-2", "name")
    assert filtered == ["Ship order", "Check stock", "Approve invoice"]


@pytest.mark.parametrize("query", ["sortBy=bogus&sortOrder=asc", "sortBy=created", "sortOrder=desc",
                                   "sortBy=created&sortOrder=down"])
def test_task_sorting_refuses_what_camunda_refuses(camunda, query):
    for path in ("/task", "/task/count"):
        error(camunda.get(f"{path}?{query}"), 400, "InvalidRequestException")


@pytest.mark.parametrize("name", ["caseInstanceId", "candidateGroupExpression", "taskVariables",
                                  "activityInstanceIdIn", "updatedAfter", "withCommentAttachmentInfo"])
def test_unsupported_task_filters_are_refused_by_name(camunda, name):
    for path in ("/task", "/task/count"):
        body = error(camunda.get(f"{path}?{name}=x"), 400, "InvalidRequestException")
        assert name in body["message"] and "not supported" in body["message"]


def test_bad_filter_values_are_refused(camunda):
    error(camunda.get("/task?priority=high"), 400, "InvalidRequestException")
    error(camunda.get("/task?dueBefore=yesterday"), 400, "InvalidRequestException")
    error(camunda.get("/task?processVariables=nonsense"), 400, "InvalidRequestException")
    error(camunda.get("/task?withCandidateGroups=maybe"), 400, "InvalidRequestException")

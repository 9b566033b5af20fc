"""GET /engine-rest/process-instance and /process-definition (and their counts): every documented
filter either filters or is refused with a 400 naming it; DELETE with failIfNotExists=false."""

from __future__ import annotations

import pytest

from tests.camunda.conftest import error


def instances(client, world, query: str) -> set[str]:
    """The running instances the list gives, as labels; the count must agree."""
    response = client.get(f"/process-instance?{query}")
    assert response.status_code == 200, response.get_json()
    rows = response.get_json()
    assert client.get(f"/process-instance/count?{query}").get_json() == {"count": len(rows)}, query
    return {world.labels[i["id"]] for i in rows}


INSTANCE_FILTERS = [
    ("", {"i1", "i2", "i3", "i4"}),
    ("processDefinitionKeyNotIn=task_mix", {"i4"}),
    ("processDefinitionKeyNotIn=task_mix,order_review", set()),
    ("deploymentId={tenant}", {"i3"}),
    ("deploymentId={plain}", {"i1", "i2"}),
    ("tenantIdIn=t1", {"i3"}),
    ("tenantIdIn=t2", set()),
    ("withoutTenantId=true", {"i1", "i2", "i4"}),
    ("processDefinitionWithoutTenantId=true", {"i1", "i2", "i4"}),
    ("variables=orderid_eq_B-2&variableNamesIgnoreCase=true", {"i2"}),
    ("variables=orderId_eq_b-2&variableValuesIgnoreCase=true", {"i2"}),
    ("variables=orderId_eq_b-2", set()),
    ("variables=orderId_notLike_%25-2", {"i1", "i3", "i4"}),
    ("businessKeyLike=order-%25", {"i1", "i2"}),  # case-sensitive, as on PostgreSQL
    ("rootProcessInstances=true", {"i1", "i2", "i3", "i4"}),  # no instance here has a super instance
    ("active=true", {"i1", "i2", "i3", "i4"}),
    ("incidentId=12345", set()),
    ("unknownParameter=x", {"i1", "i2", "i3", "i4"}),
]


def test_instance_filters(camunda, world):
    """One world for all cases (building it costs a second); every mismatch is reported."""
    wrong = {}
    for query, expected in INSTANCE_FILTERS:
        got = instances(camunda, world, query.format(**world.deployments))
        if got != expected:
            wrong[query] = (sorted(got), sorted(expected))
    assert wrong == {}


@pytest.mark.parametrize("name", ["superProcessInstance", "subProcessInstance", "caseInstanceId",
                                  "superCaseInstance", "incidentType"])
def test_unsupported_instance_filters_are_refused_by_name(camunda, name):
    for path in ("/process-instance", "/process-instance/count"):
        body = error(camunda.get(f"{path}?{name}=x"), 400, "InvalidRequestException")
        assert name in body["message"] and "not supported" in body["message"]


def test_instance_sorting(camunda, world):
    rows = camunda.get("/process-instance?sortBy=businessKey&sortOrder=desc").get_json()
    assert [i["businessKey"] for i in rows] == ["review-4", "order-2", "order-1", "ORDER-3"]
    error(camunda.get("/process-instance?sortBy=businessKey"), 400, "InvalidRequestException")
    error(camunda.get("/process-instance?sortBy=startTime&sortOrder=asc"), 400, "InvalidRequestException")


def test_delete_with_fail_if_not_exists_false(camunda, world):
    path = f"/process-instance/{world.ids['i1']}"
    assert camunda.delete(path).status_code == 204
    error(camunda.delete(path), 404)
    assert camunda.delete(f"{path}?failIfNotExists=false").status_code == 204
    assert camunda.delete("/process-instance/no-such-instance?failIfNotExists=false", json={}).status_code == 204
    error(camunda.delete("/process-instance/no-such-instance?failIfNotExists=true"), 404)


def definitions(client, query: str) -> set[str]:
    response = client.get(f"/process-definition?{query}")
    assert response.status_code == 200, response.get_json()
    rows = response.get_json()
    assert client.get(f"/process-definition/count?{query}").get_json() == {"count": len(rows)}, query
    return {f"{d['key']}:{d['tenantId'] or '-'}" for d in rows}


ALL_DEFINITIONS = {"order_review:-", "task_mix:-", "task_mix:t1"}


DEFINITION_FILTERS = [
    ("", ALL_DEFINITIONS),
    ("category=http://processcafe.test/orders", {"task_mix:-", "task_mix:t1"}),
    ("categoryLike=%25bpmn.io%25", {"order_review:-"}),
    ("resourceNameLike=%25mix%25", {"task_mix:-", "task_mix:t1"}),
    ("resourceNameLike=%25MIX%25", set()),  # case-sensitive, as on PostgreSQL
    ("deployedAfter={after}", {"task_mix:-", "task_mix:t1"}),
    ("suspended=true", set()),  # no definition is ever suspended here
    ("active=true", ALL_DEFINITIONS),
    ("startableInTasklist=true", ALL_DEFINITIONS),
    ("notStartableInTasklist=true", set()),
    ("tenantIdIn=t1&includeProcessDefinitionsWithoutTenantId=true", ALL_DEFINITIONS),
    ("tenantIdIn=t1", {"task_mix:t1"}),
    ("keyLike=task%25", {"task_mix:-", "task_mix:t1"}),
    ("unknownParameter=x", ALL_DEFINITIONS),
]


def test_definition_filters(camunda, world):
    """One world for all cases (building it costs a second); every mismatch is reported."""
    wrong = {}
    for query, expected in DEFINITION_FILTERS:
        got = definitions(camunda, query.format(after=world.deployed_between))
        if got != expected:
            wrong[query] = (sorted(got), sorted(expected))
    assert wrong == {}


def test_definition_dto_category_is_the_target_namespace(camunda, world):
    rows = camunda.get("/process-definition?key=task_mix").get_json()
    assert {d["category"] for d in rows} == {"http://processcafe.test/orders"}
    keys = [d["key"] for d in camunda.get("/process-definition?sortBy=category&sortOrder=asc").get_json()]
    assert keys == ["order_review", "task_mix", "task_mix"]  # http://bpmn.io/... < http://processcafe...


@pytest.mark.parametrize("name", ["versionTag", "versionTagLike", "startableBy", "incidentType"])
def test_unsupported_definition_filters_are_refused_by_name(camunda, name):
    for path in ("/process-definition", "/process-definition/count"):
        body = error(camunda.get(f"{path}?{name}=x"), 400, "InvalidRequestException")
        assert name in body["message"] and "not supported" in body["message"]


def test_definition_sorting_needs_both_parameters(camunda):
    error(camunda.get("/process-definition?sortBy=key"), 400, "InvalidRequestException")
    error(camunda.get("/process-definition?sortBy=nonsense&sortOrder=asc"), 400, "InvalidRequestException")

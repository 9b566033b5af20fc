"""/engine-rest through the app: authentication, CORS, errors, counts and deployment semantics."""

from __future__ import annotations

import pytest

from tests.camunda.conftest import CamundaClient, error
from tests.camunda.support import REST, diagram, modeler_form


def test_unauthenticated_requests_get_a_basic_challenge(anonymous_api):
    response = anonymous_api.get(REST + "/deployment?maxResults=0")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="default"'
    assert response.get_json()["type"] == "AuthenticationException"
    wrong = CamundaClient(anonymous_api.client, "nobody")
    assert wrong.get("/version").status_code == 401


def test_bearer_tokens_work_too(admin_api):
    response = admin_api.get(REST + "/deployment?maxResults=0")
    assert response.status_code == 200 and response.get_json() == []
    assert admin_api.get(REST + "/version").get_json() == {"version": "7.24.0"}


@pytest.mark.parametrize("origin", ["null", "file://", "http://localhost:3000"])
def test_cors_preflight_is_answered_without_credentials(anonymous_api, origin):
    response = anonymous_api.request("OPTIONS", REST + "/deployment/create", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert "authorization" in response.headers["Access-Control-Allow-Headers"]
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response.headers
    probe = anonymous_api.get(REST + "/deployment?maxResults=0", headers={"Origin": origin})
    assert probe.status_code == 401 and probe.headers["Access-Control-Allow-Origin"] == origin


def test_native_api_gets_no_cors_headers(admin_api):
    response = admin_api.get("/api/v1/me", headers={"Origin": "null"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_deploying_is_for_administrators(camunda_user):
    rita = camunda_user("rita", groups=["reviewers"])
    body = error(rita.deploy("order_review.bpmn"), 403, "AuthorizationException")
    assert "rita" in body["message"]
    assert rita.get("/deployment?maxResults=0").status_code == 200


@pytest.mark.parametrize("path", [
    "/deployment/missing", "/process-definition/missing:1:x", "/process-definition/key/missing",
    "/process-definition/key/missing/xml", "/process-instance/missing", "/process-instance/missing/variables",
    "/task/missing", "/history/process-instance/missing", "/external-task/missing", "/no/such/endpoint"])
def test_unknown_things_are_404_in_camundas_shape(camunda, path):
    response = camunda.get(path)
    error(response, 404)
    assert response.headers["Content-Type"] == "application/json"


TASK = "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/message", {"messageName": 5}, "messageName"),
    ("/message", {"messageName": "m", "businessKey": 5}, "businessKey"),
    ("/message", {"messageName": "m", "processInstanceId": ["x"]}, "processInstanceId"),
    ("/signal", {"name": 5}, "name"),
    ("/signal", {"name": "s", "executionId": 7}, "executionId"),
    ("/process-definition/key/k/start", {"businessKey": {"a": 1}}, "businessKey"),
    ("/external-task/fetchAndLock", {"workerId": 5, "topics": [{"topicName": "t"}]}, "workerId"),
    ("/external-task/fetchAndLock", {"workerId": "w", "maxTasks": "many", "topics": [{"topicName": "t"}]},
     "maxTasks"),
    ("/external-task/fetchAndLock", {"workerId": "w", "topics": [{"topicName": "t", "lockDuration": 10**15}]},
     "lockDuration"),
    ("/external-task/fetchAndLock", {"workerId": "w", "asyncResponseTimeout": True, "topics": [{"topicName": "t"}]},
     "asyncResponseTimeout"),
    (f"/external-task/{TASK}/failure", {"workerId": "w", "retries": "x"}, "retries"),
    (f"/external-task/{TASK}/failure", {"workerId": "w", "retryTimeout": 10**15}, "retryTimeout"),
    (f"/external-task/{TASK}/extendLock", {"workerId": "w", "newDuration": "x"}, "newDuration"),
])
def test_fields_of_the_wrong_type_or_size_are_400_naming_them(camunda, path, body, field):
    """Each of these was a 500 (on PostgreSQL, or on both databases for the numbers)."""
    assert field in error(camunda.post(path, json=body), 400)["message"]


def test_a_topic_name_that_is_no_string_is_refused(camunda):
    body = {"workerId": "w", "topics": [{"topicName": 5}]}
    assert "topicName" in error(camunda.post("/external-task/fetchAndLock", json=body), 400)["message"]


def test_key_lookup_names_the_tenant_rule(camunda):
    body = error(camunda.get("/process-definition/key/missing"), 404)
    assert body["message"] == "No matching process definition with key: missing and no tenant-id"


def test_counts_match_the_lists(camunda):
    camunda.deploy("order_review.bpmn")
    camunda.deploy("signals.bpmn")
    for i in range(3):
        camunda.start("order_review", {"n": {"value": i}}, business_key=f"b-{i}")
    for path, expected in [("/deployment", 2), ("/process-definition", 3), ("/process-instance", 3),
                           ("/task", 3), ("/history/process-instance", 3), ("/external-task", 0),
                           ("/process-definition?latestVersion=true&key=order_review", 1),
                           ("/process-instance?businessKey=b-1", 1), ("/process-instance?variables=n_gteq_1", 2)]:
        listed = camunda.get(path).get_json()
        base, _, query = path.partition("?")
        counted = camunda.get(f"{base}/count" + (f"?{query}" if query else "")).get_json()
        assert len(listed) == counted["count"] == expected, path
    assert camunda.get("/process-instance?maxResults=2&firstResult=2").get_json().__len__() == 1


def test_a_form_field_without_a_file_name_is_refused(camunda):
    body, content_type = modeler_form([("deployment-name", "x"), ("diagram", "<xml/>")], [])
    response = camunda.post("/deployment/create", data=body, content_type=content_type)
    assert "No file name found" in error(response, 400)["message"]
    body, content_type = modeler_form([("deployment-name", "x")], [])
    response = camunda.post("/deployment/create", data=body, content_type=content_type)
    assert error(response, 400)["message"] == "No deployment resources contained in the form upload."


def test_without_filtering_every_deploy_is_a_new_version(camunda):
    path = diagram("order_review.bpmn")
    versions = []
    for _ in range(2):
        body, content_type = modeler_form([("deployment-name", "plain")], [(path.name, path.read_bytes(), "text/xml")])
        response = camunda.post("/deployment/create", data=body, content_type=content_type)
        versions += [d["version"] for d in response.get_json()["deployedProcessDefinitions"].values()]
    assert versions == [1, 2]


def test_duplicate_filtering_looks_at_every_resource(camunda):
    first = camunda.deploy("order_review.bpmn", extra_files=[("notes.txt", b"one")]).get_json()
    # enable-duplicate-filtering: one changed file redeploys everything, with a new version
    changed = camunda.deploy("order_review.bpmn", extra_files=[("notes.txt", b"two")]).get_json()
    assert changed["id"] != first["id"]
    assert [d["version"] for d in changed["deployedProcessDefinitions"].values()] == [2]
    # deploy-changed-only: only the changed attachment is deployed; no definition comes of it
    only = camunda.deploy("order_review.bpmn", filtering="deploy-changed-only",
                          extra_files=[("notes.txt", b"three")]).get_json()
    assert only["id"] != changed["id"] and only["deployedProcessDefinitions"] is None
    assert camunda.get("/process-definition/count?key=order_review").get_json() == {"count": 2}
    # another source or tenant is another deployment history
    other = camunda.deploy("order_review.bpmn", tenant="acme", extra_files=[("notes.txt", b"three")]).get_json()
    assert other["tenantId"] == "acme" and other["deployedProcessDefinitions"]


def test_raw_bytes_named_resource_0_are_recognised_as_bpmn(camunda):
    """pycamunda names bytes resources `resource-0`, without a suffix."""
    content = diagram("order_review.bpmn").read_bytes()
    body, content_type = modeler_form([("deployment-name", "bytes")], [("resource-0", content, "text/xml")])
    deployed = camunda.post("/deployment/create", data=body, content_type=content_type).get_json()
    [definition] = deployed["deployedProcessDefinitions"].values()
    assert definition["resource"] == "resource-0.bpmn"


def test_deployment_get_list_and_delete(camunda):
    deployed = camunda.deploy("order_review.bpmn").get_json()
    shown = camunda.get(f"/deployment/{deployed['id']}").get_json()
    assert shown["id"] == deployed["id"] and shown["links"] == []
    assert camunda.get("/deployment?nameLike=order%25").get_json()[0]["id"] == deployed["id"]
    assert camunda.get("/deployment?source=elsewhere").get_json() == []
    instance = camunda.start("order_review")
    error(camunda.delete(f"/deployment/{deployed['id']}"), 400)  # instances use it
    assert camunda.delete(f"/deployment/{deployed['id']}?cascade=true").status_code == 204
    error(camunda.get(f"/deployment/{deployed['id']}"), 404)
    error(camunda.get(f"/history/process-instance/{instance['id']}"), 404)
    error(camunda.post(f"/process-definition/{deployed['id']}/start", json={}), 404)


def test_definition_xml_and_start_form(camunda):
    camunda.deploy("order_review.bpmn")
    definition = camunda.get("/process-definition/key/order_review").get_json()
    assert set(definition) >= {"id", "key", "category", "description", "name", "version", "resource",
                               "deploymentId", "diagram", "suspended", "tenantId", "versionTag",
                               "historyTimeToLive", "startableInTasklist"}
    xml = camunda.get(f"/process-definition/{definition['id']}/xml").get_json()
    assert xml["id"] == definition["id"] and xml["bpmn20Xml"].startswith("<?xml")
    assert camunda.get("/process-definition/key/order_review/form-variables").get_json() == {}


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("post", f"/task/{TASK}/claim", {"userId": ["a"]}, "userId"),
    ("post", f"/task/{TASK}/assignee", {"userId": 2**63}, "userId"),
    ("post", "/external-task/fetchAndLock", {"workerId": "w", "topics": [{"topicName": "t", "variables": 5}]},
     "variables"),
    ("post", "/external-task/fetchAndLock", {"workerId": "w", "topics": [{"topicName": "t", "variables": [{}]}]},
     "variables"),
    ("post", f"/external-task/{TASK}/failure", {"workerId": "w", "errorMessage": {"a": 1}}, "errorMessage"),
    ("post", f"/external-task/{TASK}/failure", {"workerId": "w", "errorDetails": [1]}, "errorDetails"),
    ("post", f"/external-task/{TASK}/bpmnError", {"workerId": "w", "errorCode": "e", "errorMessage": {}},
     "errorMessage"),
    ("put", f"/external-task/{TASK}/retries", {"retries": 2**63}, "retries"),
    ("put", f"/external-task/{TASK}/retries", {"retries": True}, "retries"),
])
def test_more_fields_of_the_wrong_type_or_size_are_400_naming_them(camunda, method, path, body, field):
    """Found by probing every route with mutated bodies: each was a 500 (`retries: true` was taken as 1)."""
    assert field in error(camunda.request(method.upper(), path, json=body), 400)["message"]


@pytest.mark.parametrize("query", [
    "/deployment?after=2026-13-45T10:00:00", "/history/process-instance?startedAfter=2026-02-30T10:00:00",
    "/history/process-instance/count?finishedBefore=0000-01-01T00:00:00", "/deployment?before=2026-01-01T10:00:00+9999",
    "/deployment?firstResult=9223372036854775808", "/process-definition?version=9223372036854775808",
    "/process-instance?maxResults=-9223372036854775809", "/task?firstResult=2147483648",
    "/external-task?firstResult=9223372036854775808", "/history/process-instance?firstResult=9223372036854775808",
])
def test_query_parameters_that_are_no_real_date_or_too_large_are_400(camunda, query):
    error(camunda.get(query), 400)


def test_a_variable_condition_nested_a_thousand_deep_is_matched_as_text(camunda):
    assert camunda.get("/process-instance?variables=x_eq_" + "[" * 1200).get_json() == []


def test_a_body_of_another_content_type_is_checked_like_a_json_one(camunda):
    """json_body() reads any content type; the app's check of JSON bodies only sees `application/json`."""
    deep = "[" * 5000 + "]" * 5000
    for data in (deep, '{"name": "s", "variables": {"x": {"value": NaN}}}'):
        response = camunda.post("/signal", data=data, content_type="text/plain")
        assert "request body" in error(response, 400)["message"]


def test_methods_no_route_takes_answer_in_camundas_shape(camunda):
    for method in ("PATCH", "TRACE"):
        response = camunda.request(method, "/task")
        assert response.status_code == 404 and response.get_json()["type"] == "RestException"

"""The OpenAPI document is generated from the code, served, and describes the real routes."""


def test_openapi_document_lists_the_api(anonymous_api, app):
    response = anonymous_api.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path in ("/api/v1/deployments", "/api/v1/process-instances", "/api/v1/process-instances/{instance_id}",
                 "/api/v1/tasks/{task_id}/complete", "/api/v1/messages", "/api/v1/tokens"):
        assert path in paths, path
    flask_rules = {r.rule.replace("<", "{").replace(">", "}") for r in app.url_map.iter_rules()
                   if r.rule.startswith("/api/v1/") and "openapi" not in r.rule and "docs" not in r.rule}
    assert flask_rules <= set(paths), flask_rules - set(paths)


def test_docs_page_is_served(anonymous_api):
    response = anonymous_api.get("/api/v1/docs")
    assert response.status_code == 200
    assert b"swagger" in response.data.lower()
    assets = anonymous_api.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert assets.status_code == 200 and len(assets.data) > 100_000


def test_request_bodies_are_validated_against_the_schema(admin_api):
    response = admin_api.post("/api/v1/process-instances", json={"definition_key": "x", "surprise": 1})
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "surprise" in response.get_json()["detail"]
    response = admin_api.post("/api/v1/process-instances", json={"definition_key": "x", "variables": [1, 2]})
    assert response.status_code == 422
    assert "variables" in response.get_json()["detail"]


def test_unknown_route_is_a_problem_document(admin_api):
    response = admin_api.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"

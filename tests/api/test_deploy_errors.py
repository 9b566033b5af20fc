"""POST /api/v1/deployments with diagrams that cannot run: a 4xx problem document, nothing stored.

Every refusal is `application/problem+json`; a refused diagram is a 422 whose `problems` name the
file, the element id and its source line; no upload ever yields a 5xx.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.conftest import DIAGRAMS

INVALID = DIAGRAMS / "invalid"
VALID = DIAGRAMS / "valid"
PROBLEM_JSON = "application/problem+json"
MB = 1024 * 1024


def line_of(path: Path, text: str) -> int:
    """The 1-based line of the first occurrence of `text`: the expected `line` of a problem."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path.name}")


def upload(api, *files: tuple[str, bytes]):
    data = {"file": [(io.BytesIO(content), name) for name, content in files]}
    return api.post("/api/v1/deployments", data=data, content_type="multipart/form-data")


def refused(response, status: int = 422) -> dict:
    assert response.status_code == status, (response.status_code, response.get_json())
    assert response.headers["Content-Type"] == PROBLEM_JSON
    body = response.get_json()
    assert body["status"] == status and body["title"]
    return body


def assert_nothing_stored(api) -> None:
    assert api.get("/api/v1/deployments").get_json()["total"] == 0
    assert api.get("/api/v1/process-definitions").get_json()["total"] == 0


def only_problem(body: dict) -> dict:
    assert len(body["problems"]) == 1, body["problems"]
    return body["problems"][0]


# -- diagrams that cannot be executed ------------------------------------------------------------

@pytest.mark.parametrize(("name", "element_id", "reason"), [
    ("plain_condition_syntax.bpmn", "big", "expression 'amount >' does not compile"),
    ("camunda_condition_syntax.bpmn", "approved", "expression '${a &&}' does not compile"),
    ("script_syntax_error.bpmn", "compute", "SyntaxError"),
    ("script_import_os.bpmn", "escape", "import statements are not allowed"),
    ("script_javascript.bpmn", "greet", "script format 'javascript' is not supported"),
    ("flow_missing_target.bpmn", "to_review", "targetRef 'review' is not an element"),
    ("not_executable.bpmn", "sketch", "is not executable"),
    ("camunda_java_bean.bpmn", "bean_says_yes", "Camunda would call a Java bean here"),
    ("broken_table.dmn", "gold_discount", "Malformed Output Expression"),
])
def test_diagram_that_cannot_run_is_refused_with_element_and_line(admin_api, name, element_id, reason):
    path = INVALID / name
    body = refused(admin_api.deploy(path, expect=None))
    problem = only_problem(body)
    assert problem["file"] == name
    assert problem["element_id"] == element_id
    assert problem["line"] == line_of(path, f'id="{element_id}"')
    assert reason in problem["reason"]
    assert name in body["detail"] and element_id in body["detail"]
    assert_nothing_stored(admin_api)


def test_java_delegates_are_refused(admin_api):
    path = INVALID / "camunda_java_delegate.bpmn"
    problems = refused(admin_api.deploy(path, expect=None))["problems"]
    assert [(p["element_id"], p["line"]) for p in problems] == [
        ("call_bean", line_of(path, 'id="call_bean"')), ("call_class", line_of(path, 'id="call_class"'))]
    assert_nothing_stored(admin_api)


def test_duplicate_process_ids_in_one_deployment(admin_api):
    a, b = INVALID / "duplicate_process_a.bpmn", INVALID / "duplicate_process_b.bpmn"
    problem = only_problem(refused(admin_api.deploy(a, b, expect=None)))
    assert (problem["file"], problem["element_id"], problem["line"]) == (b.name, "shared", line_of(b, 'id="shared"'))
    assert "unique" in problem["reason"] and a.name in problem["reason"]
    assert_nothing_stored(admin_api)


def test_one_bad_file_keeps_the_good_one_out_too(admin_api):
    body = refused(admin_api.deploy(VALID / "plain_python_condition.bpmn", INVALID / "script_import_os.bpmn",
                                    expect=None))
    assert [p["file"] for p in body["problems"]] == ["script_import_os.bpmn"]
    assert_nothing_stored(admin_api)


# -- files that are not diagrams, or are dangerous -----------------------------------------------

@pytest.mark.parametrize(("name", "reason", "line_text"), [
    ("malformed.bpmn", "malformed XML", "</bpmn:process>"),
    ("malformed.dmn", "malformed XML", "</rule>"),
    ("xxe_file.bpmn", "DOCTYPE declaration is not allowed", "<!DOCTYPE"),
    ("xxe_http.bpmn", "DOCTYPE declaration is not allowed", "<!DOCTYPE"),
    ("billion_laughs.bpmn", "DOCTYPE declaration is not allowed", "<!DOCTYPE"),
    ("not_bpmn.bpmn", "not a BPMN 2.0 or DMN document", "<svg"),
])
def test_unreadable_or_unsafe_xml_is_refused(admin_api, name, reason, line_text):
    path = INVALID / name
    problem = only_problem(refused(admin_api.deploy(path, expect=None)))
    assert problem["file"] == name and problem["element_id"] is None
    assert problem["line"] == line_of(path, line_text)
    assert reason in problem["reason"]
    assert_nothing_stored(admin_api)


def test_xxe_never_leaks_the_file(admin_api):
    response = admin_api.deploy(INVALID / "xxe_file.bpmn", expect=None)
    assert b"root:" not in response.data
    assert_nothing_stored(admin_api)


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "the file is empty"),
    (bytes(range(256)) * 16, "not an XML document"),
])
def test_empty_or_binary_bpmn_file(admin_api, content, reason):
    problem = only_problem(refused(upload(admin_api, ("junk.bpmn", content))))
    assert problem["file"] == "junk.bpmn" and reason in problem["reason"]
    assert_nothing_stored(admin_api)


def test_xml_that_is_not_bpmn_by_name(admin_api):
    body = refused(upload(admin_api, ("notes.xml", b"<notes><note>hi</note></notes>")))
    assert "no .bpmn or .dmn file" in body["detail"]
    assert_nothing_stored(admin_api)


def test_upload_without_file_parts(admin_api):
    body = refused(admin_api.post("/api/v1/deployments", data={"name": "nothing"},
                                  content_type="multipart/form-data"), 400)
    assert "multipart/form-data file parts" in body["detail"]
    body = refused(admin_api.post("/api/v1/deployments", json={"file": "order.bpmn"}), 400)
    assert "multipart/form-data" in body["detail"]
    assert_nothing_stored(admin_api)


# -- size limits ---------------------------------------------------------------------------------

def _padded_diagram(size: int) -> bytes:
    """A valid diagram grown to `size` bytes with documentation text."""
    text = (VALID / "plain_python_condition.bpmn").read_bytes()
    marker = b'<bpmn:startEvent id="start">'
    padding = size - len(text) - len(b"<bpmn:documentation></bpmn:documentation>")
    documentation = b"<bpmn:documentation>" + b"x" * padding + b"</bpmn:documentation>"
    return text.replace(marker, marker + documentation)


def test_diagram_over_the_diagram_limit_but_under_the_request_limit(admin_api, settings):
    content = _padded_diagram(6 * MB)
    assert settings.max_diagram_bytes < len(content) < settings.max_upload_bytes
    problem = only_problem(refused(upload(admin_api, ("big.bpmn", content))))
    assert problem["file"] == "big.bpmn"
    assert f"{settings.max_diagram_bytes:,} bytes" in problem["reason"]
    assert_nothing_stored(admin_api)


def test_upload_over_the_request_limit(admin_api, settings):
    response = upload(admin_api, ("huge.bpmn", b"<" + b"x" * (50 * MB)))
    body = refused(response, 413)
    assert str(settings.max_upload_bytes) in body["detail"]
    assert_nothing_stored(admin_api)


# -- what must deploy ----------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "key", "dialect"), [
    ("plain_python_condition.bpmn", "plain_condition", "plain"),
    ("spiff_instructions.bpmn", "spiff_instructions", "spiff"),
    ("camunda_connector.bpmn", "camunda_connector", "camunda"),
])
def test_valid_diagrams_deploy_in_their_dialect(admin_api, name, key, dialect):
    deployed = admin_api.deploy(VALID / name).get_json()
    [definition] = deployed["definitions"]
    assert definition["key"] == key
    fetched = admin_api.get(f"/api/v1/process-definitions/{definition['id']}")
    assert fetched.status_code == 200
    assert fetched.get_json()["dialect"] == dialect


def test_plain_condition_runs_as_python(admin_api):
    admin_api.deploy(VALID / "plain_python_condition.bpmn")
    big = admin_api.start("plain_condition", {"amount": 500, "customer": {"tier": "gold"}})
    small = admin_api.start("plain_condition", {"amount": 5, "customer": {}})
    assert big["status"] == small["status"] == "completed"
    assert big["variables"].get("size") == "big" and "size" not in small["variables"]

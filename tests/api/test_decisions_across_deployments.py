"""Decisions deployed on their own are found by later diagrams, as Camunda resolves decisionRef by key.

Camunda Modeler deploys one file at a time: the DMN first, then the BPMN that names its decision.
"""

from __future__ import annotations

import io

from tests.bpmn.decision_diagrams import bpmn, dmn
from tests.conftest import DIAGRAMS

COVERAGE = DIAGRAMS / "coverage"


def upload(api, *files: tuple[str, bytes]):
    data = {"file": [(io.BytesIO(content), name) for name, content in files]}
    return api.post("/api/v1/deployments", data=data, content_type="multipart/form-data")


def test_a_decision_deployed_alone_is_used_by_a_later_diagram(admin_api):
    assert admin_api.deploy(COVERAGE / "discount.dmn").status_code in (200, 201)
    admin_api.deploy(COVERAGE / "business_rule_camunda.bpmn")
    admin_api.deploy(COVERAGE / "business_rule_spiff.bpmn")
    assert admin_api.start("cov_rule_camunda", {"category": "gold", "amount": 150})["variables"]["discount"] == 15
    assert admin_api.start("cov_rule_spiff", {"category": "gold", "amount": 50})["variables"]["discount"] == 5


def test_the_latest_dmn_holding_the_decision_wins_and_versions_keep_theirs(admin_api):
    def table(small: str) -> bytes:
        return dmn("size", "FIRST", [("n", "number")], [("size", "string")],
                   [(["< 10"], [small]), (["-"], ['"big"'])])

    assert upload(admin_api, ("size.dmn", table('"small"'))).status_code == 201
    assert upload(admin_api, ("other.dmn", dmn("other", "FIRST", [("n", "number")], [("x", "string")],
                                                [(["-"], ['"x"'])]))).status_code == 201
    first = upload(admin_api, ("p.bpmn", bpmn("p_size", "size")))
    assert first.status_code == 201
    assert admin_api.start("p_size", {"n": 1})["variables"]["size"] == "small"
    assert upload(admin_api, ("size.dmn", table('"tiny"'))).status_code == 201
    # the definition keeps the decision it was deployed with ...
    assert admin_api.start("p_size", {"n": 1})["variables"]["size"] == "small"
    # ... and deploying the unchanged diagram again makes a new version with the new decision
    again = upload(admin_api, ("p.bpmn", bpmn("p_size", "size")))
    assert again.status_code == 201
    assert admin_api.start("p_size", {"n": 1})["variables"]["size"] == "tiny"


def test_a_decision_nobody_deployed_is_refused_naming_the_task(admin_api):
    response = upload(admin_api, ("p.bpmn", bpmn("p_none", "nowhere")))
    assert response.status_code == 422
    [problem] = response.get_json()["problems"]
    assert problem["element_id"] == "decide" and "'nowhere'" in problem["reason"]


def test_deploying_the_diagram_with_a_changed_table_makes_a_new_version(admin_api):
    admin_api.deploy(COVERAGE / "business_rule_camunda.bpmn", COVERAGE / "discount.dmn")
    changed = (COVERAGE / "discount.dmn").read_bytes().replace(b"<text>15</text>", b"<text>20</text>")
    response = upload(admin_api, ("business_rule_camunda.bpmn", (COVERAGE / "business_rule_camunda.bpmn").read_bytes()),
                      ("discount.dmn", changed))
    assert response.status_code == 201
    assert admin_api.start("cov_rule_camunda", {"category": "gold", "amount": 150})["variables"]["discount"] == 20


def test_a_broken_input_entry_is_a_422_naming_decision_rule_and_entry(admin_api):
    table = dmn("d", "FIRST", [("v", "number")], [("r", "string")], [(["[1..5"], ['"hit"'])])
    response = upload(admin_api, ("d.dmn", table))
    assert response.status_code == 422
    [problem] = response.get_json()["problems"]
    assert problem["element_id"] == "r0i0" and "decision 'd'" in problem["reason"] and "rule 'r0'" in problem["reason"]


def test_a_unique_table_with_two_matches_is_an_incident_naming_the_decision(admin_api):
    table = dmn("u", "UNIQUE", [("n", "number")], [("s", "string")], [([">= 1"], ['"a"']), ([">= 2"], ['"b"'])])
    assert upload(admin_api, ("u.dmn", table), ("u.bpmn", bpmn("p_u", "u"))).status_code == 201
    started = admin_api.start("p_u", {"n": 5})
    [incident] = started["incidents"]
    assert started["status"] == "error" and incident["bpmn_id"] == "decide"
    assert "decision 'u'" in incident["message"] and "'r0', 'r1'" in incident["message"]

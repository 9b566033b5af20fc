"""Which stored DMN file a business rule task's decisionRef resolves to, and what that costs.

One upload cannot define a decision id twice (Camunda refuses such a deployment too: "definitions
with the same key"); across deployments the newest file holding the id wins, whatever it is
called; a file's decision ids are read once per content, not on every deployment that looks.
"""

from __future__ import annotations

import io

from server.services import deployments
from tests.bpmn.decision_diagrams import bpmn, dmn


def upload(api, *files: tuple[str, bytes]):
    data = {"file": [(io.BytesIO(content), name) for name, content in files]}
    return api.post("/api/v1/deployments", data=data, content_type="multipart/form-data")


def table(did: str, answer: str) -> bytes:
    return dmn(did, "FIRST", [("n", "number")], [("answer", "string")], [(["-"], [f'"{answer}"'])])


def test_two_files_of_one_upload_defining_a_decision_are_a_422_naming_both(admin_api):
    response = upload(admin_api, ("a.dmn", table("same", "a")), ("b.dmn", table("same", "b")))
    assert response.status_code == 422, response.get_json()
    [problem] = response.get_json()["problems"]
    assert problem["element_id"] == "same"
    named = {problem["file"], *[n for n in ("a.dmn", "b.dmn") if n in problem["reason"]]}
    assert named == {"a.dmn", "b.dmn"}, problem


def test_the_newest_file_holding_the_decision_wins_whatever_its_name(admin_api):
    assert upload(admin_api, ("zz_old.dmn", table("answer", "old"))).status_code == 201
    assert upload(admin_api, ("aa_new.dmn", table("answer", "new"))).status_code == 201
    assert upload(admin_api, ("other.dmn", table("unrelated", "x"))).status_code == 201
    assert upload(admin_api, ("p.bpmn", bpmn("p_answer", "answer"))).status_code == 201
    assert admin_api.start("p_answer", {"n": 1})["variables"]["answer"] == "new"


def test_a_dmn_file_is_read_once_for_its_decision_ids(admin_api, cafe, monkeypatch):
    for n in range(4):
        assert upload(admin_api, (f"d{n}.dmn", table(f"dec{n}", str(n)))).status_code == 201
    read = []
    original = deployments._decision_ids
    monkeypatch.setattr(deployments, "_decision_ids",
                        lambda name, content: read.append(name) or original(name, content))
    with cafe.db.transaction() as session:
        assert deployments.decision_xml(session, "dec0")[0] == "d0.dmn"
        first = len(read)
        assert deployments.decision_xml(session, "dec0")[0] == "d0.dmn"
        assert deployments.decision_xml(session, "dec2")[0] == "d2.dmn"
        assert deployments.decision_xml(session, "nobody") is None
    assert len(read) == first, read  # every later lookup answers from the ids already read

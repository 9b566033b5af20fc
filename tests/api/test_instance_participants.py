"""Instance visibility through `instance_participants`: who took part in an instance sees it in
the instance search and by id, for good (server/access.py), with filters that follow the
instance's status, and pages and capped totals without duplicates when two of the caller's
parties (themselves and a group) reach the same instance (services/instance_search.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.access import Principal
from server.models import InstanceParticipant
from server.services import instances
from tests.api.engine_support import diagram

INSTANCES = "/api/v1/process-instances"
TASKS = "/api/v1/tasks"


def listed(api, query: str = "") -> tuple[list[str], dict]:
    response = api.get(f"{INSTANCES}?{'' if 'limit=' in query else 'limit=200'}{query}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return [i["id"] for i in body["items"]], body


def sees(api, instance_id: str) -> bool:
    status = api.get(f"{INSTANCES}/{instance_id}").status_code
    assert status in (200, 404)
    return status == 200


def complete(api, task_id: str) -> None:
    response = api.post(f"{TASKS}/{task_id}/complete", json={"variables": {}})
    assert response.status_code == 200, response.get_json()


def open_task(admin_api, instance_id: str) -> str:
    [task] = admin_api.get(f"{TASKS}?instance_id={instance_id}").get_json()["items"]
    return task["id"]


@pytest.fixture
def claims(admin_api):
    """claims.bpmn: "handle" for the group clerks and the user carl, then "audit" for auditors."""
    admin_api.deploy(diagram("claims.bpmn"))
    return admin_api


def test_group_candidate_sees_the_instance_also_after_a_colleague_completed_the_task(claims, user_api):
    cleo = user_api("cleo", groups=["clerks"])
    clara = user_api("clara", groups=["clerks"])
    stranger = user_api("uma", groups=["cooks"])
    iid = claims.start("claims")["id"]
    assert listed(cleo)[0] == [iid] and sees(cleo, iid)
    assert listed(stranger)[0] == [] and not sees(stranger, iid)

    complete(clara, open_task(claims, iid))  # "audit" is for auditors now: no task names clerks
    assert listed(cleo)[0] == [iid] and sees(cleo, iid)
    assert listed(cleo, "&status=waiting")[0] == [iid]
    assert listed(stranger)[0] == [] and not sees(stranger, iid)


def test_assignee_sees_the_instance_and_the_status_filter_follows_it(claims, user_api):
    asa = user_api("asa")  # in no group: sees the instance only as the assignee
    otto = user_api("otto", groups=["auditors"])
    iid = claims.start("claims")["id"]
    assert listed(asa)[0] == [] and not sees(asa, iid)
    complete(claims, open_task(claims, iid))
    response = claims.put(f"{TASKS}/{open_task(claims, iid)}/assignee", json={"user": "asa"})
    assert response.status_code == 200, response.get_json()
    assert listed(asa)[0] == [iid] and sees(asa, iid)
    assert listed(otto, "&status=waiting")[0] == [iid]

    complete(asa, open_task(claims, iid))
    assert claims.get(f"{INSTANCES}/{iid}").get_json()["status"] == "completed"
    for member in (asa, otto):
        assert listed(member, "&status=completed")[0] == [iid]
        assert listed(member, "&status=waiting")[0] == []
        assert listed(member, "&status=completed&definition_key=claims")[0] == [iid]
        assert listed(member, "&status=completed&definition_key=other")[0] == []


def test_terminated_status_reaches_the_candidates_rows(claims, user_api):
    cleo = user_api("cleo", groups=["clerks"])
    iid = claims.start("claims")["id"]
    assert claims.delete(f"{INSTANCES}/{iid}").status_code == 200
    assert listed(cleo, "&status=terminated")[0] == [iid]
    assert listed(cleo, "&status=waiting")[0] == []


def test_pages_and_totals_over_two_parties_without_duplicates(claims, user_api, cafe):
    """mo is a clerk and starts some instances himself: those are his through both parties."""
    mo = user_api("mo", groups=["clerks"])
    started = []
    for n in range(8):
        starter = mo if n % 2 else claims
        started.append(starter.start("claims", business_key=f"claim-{n}")["id"])
    newest_first, _ = listed(claims, "&definition_key=claims")
    assert set(newest_first) == set(started)

    ids, body = listed(mo)
    assert ids == newest_first and body["total"] == 8 and body["total_exact"]
    pages = [listed(mo, f"&limit=3&offset={offset}") for offset in (0, 3, 6, 9)]
    assert [ids for ids, _ in pages] == [newest_first[0:3], newest_first[3:6], newest_first[6:8], []]
    assert {body["total"] for _, body in pages} == {8}
    assert listed(mo, "&started_by=mo")[0] == [i for i in newest_first if i in started[1::2]]
    assert listed(mo, "&business_key=claim-3")[0] == [started[3]]
    assert listed(mo, "&business_key=claim-3&started_by=admin")[0] == []

    mo_principal = Principal("mo", groups=("clerks",))
    with cafe.db.read() as session:
        for cap, expected in ((3, 4), (7, 8), (8, 8), (100, 8)):  # cap + 1 means "more than cap"
            rows, total = instances.search(session, mo_principal, instances.InstanceFilter(
                limit=2, offset=1, count_cap=cap))
            assert [r.id for r in rows] == newest_first[1:3] and total == expected
        rows, total = instances.search(session, mo_principal, instances.InstanceFilter(offset=7, count_cap=3))
        assert [r.id for r in rows] == newest_first[7:] and total == 4


def test_participant_rows_name_starter_candidates_assignee_and_history(claims, user_api, cafe):
    user_api("carl")
    clara = user_api("clara", groups=["clerks"])
    iid = claims.start("claims")["id"]
    response = clara.post(f"{TASKS}/{open_task(claims, iid)}/claim")
    assert response.status_code == 200, response.get_json()
    complete(clara, open_task(claims, iid))
    with cafe.db.read() as session:
        rows = session.execute(select(InstanceParticipant.party_kind, InstanceParticipant.party_name,
                                      InstanceParticipant.status)
                               .where(InstanceParticipant.instance_id == iid)).all()
    assert sorted(rows) == [("group", "auditors", "waiting"), ("group", "clerks", "waiting"),
                            ("user", "admin", "waiting"), ("user", "carl", "waiting"),
                            ("user", "clara", "waiting")]

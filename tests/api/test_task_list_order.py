"""The task list's order, pages and totals as it is read from queues (services/task_search.py): a
member's group queue without the tasks others hold, their whole list merged from the tasks they
hold, their own queue and their groups' queues without duplicates, and an admin's list by
definition key, each oldest first across pages, with totals counted up to a cap."""

from __future__ import annotations

import pytest

from server.access import Principal
from server.services import tasks

TASKS = "/api/v1/tasks"

# One user task whose assignee and candidates come from the start variables.
DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_{key}"
                  targetNamespace="http://processcafe.test/engine">
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="work" name="Work" camunda:assignee="${{assignee}}"
                   camunda:candidateUsers="${{users}}" camunda:candidateGroups="${{groups}}">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

# (definition key, candidate users, candidate groups, assignee), started in this order; mo is
# in clerks and auditors, ann in clerks
TASK_SPECS = [
    ("queue_a", "", "clerks", ""),            # 0: mo's through clerks
    ("queue_b", "", "clerks", "ann"),         # 1: a clerk's task ann holds: not mo's
    ("queue_a", "mo", "", ""),                # 2: mo's by name
    ("queue_b", "", "clerks", "mo"),          # 3: mo holds it
    ("queue_a", "", "auditors", ""),          # 4: mo's through auditors
    ("queue_b", "", "clerks,auditors", ""),   # 5: through both of mo's groups
    ("queue_a", "", "cooks", "mo"),           # 6: held by mo, who is no cook
    ("queue_b", "", "cooks", ""),             # 7: not mo's
    ("queue_a", "mo", "clerks", ""),          # 8: mo's by name and through clerks
    ("queue_b", "", "clerks", ""),            # 9
    ("queue_a", "ann", "cooks", ""),          # 10: not mo's
    ("queue_b", "", "clerks", ""),            # 11
]

MO = Principal("mo", groups=("clerks", "auditors"))


@pytest.fixture
def started(admin_api, user_api, tmp_path) -> list[str]:
    """The task ids of TASK_SPECS, oldest first."""
    for key in ("queue_a", "queue_b"):
        path = tmp_path / f"{key}.bpmn"
        path.write_text(DIAGRAM.format(key=key))
        admin_api.deploy(path)
    user_api("ann", groups=["clerks"])
    ids = []
    for key, users, groups, assignee in TASK_SPECS:
        [task] = admin_api.start(key, {"users": users, "groups": groups, "assignee": assignee})["tasks"]
        assert task["assignee"] == (assignee or None)
        ids.append(task["id"])
    return ids


def listed(api, query: str) -> tuple[list[str], dict]:
    response = api.get(f"{TASKS}?{query}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return [t["id"] for t in body["items"]], body


def pages(api, query: str, size: int, count: int) -> list[list[str]]:
    """`count` pages of `size`, each checked for the same exact total."""
    result, totals = [], set()
    for n in range(count):
        ids, body = listed(api, f"{query}&limit={size}&offset={n * size}")
        assert body["total_exact"]
        result.append(ids)
        totals.add(body["total"])
    assert len(totals) == 1
    return result


def searched(cafe, principal: Principal, **filters) -> tuple[list[str], int]:
    with cafe.db.read() as session:
        rows, total = tasks.search(session, principal, tasks.TaskFilter(**filters))
        return [r.id for r in rows], total


def test_member_group_queue_in_order_without_others_claims(started, user_api, admin_api, cafe):
    mo, ann = user_api("mo", groups=["clerks", "auditors"]), user_api("ann", groups=["clerks"])
    clerks = [started[i] for i in (0, 3, 5, 8, 9, 11)]  # 1 is ann's; 3, held by mo, stays his
    assert pages(mo, "candidate_group=clerks", 2, 4) == [clerks[0:2], clerks[2:4], clerks[4:6], []]
    assert listed(mo, "candidate_group=clerks")[1]["total"] == 6
    assert listed(mo, "candidate_group=clerks&include_assigned=false")[0] == [
        started[i] for i in (0, 5, 8, 9, 11)]
    assert listed(ann, "candidate_group=clerks")[0] == [started[i] for i in (0, 1, 5, 8, 9, 11)]
    assert listed(admin_api, "candidate_group=clerks")[0] == [started[i] for i in (0, 1, 3, 5, 8, 9, 11)]
    # a queue not his own: only what he holds
    assert listed(mo, "candidate_group=cooks")[0] == [started[6]]
    assert listed(mo, "candidate_user=mo")[0] == [started[2], started[8]]

    for cap, total in ((3, 4), (5, 6), (6, 6), (100, 6), (None, 6)):  # cap + 1: "more than cap"
        assert searched(cafe, MO, candidate_group="clerks", limit=2, offset=1, count_cap=cap) == (clerks[1:3], total)
    assert searched(cafe, MO, candidate_group="clerks", offset=5, count_cap=2) == (clerks[5:], 3)
    assert searched(cafe, MO, candidate_groups=("clerks", "auditors"), count_cap=100) == (
        [started[i] for i in (0, 3, 4, 5, 8, 9, 11)], 7)


def test_member_whole_list_merges_held_named_and_group_tasks(started, user_api, cafe):
    mo = user_api("mo", groups=["clerks", "auditors"])
    mine = [started[i] for i in (0, 2, 3, 4, 5, 6, 8, 9, 11)]  # 5 and 8 reached twice, listed once
    assert pages(mo, "", 4, 4) == [mine[0:4], mine[4:8], mine[8:], []]
    assert listed(mo, "")[1]["total"] == 9
    assert listed(mo, "definition_key=queue_a")[0] == [started[i] for i in (0, 2, 4, 6, 8)]
    assert listed(mo, "mine=true")[0] == [started[3], started[6]]

    for cap, total in ((4, 5), (8, 9), (9, 9), (None, 9)):
        assert searched(cafe, MO, limit=3, offset=2, count_cap=cap) == (mine[2:5], total)
    assert searched(cafe, MO, unassigned=True, count_cap=100) == ([started[i] for i in (0, 2, 4, 5, 8, 9, 11)], 7)
    assert searched(cafe, MO, unassigned=False, count_cap=100) == ([started[3], started[6]], 2)
    assert searched(cafe, MO, instance_id=_instance_of(cafe, started[7]), count_cap=100) == ([], 0)
    assert searched(cafe, MO, instance_id=_instance_of(cafe, started[8]), count_cap=100) == ([started[8]], 1)


def test_admin_list_by_definition_key_in_order(started, admin_api, cafe):
    by_b = [started[i] for i in (1, 3, 5, 7, 9, 11)]
    assert pages(admin_api, "definition_key=queue_b", 4, 3) == [by_b[0:4], by_b[4:], []]
    assert listed(admin_api, "")[0] == started
    assert listed(admin_api, "definition_key=queue_a&candidate_group=cooks")[0] == [started[6], started[10]]
    admin = Principal("admin", ("admins",), is_admin=True)
    for cap, total in ((2, 3), (6, 6), (None, 6)):
        assert searched(cafe, admin, definition_key="queue_b", limit=2, offset=3, count_cap=cap) == (
            by_b[3:5], total)


def _instance_of(cafe, task_id: str) -> str:
    with cafe.db.read() as session:
        return tasks.get_visible(session, Principal("admin", is_admin=True), task_id).instance_id

"""The people a review or image step asks are names that may be users or groups; the server tells
them apart when the step opens. A name that is a group asks the group (also when a user has the
same name: the user named like a group is no candidate of its steps), a name that is only a user
asks that user, and a name that is neither yet is kept as both, so whoever gets it later is asked."""

from __future__ import annotations

from sqlalchemy import select

from bpmn.tasks import UserTaskView
from server.models import TaskCandidate
from server.services.people_asked import sort_people_asked
from tests.conftest import DIAGRAMS

REVIEW = DIAGRAMS / "social" / "review_closing.bpmn"
IMAGE = DIAGRAMS / "social" / "image_share.bpmn"


def open_review(admin_api, reviewers: str) -> dict:
    admin_api.deploy(REVIEW)
    return admin_api.start("review_closing", {"order": 7, "channels": "feed", "reviewers": reviewers,
                                              "wait": "PT1H"})


def task_ids(api) -> list[str]:
    return [t["id"] for t in api.get("/api/v1/tasks").get_json()["items"]]


def candidate_rows(cafe, instance_id: str) -> set[tuple[str, str]]:
    with cafe.db.read() as session:
        rows = session.execute(select(TaskCandidate.kind, TaskCandidate.name)
                               .where(TaskCandidate.instance_id == instance_id))
        return {(row.kind, row.name) for row in rows}


def test_a_user_named_like_a_group_is_no_candidate_of_the_groups_review(admin_api, user_api, cafe):
    rita = user_api("rita", groups=["reviewers"])
    impostor = user_api("reviewers")  # a user account with the group's name, not in the group
    instance = open_review(admin_api, "reviewers")
    [task] = rita.get("/api/v1/tasks").get_json()["items"]
    assert task["type"] == "social.collectReview"
    assert task_ids(impostor) == []
    assert impostor.get(f"/api/v1/tasks/{task['id']}").status_code == 404
    assert impostor.get(f"/api/v1/process-instances/{instance['id']}").status_code == 404
    assert candidate_rows(cafe, instance["id"]) == {("group", "reviewers")}
    review = rita.get(f"/api/v1/tasks/{task['id']}/review").get_json()
    assert review["reviewers"] == ["rita"] and review["may_vote"] is True  # the group's members vote


def test_a_group_named_like_a_user_does_not_see_the_users_image_step(admin_api, user_api, cafe):
    dan = user_api("dan")
    user_api("gina", groups=["dan_team"])
    admin_api.deploy(IMAGE)
    instance = admin_api.start("image_share", {"n": 1, "uploader": "dan,dan_team", "share_to": ""})
    assert len(task_ids(dan)) == 1
    assert candidate_rows(cafe, instance["id"]) == {("user", "dan"), ("group", "dan_team")}
    other = user_api("otto", groups=["dan"])  # a group made later with the user's name
    assert task_ids(other) == []


def test_a_group_written_in_another_case_is_asked_as_it_is_named(admin_api, user_api, cafe):
    tia = user_api("tia", groups=["team"])
    instance = open_review(admin_api, "TEAM")
    assert len(task_ids(tia)) == 1
    assert candidate_rows(cafe, instance["id"]) == {("group", "team")}


def test_a_name_that_is_nobody_yet_asks_whoever_gets_it(admin_api, user_api, cafe):
    instance = open_review(admin_api, "newcomer,night_shift")
    assert candidate_rows(cafe, instance["id"]) == {("user", "newcomer"), ("group", "newcomer"),
                                                    ("user", "night_shift"), ("group", "night_shift")}
    assert len(task_ids(user_api("newcomer"))) == 1
    assert len(task_ids(user_api("nora", groups=["night_shift"]))) == 1


class NoQueries:
    def execute(self, *args, **kwargs):
        raise AssertionError("a plain user task's candidates need no query")


def test_plain_user_tasks_are_written_as_the_diagram_says_without_a_query():
    """candidateUsers and candidateGroups are told apart by the diagram: the hot path reads nothing."""
    view = UserTaskView(id="t", bpmn_id="review", name=None, type="UserTask", lane=None,
                        candidate_users=["reviewers"], candidate_groups=["reviewers"])
    sort_people_asked(NoQueries(), [view])
    assert view.candidate_users == ["reviewers"] and view.candidate_groups == ["reviewers"]

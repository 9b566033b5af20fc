"""Who a review or image step asks, written as candidate users and candidate groups.

A `social.collectReview` step's `reviewers` and a `social.attachImage` step's `uploader` are plain
names: the bpmn layer has no users or groups, so it hands each name over as both a candidate user
and a candidate group (bpmn.tasks.describe_parked_task). Written that way, a user who happens to be
named like a group would be a candidate of every step asked of that group, and a group named like
a user would see that user's steps. The server knows its users and groups, so it sorts the names
when such a step opens, before its open-task and candidate rows are written:

- a name that is a group (in any case, as reviews and access read group names) asks the group,
  written as the group is named; this holds also when a user has the same name, since a diagram
  that names a group means its members, and a user account does not take a group's work over;
- a name that is a user (and no group) asks that user;
- a name that is neither yet stays both, as before: a user or a group created later under that
  name is asked, as a review counts a reviewer who does not exist yet (server.social.outbox).

Plain user tasks are told apart by their diagram (candidateUsers, candidateGroups) and cost no
query here; only the steps that ask people read the names, with one statement.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from bpmn.social import waits_for_people
from bpmn.tasks import UserTaskView

from ..models import Group, User


def sort_people_asked(session: Session, views: Iterable[UserTaskView]) -> None:
    """Set each people step's candidate users and groups (in place) from the names it asks, as
    the module says; other views are left as they are, and without a people step nothing is read."""
    steps = [view for view in views if waits_for_people(view.type)]
    names = {name for view in steps for name in (*view.candidate_users, *view.candidate_groups)}
    if not names:
        return
    groups, users = _known(session, names)
    for view in steps:
        view.candidate_users, view.candidate_groups = _sorted(
            dict.fromkeys((*view.candidate_users, *view.candidate_groups)), groups, users)


def _known(session: Session, names: set[str]) -> tuple[dict[str, str], set[str]]:
    """The groups among `names` (by lower-cased name: their stored name, the exact spelling first)
    and the users among them (user names are matched exactly, as sign-in matches them)."""
    lowered = {name.lower() for name in names}
    found = session.execute(union_all(
        select(literal("group").label("kind"), Group.name.label("name")).where(func.lower(Group.name).in_(lowered)),
        select(literal("user").label("kind"), User.username.label("name")).where(User.username.in_(names)),
    )).all()
    groups: dict[str, str] = {}
    for kind, name in sorted(found, key=lambda row: row.name not in names):  # exact spellings first
        if kind == "group":
            groups.setdefault(name.lower(), name)
    return groups, {name for kind, name in found if kind == "user"}


def _sorted(names: Iterable[str], groups: dict[str, str], users: set[str]) -> tuple[list[str], list[str]]:
    candidate_users: list[str] = []
    candidate_groups: list[str] = []
    for name in names:
        group = groups.get(name.lower())
        if group is not None:
            candidate_groups.append(group)
        elif name in users:
            candidate_users.append(name)
        else:  # nobody yet: whoever is created under this name is asked
            candidate_users.append(name)
            candidate_groups.append(name)
    return list(dict.fromkeys(candidate_users)), list(dict.fromkeys(candidate_groups))

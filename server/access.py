"""Who may see and act on what: every resource-level rule lives here, not in handlers.

Roles: admins may do everything; a plain user may start instances, read definitions,
deployments and channels, and sees an instance they ever took part in: started it, were assigned
a task in it, were a candidate of a task in it (by name or through one of their groups, also
after the task closed), or are named in its history (`instance_visible`, answered from the
`instance_participants` table); a task is seen and worked on by its assignee or, while
unassigned, its candidates. Things a caller may not see answer 404 (not 403), so ids of other
people's work are not confirmed; actions on things they do see but may not do answer 403.

Messages and signals follow the same visibility: a plain user's message or signal reaches only
instances they may see (`instance_visible`), plus the message and signal start events of any
process (starting an instance is open to every user). Admins reach every instance, so an
integration that correlates for everybody (a payment provider's webhook) uses an admin's token.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, or_, select, union_all
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from .models import InstanceParticipant, Media, MediaInstance, MediaUploader, OpenTask, ProcessInstance, TaskCandidate
from .models.participants import GROUP, USER
from .services.errors import Forbidden

WORKER_GROUP = "external-workers"  # members may fetch and finish external tasks, as admins may


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    name: str
    groups: tuple[str, ...] = field(default_factory=tuple)
    is_admin: bool = False


def _names(principal: Principal, candidate) -> ColumnElement[bool]:
    """The candidate row (TaskCandidate or an alias of it) names the caller or one of their groups."""
    return or_(
        and_(candidate.kind == "user", candidate.name == principal.name),
        and_(candidate.kind == "group", candidate.name.in_(principal.groups or ("",))),
    )


def is_candidate(principal: Principal) -> ColumnElement[bool]:
    """SQL condition: the open task names the caller, or one of their groups, as a candidate
    (admins included: the web task list shows an admin the group queue of their own groups).
    An alias, so it never correlates with candidate rows an outer query reads itself."""
    candidate = aliased(TaskCandidate)
    return exists().where(candidate.task_id == OpenTask.id, _names(principal, candidate))


# Task visibility as SQL. `x OR EXISTS (...) OR EXISTS (...)` per row, the obvious form, cannot
# use an index; on a million instances it took seconds per list (bench/tasklist.py). So
# `task_visible` is `id IN (union of index-only scans: assignee, candidate names)`, cheap for one
# task or an instance's few. The task list does not test visibility row by row: it reads the
# caller's queues and held tasks, index ranges in its order (services/task_search.py).
# Inner selects use aliases, so they never correlate with the outer query.
#
# Instance visibility is read from one table, `instance_participants`: a row per user or group
# that ever took part in an instance (server/models/participants.py, kept by
# server/services/participants.py), searched by party (services/instance_search.py).

def _candidate_ids(principal: Principal, column: str):
    """`column` (task_id or instance_id) of the candidate rows naming the caller or their groups,
    as two index-only scans (an OR of the two would need the table)."""
    by_user, by_group = aliased(TaskCandidate), aliased(TaskCandidate)
    return [select(getattr(by_user, column)).where(by_user.kind == "user", by_user.name == principal.name),
            select(getattr(by_group, column)).where(by_group.kind == "group",
                                                    by_group.name.in_(principal.groups or ("",)))]


def visible_task_ids(principal: Principal):
    """Ids of the open tasks a non-admin holds or is a candidate of (held by others included:
    `task_visible` drops those)."""
    held = aliased(OpenTask)
    return union_all(select(held.id).where(held.assignee == principal.name), *_candidate_ids(principal, "task_id"))


def task_visible(principal: Principal) -> ColumnElement[bool]:
    """SQL condition: the open task is assigned to the caller or, unassigned, lists them as a candidate."""
    if principal.is_admin:
        return OpenTask.id.is_not(None)
    return and_(OpenTask.id.in_(visible_task_ids(principal)),
                or_(OpenTask.assignee.is_(None), OpenTask.assignee == principal.name))


def task_visible_each(principal: Principal, known_candidate: bool = False) -> ColumnElement[bool]:
    """`task_visible` tested task by task, for a query that reaches few tasks or reads a queue in
    order (services/task_search.py): held by the caller, or held by nobody and naming the caller
    or a group of theirs (`known_candidate`: the query reads a queue of theirs, so it does)."""
    if principal.is_admin:
        return OpenTask.id.is_not(None)
    unassigned = OpenTask.assignee.is_(None)
    return or_(OpenTask.assignee == principal.name,
               unassigned if known_candidate else and_(unassigned, is_candidate(principal)))


def parties(principal: Principal) -> list[tuple[str, str]]:
    """The (kind, name) parties the caller acts as: themselves and each of their groups."""
    return [(USER, principal.name), *((GROUP, g) for g in dict.fromkeys(principal.groups))]


def _is_party(principal: Principal, participant=InstanceParticipant) -> ColumnElement[bool]:
    """SQL condition: the participant row (InstanceParticipant or an alias) names the caller or
    one of their groups; two ranges of the search indexes."""
    return or_(and_(participant.party_kind == USER, participant.party_name == principal.name),
               and_(participant.party_kind == GROUP, participant.party_name.in_(principal.groups or ("",))))


def visible_instance_ids(principal: Principal):
    """Ids of the instances a non-admin ever took part in: started, was assigned a task in, was a
    candidate of a task in by name or through a group (also after the task closed: the team
    asked stays informed), or is named in the history of (worked on it)."""
    participant = aliased(InstanceParticipant)
    return select(participant.instance_id).where(_is_party(principal, participant))


def instance_visible(principal: Principal) -> ColumnElement[bool]:
    """SQL condition: the caller may see the instance (`visible_instance_ids`); admins see all.
    For one instance, or a few, PostgreSQL probes the participants' primary key per instance."""
    if principal.is_admin:
        return ProcessInstance.id.is_not(None)
    return ProcessInstance.id.in_(visible_instance_ids(principal))


def can_work_on(principal: Principal, task: OpenTask) -> bool:
    """Assignee, or a candidate of an unassigned task; admins always."""
    if principal.is_admin:
        return True
    if task.assignee:
        return task.assignee == principal.name
    return principal.name in (task.candidate_users or []) or bool(
        set(principal.groups) & set(task.candidate_groups or [])
    )


def can_claim(principal: Principal, task: OpenTask) -> bool:
    if principal.is_admin:
        return True
    return principal.name in (task.candidate_users or []) or bool(
        set(principal.groups) & set(task.candidate_groups or [])
    ) or task.assignee == principal.name


def is_visible(session: Session, principal: Principal, instance_id: str) -> bool:
    """The instance exists and the caller may see it (one query)."""
    return session.scalar(select(ProcessInstance.id).where(
        ProcessInstance.id == instance_id, instance_visible(principal))) is not None


def require_admin(principal: Principal, action: str) -> None:
    """403 unless the caller is an admin: deploying, users, channels, variables, retries, assignments."""
    if not principal.is_admin:
        raise Forbidden(f"only administrators may {action}")


def require_worker(principal: Principal) -> None:
    """External workers see the variables of every instance they serve: admins and workers only."""
    if not (principal.is_admin or WORKER_GROUP in principal.groups):
        raise Forbidden(f"only administrators and members of the group {WORKER_GROUP!r} may work on external tasks")


def check_terminate(principal: Principal, instance: ProcessInstance) -> None:
    """Admins end any instance, other users the instances they started (after `instance_visible`)."""
    if not principal.is_admin and instance.started_by != principal.name:
        raise Forbidden("only administrators may terminate instances started by others")


def check_claim(principal: Principal, task: OpenTask, user: str) -> None:
    """Claim for yourself as a candidate (or holder); only admins claim for someone else."""
    if user != principal.name and not principal.is_admin:
        raise Forbidden("only administrators may claim a task for someone else")
    if not can_claim(principal, task):
        raise Forbidden(f"{principal.name} is not a candidate of task {task.id}")


def check_unclaim(principal: Principal, task: OpenTask) -> None:
    """Give back your own task; an admin may take anyone's back to the queue."""
    if task.assignee and task.assignee != principal.name and not principal.is_admin:
        raise Forbidden(f"task {task.id} is assigned to someone else")


def check_token_for(principal: Principal, username: str) -> None:
    """Everybody makes tokens for themselves; only admins for others."""
    if username != principal.name and not principal.is_admin:
        raise Forbidden("only administrators may create tokens for others")


def require_self_or_admin(principal: Principal, username: str, action: str) -> None:
    """A user's own account (their details, password, tokens) is theirs and the admins' to manage.
    Checked before the user is looked up, so the answer does not tell whether `username` exists."""
    if username != principal.name and not principal.is_admin:
        raise Forbidden(f"only administrators may {action} of other users")


def is_listed(principal: Principal, names: Iterable[str]) -> bool:
    """The caller, or one of their groups, is among `names` (users and groups, case-insensitive)."""
    listed = {n.casefold() for n in names}
    return principal.name.casefold() in listed or bool({g.casefold() for g in principal.groups} & listed)


def may_vote(principal: Principal, reviewers: Iterable[str]) -> bool:
    """A review that names reviewers takes their votes only; one that names nobody, everybody's
    (who may see its instance: the API checks that first)."""
    reviewers = list(reviewers or ())
    return not reviewers or is_listed(principal, reviewers)


def may_upload_image(principal: Principal, asked: Iterable[str]) -> bool:
    """An image step takes its image from the people it asks (and admins); a step that asks nobody,
    from anybody who may see its instance (the caller checks `is_visible` first)."""
    asked = list(asked or ())
    return principal.is_admin or not asked or is_listed(principal, asked)


def media_readable(session: Session, principal: Principal, media: Media) -> bool:
    """An image is read by everyone who sent it and by whoever may see any instance it is attached
    to; admins read all. Identical bytes are one row however often they arrive, so one sender or
    one instance cannot decide for the others (the links: server/models/social.py). One query:
    the sender's link by primary key, the attachments' by `ix_media_instances_media`."""
    if principal.is_admin:
        return True
    sent = exists().where(MediaUploader.media_id == media.id, MediaUploader.username == principal.name)
    attached = exists().where(MediaInstance.media_id == media.id,
                              MediaInstance.instance_id.in_(visible_instance_ids(principal)))
    return bool(session.scalar(select(or_(sent, attached))))

"""What a person sees of a ready user task: who may work on it and which form it shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .forms import form_of
from .social import LONGEST_NAME, people_asked

LANE_OWNERS_VARIABLE = "lane_owners"  # SpiffArena's convention: {lane name: [user names]}


@dataclass
class UserTaskView:
    id: str
    bpmn_id: str
    name: str | None
    type: str
    lane: str | None
    assignee: str | None = None
    candidate_users: list[str] = field(default_factory=list)
    candidate_groups: list[str] = field(default_factory=list)
    form: dict | None = None
    documentation: str | None = None
    extensions: dict = field(default_factory=dict)
    due: str | None = None
    priority: int | None = None


MAX_PARTY = 120  # characters of a user or group name, as stored
PRIORITY_RANGE = (-(2**31), 2**31 - 1)


def _party(name: str) -> str:
    """A user or group name as evaluated, kept to what a name can be: a longer one (from an
    expression; literal ones are refused at deploy) matches no one, and its end shows it was cut."""
    return name if len(name) <= MAX_PARTY else name[:MAX_PARTY - 1] + "\u2026"


def _split(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return [_party(str(v).strip()) for v in value if str(v).strip()]
    return [_party(part.strip()) for part in str(value).split(",") if part.strip()]


def _evaluate(engine, task, text: str | None) -> Any:
    """Assignment attributes may be `${initiator}`-style expressions; plain text is taken as is."""
    if not text:
        return None
    if "${" in text or "#{" in text:
        try:
            return engine.evaluate(task, text)
        except Exception:
            return None
    return text


def describe_parked_task(task, request) -> UserTaskView:
    """A social step waiting for people, as a task: each name asked may be a user or a group.
    A name longer than any user's or group's is no candidate (it names nobody, and the candidate
    table could not hold it); the step itself fails, naming it (bpmn.social.unfit_person)."""
    names = [name for name in people_asked(request.operator, request.params) if len(name) <= LONGEST_NAME]
    return UserTaskView(
        id=str(task.id),
        bpmn_id=task.task_spec.bpmn_id,
        name=task.task_spec.bpmn_name,
        type=request.operator,
        lane=getattr(task.task_spec, "lane", None),
        candidate_users=list(names),
        candidate_groups=list(names),
        documentation=str(request.params.get("message") or request.params.get("caption") or "") or None,
    )


def describe_user_task(task, engine) -> UserTaskView:
    spec = task.task_spec
    extensions = dict(getattr(spec, "extensions", None) or {})
    lane = getattr(spec, "lane", None)
    assignee = _evaluate(engine, task, extensions.get("assignee"))
    users = _split(_evaluate(engine, task, extensions.get("candidateUsers")))
    groups = _split(_evaluate(engine, task, extensions.get("candidateGroups")))
    if lane:
        owners = (task.data.get(LANE_OWNERS_VARIABLE) or {}) if isinstance(task.data, dict) else {}
        lane_users = _split(owners.get(lane)) if isinstance(owners, dict) else []
        if lane_users:
            users.extend(u for u in lane_users if u not in users)
        elif lane not in groups:
            groups.append(lane)
    priority = extensions.get("priority")
    try:
        priority = int(_evaluate(engine, task, priority)) if priority is not None else None
    except (TypeError, ValueError, OverflowError):
        priority = None
    if priority is not None:
        priority = min(max(priority, PRIORITY_RANGE[0]), PRIORITY_RANGE[1])
    return UserTaskView(
        id=str(task.id),
        bpmn_id=spec.bpmn_id,
        name=spec.bpmn_name,
        type=type(spec).__name__,
        lane=lane,
        assignee=_party(str(assignee)) if assignee else None,
        candidate_users=users,
        candidate_groups=groups,
        form=form_of(spec),
        documentation=getattr(spec, "documentation", None),
        extensions={k: v for k, v in extensions.items() if isinstance(v, (str, int, float, bool, dict, list))},
        due=str(_evaluate(engine, task, extensions.get("dueDate")) or "") or None,
        priority=priority,
    )

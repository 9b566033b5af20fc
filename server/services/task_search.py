"""The task list: one page of open tasks, oldest first, and the total (counted up to `count_cap`).

A group's queue may hold 20,000 open tasks, and a member sees all of them that nobody else
holds. Reading the queue's task ids into a hash and walking `open_tasks` in creation order to
test each against it cost 40-100 ms per page (bench/tasklist.py). So a list is read from index
ranges already in its order (created_at, then id), of which it reads the first rows:

- a queue: the candidate rows of one user or group, or of one group and definition key
  (`task_candidates` copies both from its task, models/instances.py). The other filters and
  visibility are tested on each row's task as the range is read: a queue of the caller's own
  needs no more than "held by nobody, or by the caller" (they are a candidate of all of it);
- held tasks, tasks by definition key, all tasks: an index of `open_tasks` (PostgreSQL picks it);
- the tasks of an instance: its few rows, each tested for visibility;
- a plain user's whole list is several ranges: the tasks they hold, and the tasks nobody holds
  of their own queue and of each of their groups' queues.

As for instance search (services/instance_search.py): a page is, per range, the first
offset + limit matching rows; those of all ranges together, without duplicates (a task may name
the user and a group of theirs) and in order, hold the page. The total counts the same merged
stream up to cap + 1 tasks (PostgreSQL merges the ranges in order and stops there): exact below
the cap, "more" otherwise. A page or a total thus reads about cap + 1 rows at most, however long
the queues, unless a filter no index holds (a BPMN id, a definition id) matches few of a queue's
tasks: those are tested task by task, and may read the whole queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, literal, select, union, union_all
from sqlalchemy.orm import Session

from ..access import Principal, parties, task_visible_each
from ..models import OpenTask, TaskCandidate
from . import task_order
from .task_criteria import TaskCriteria


@dataclass
class TaskFilter:
    assignee: str | None = None
    candidate_user: str | None = None
    candidate_group: str | None = None
    mine: bool = False
    instance_id: str | None = None
    definition_key: str | None = None
    bpmn_id: str | None = None
    include_assigned: bool = True
    limit: int = 50
    offset: int = 0
    definition_id: str | None = None
    candidate_groups: tuple[str, ...] = ()  # a candidate of any of these groups
    unassigned: bool | None = None  # True: only unassigned tasks; False: only assigned ones
    count_cap: int | None = None  # count at most this many (+1); None: an exact total (services.counting)
    criteria: TaskCriteria | None = None  # Camunda's further filters (services/task_criteria.py)
    sort: str | None = None  # a key of task_order.SORTS; None: creation order
    descending: bool = False


# Core tables, not the mapped classes: building a statement of ORM attributes costs about as much
# as running it (services/instance_search.py)
TASKS, CANDIDATES = OpenTask.__table__, TaskCandidate.__table__


@dataclass(frozen=True, eq=False)
class _Range:
    """Open tasks in list order: the candidate rows of `party` (kind, name), or without a party
    `open_tasks` itself; of `definition_key` if given, and meeting `conditions` on the task."""

    party: tuple[str, str] | None
    definition_key: str | None
    conditions: tuple[ColumnElement[bool], ...]

    def rows(self, limit: int | None, ordered: bool) -> Select:
        """(task_id, created_at) of the matching tasks, at most `limit`; wrapped as a subquery, as
        SQLite takes no LIMIT on the parts of a UNION."""
        if self.party is None:
            task = TASKS.c
            keyed = (task.definition_key == self.definition_key,) if self.definition_key else ()
            query = select(task.id.label("task_id"), task.created_at).where(*keyed, *self.conditions)
            order = (task.created_at, task.id)
        else:
            row = CANDIDATES.c
            query = select(row.task_id, row.created_at).where(row.kind == self.party[0], row.name == self.party[1])
            if self.definition_key:
                query = query.where(row.definition_key == self.definition_key)
            if self.conditions:
                query = query.where(_each_task(row.task_id, self.conditions, fenced=limit is not None))
            order = (row.created_at, row.task_id)
        if ordered:
            query = query.order_by(*order)
        if limit is not None:
            query = query.limit(limit)
        part = query.subquery()
        return select(part.c.task_id, part.c.created_at)


def _each_task(task_id: ColumnElement, conditions: tuple[ColumnElement[bool], ...],
               fenced: bool) -> ColumnElement[bool]:
    """EXISTS (the task `task_id` meets `conditions`), tested per candidate row as a queue is read:
    a primary key probe each. When the range is read only in part (`fenced`), OFFSET 0 keeps
    PostgreSQL from making it a join, which it answered by hashing every open task (it prices a
    probe as a disk read): 25-40 ms for a page's total, where its 1,400 probes take 6. An exact
    total reads whole queues, and a join is then what PostgreSQL should choose."""
    probe = select(literal(1)).where(TASKS.c.id == task_id, *conditions)
    return (probe.offset(0) if fenced else probe).exists()


def search(session: Session, principal: Principal, flt: TaskFilter) -> tuple[list[OpenTask], int]:
    """One page in creation order (then by id) and the total (exact, or up to `count_cap`).

    With a cap, one statement: the merged stream up to cap + 1 tasks (or to the page's end),
    counted by a window function, with the page cut from it and its tasks read. Only a page past
    the end (no rows to carry the count) needs the count on its own."""
    ranges = _ranges(principal, flt)
    if task_order.needed(flt):  # another order, or filters tested in Python: an exact total
        return task_order.search(session, ranges, flt)
    cap = flt.count_cap
    if cap is not None and flt.limit > 0:
        stream = _stream(ranges, max(cap + 1, flt.offset + flt.limit)).subquery()
        page = (select(stream.c.task_id, stream.c.created_at, func.count().over().label("matched"))
                .order_by(stream.c.created_at, stream.c.task_id).limit(flt.limit).offset(flt.offset).subquery())
        found = session.execute(select(OpenTask, page.c.matched).join(page, OpenTask.id == page.c.task_id)
                                .order_by(page.c.created_at, page.c.task_id)).all()
        if found or flt.offset == 0:
            return [task for task, _ in found], min(found[0].matched, cap + 1) if found else 0
    if cap is None:  # every task of each range, in any order
        parts = [r.rows(None, ordered=False) for r in ranges]
        counted = union(*parts) if len(parts) > 1 else parts[0]
    else:
        counted = _stream(ranges, cap + 1)
    total = session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    if flt.limit <= 0 or (total <= flt.offset and (cap is None or total <= cap)):  # nothing that far
        return [], total
    page = _stream(ranges, flt.offset + flt.limit).limit(flt.limit).offset(flt.offset).subquery()
    rows = session.scalars(select(OpenTask).join(page, OpenTask.id == page.c.task_id)
                           .order_by(page.c.created_at, page.c.task_id))
    return list(rows), total


def _stream(ranges: list[_Range], reach: int) -> Select:
    """The first `reach` tasks of the ranges together, without duplicates, in order: a range on
    its own holds a task once; PostgreSQL merges several in order and stops at `reach`."""
    if len(ranges) == 1:
        return ranges[0].rows(reach, ordered=True)
    merged = union_all(*(r.rows(reach, ordered=True) for r in ranges)).subquery()
    return (select(merged.c.task_id, merged.c.created_at).distinct()
            .order_by(merged.c.created_at, merged.c.task_id).limit(reach))


def _ranges(principal: Principal, flt: TaskFilter) -> list[_Range]:
    """The index ranges whose union is the list (see above)."""
    task, me, key = TASKS.c, principal.name, flt.definition_key
    named = [(kind, [n for n in names if n]) for kind, names in (
        ("user", (flt.candidate_user,)), ("group", (flt.candidate_group,)), ("group", flt.candidate_groups))]
    named = [(kind, names) for kind, names in named if names]
    conditions = _conditions(principal, flt)
    if named and not flt.instance_id:  # the queues of the first candidate filter, the others tested
        (kind, names), others = named[0], tuple(_names_candidate(kind, names) for kind, names in named[1:])
        own = set(parties(principal))
        return [_Range((kind, name), key, (*conditions, *others, *_visible(principal, (kind, name) in own)))
                for name in dict.fromkeys(names)]
    conditions += tuple(_names_candidate(kind, names) for kind, names in named)
    if principal.is_admin:
        return [_Range(None, key, conditions)]
    if flt.instance_id:  # an instance's few tasks
        return [_Range(None, key, (*conditions, *_visible(principal, False)))]
    if flt.mine or flt.assignee or flt.unassigned is False:  # held tasks: visible when the caller holds them
        return [_Range(None, key, (*conditions, task.assignee == me))]
    held = [] if flt.unassigned else [_Range(None, key, (*conditions, task.assignee == me))]
    return held + [_Range(party, key, (*conditions, task.assignee.is_(None))) for party in parties(principal)]


def _conditions(principal: Principal, flt: TaskFilter) -> tuple[ColumnElement[bool], ...]:
    """The filters on the task itself but the definition key (which a range may hold)."""
    task = TASKS.c
    conditions = [column == value for column, value in (
        (task.assignee, principal.name if flt.mine else None), (task.assignee, flt.assignee),
        (task.definition_id, flt.definition_id), (task.instance_id, flt.instance_id),
        (task.bpmn_id, flt.bpmn_id)) if value]
    if flt.unassigned is not None:
        conditions.append(task.assignee.is_(None) if flt.unassigned else task.assignee.is_not(None))
    if (flt.candidate_user or flt.candidate_group or flt.candidate_groups) and not flt.include_assigned:
        conditions.append(task.assignee.is_(None))
    return tuple(conditions) + (flt.criteria.sql() if flt.criteria else ())


def _names_candidate(kind: str, names: list[str]) -> ColumnElement[bool]:
    """A candidate filter tested on the task: it names one of `names` (a primary key probe)."""
    other = CANDIDATES.alias()  # never the rows of a queue the query reads
    return select(other.c.task_id).where(other.c.task_id == TASKS.c.id, other.c.kind == kind,
                                         other.c.name.in_(names)).exists()


def _visible(principal: Principal, own_queue: bool) -> tuple[ColumnElement[bool], ...]:
    """Visibility tested on the task (none for admins); `own_queue`: read from the caller's own
    queue or one of their groups', so they are a candidate of it."""
    return () if principal.is_admin else (task_visible_each(principal, known_candidate=own_queue),)

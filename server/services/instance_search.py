"""Instance search: one page, newest first, and the total (counted up to `count_cap`).

An admin searches `process_instances` itself, along the index of the filter (services.counting).

A plain user sees the instances they took part in (server.access), which may be 15,000 for a
member of a big group's queue and 113,000 for the busiest starter; a filter few of them match
(status=completed while the queue's instances wait) made the search read all of them
(bench/tasklist.py). So it reads `instance_participants` instead, per party of the caller
(themselves and each of their groups), where an index holds each party's rows with the filter's
column in the search's order:

- a page: per party, the first offset + limit matching rows of one index range; those of all
  parties together, without duplicates (an instance may be reached through two parties) and in
  order, hold the page, since no instance has more rows ahead of it in its party's range than
  in the union. The page's instances are then read by primary key, in the same query;
- the total: per party, up to cap + 1 matching instances, their distinct union counted. Below
  the cap every party gave all its rows, so the count is exact; a party with more than the cap
  gives cap + 1 distinct instances, so the union says "more" whenever that is true.

Filters the table does not copy (definition id, starter) join the instance to each party's rows.
A business key names one instance, or a few: that search starts from the key's index and checks
visibility per instance.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select, union, union_all
from sqlalchemy.orm import Session

from ..access import Principal, instance_visible, parties
from ..models import InstanceParticipant, ProcessInstance
from .counting import count_up_to, small_page


@dataclass
class InstanceFilter:
    definition_key: str | None = None
    definition_id: str | None = None
    business_key: str | None = None
    status: str | None = None
    started_by: str | None = None
    limit: int = 50
    offset: int = 0
    count_cap: int | None = None  # count at most this many (+1); None: an exact total (services.counting)


def search(session: Session, principal: Principal, flt: InstanceFilter) -> tuple[list[ProcessInstance], int]:
    """One page, newest first (then by id), and the total (up to `count_cap`, see above)."""
    if principal.is_admin or flt.business_key:
        return _search_instances(session, principal, flt)
    return _search_participants(session, principal, flt)


def _search_instances(session: Session, principal: Principal,
                      flt: InstanceFilter) -> tuple[list[ProcessInstance], int]:
    query = select(ProcessInstance).where(instance_visible(principal))
    for column, value in (("definition_key", flt.definition_key), ("definition_id", flt.definition_id),
                          ("business_key", flt.business_key), ("status", flt.status),
                          ("started_by", flt.started_by)):
        if value:
            query = query.where(getattr(ProcessInstance, column) == value)
    if flt.count_cap is None:
        total = count_up_to(session, query, None)
    else:
        small = small_page(session, ProcessInstance, query, [ProcessInstance.started_at], _newest_first,
                           flt.count_cap, flt.offset, flt.limit)
        if small is not None:
            return small
        total = flt.count_cap + 1
    rows = session.scalars(
        query.order_by(ProcessInstance.started_at.desc(), ProcessInstance.id).limit(flt.limit).offset(flt.offset)
    ).all()
    return list(rows), total


def _newest_first(rows: list) -> list:
    """(id, started_at) rows newest first, then by id (the search's ORDER BY)."""
    by_id = sorted(rows, key=lambda r: r[0])
    return sorted(by_id, key=lambda r: r[1] is not None and r[1].timestamp(), reverse=True)


PARTICIPANTS, INSTANCES = InstanceParticipant.__table__, ProcessInstance.__table__


def _party_rows(kind: str, name: str, flt: InstanceFilter, limit: int | None, ordered: bool) -> Select:
    """(instance_id, started_at) of one party's rows that match `flt`: one range of an index.
    Wrapped as a subquery, as SQLite takes no LIMIT on the parts of a UNION. Core tables, not
    the mapped classes: building a statement of ORM attributes cost more than running it."""
    row = PARTICIPANTS.c
    query = select(row.instance_id, row.started_at).where(row.party_kind == kind, row.party_name == name)
    if flt.status:
        query = query.where(row.status == flt.status)
    if flt.definition_key:
        query = query.where(row.definition_key == flt.definition_key)
    if flt.definition_id or flt.started_by:
        query = query.join(INSTANCES, INSTANCES.c.id == row.instance_id)
        if flt.definition_id:
            query = query.where(INSTANCES.c.definition_id == flt.definition_id)
        if flt.started_by:
            query = query.where(INSTANCES.c.started_by == flt.started_by)
    if ordered:
        query = query.order_by(row.started_at.desc(), row.instance_id)
    if limit is not None:
        query = query.limit(limit)
    part = query.subquery()
    return select(part.c.instance_id, part.c.started_at)


def _search_participants(session: Session, principal: Principal,
                         flt: InstanceFilter) -> tuple[list[ProcessInstance], int]:
    everyone = parties(principal)
    cap = flt.count_cap
    counted = union(*(_party_rows(kind, name, flt, None if cap is None else cap + 1, ordered=False)
                      for kind, name in everyone)).subquery()
    total = session.scalar(select(func.count()).select_from(counted)) or 0
    if cap is not None:
        total = min(total, cap + 1)
    if flt.limit <= 0 or (total <= flt.offset and (cap is None or total <= cap)):  # nothing that far
        return [], total
    reach = flt.offset + flt.limit
    candidates = union_all(*(_party_rows(kind, name, flt, reach, ordered=True) for kind, name in everyone)).subquery()
    page = (select(candidates.c.instance_id, candidates.c.started_at).distinct()
            .order_by(candidates.c.started_at.desc(), candidates.c.instance_id)
            .limit(flt.limit).offset(flt.offset).subquery())
    rows = session.scalars(select(ProcessInstance).join(page, ProcessInstance.id == page.c.instance_id)
                           .order_by(page.c.started_at.desc(), page.c.instance_id))
    return list(rows), total

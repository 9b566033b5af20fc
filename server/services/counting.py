"""Totals and pages of list queries that stay fast on large tables.

An exact `total` of a large filtered list costs as much as reading every matching row: 700,000
completed instances took 100-200 ms to count on PostgreSQL, while the page of 50 beside it took
a few (bench/tasklist.py). Nobody pages through more than a thousand entries, so the list
endpoints count only up to `COUNT_CAP` and say whether the count is exact (`total_fields`).

`small_page` goes one step further for callers who may see only part of a table: one query
collects the ids and sort keys of the matches, stopping after cap + 1 of them. When that is all
of them, the total is exact, the page is cut from them, and only its rows are read; the page
query proper runs only when more than `cap` rows match, and then it fills quickly. (A plain
user's instance search has its own table and does this per party: services/instance_search.py;
the task list merges index ranges in its order and counts as it merges: services/task_search.py.)
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Select, func, literal, select
from sqlalchemy.orm import Session

COUNT_CAP = 1000


def total_fields(total: int, cap: int = COUNT_CAP) -> dict:
    """`total` and `total_exact` of a list response, from a count made with `count_up_to(..., cap)`."""
    return {"total": min(total, cap), "total_exact": total <= cap}


def count_up_to(session: Session, query: Select, cap: int | None) -> int:
    """How many rows `query` matches; with a `cap`, at most cap + 1 (meaning "more than cap")."""
    query = query.order_by(None)
    if cap is None:
        return session.scalar(select(func.count()).select_from(query.subquery())) or 0
    probe = query.with_only_columns(literal(1), maintain_column_froms=True).limit(cap + 1)
    return session.scalar(select(func.count()).select_from(probe.subquery())) or 0


def small_page(session: Session, model, query: Select, sort_columns: list, sort: Callable[[list], list],
               cap: int, offset: int, limit: int) -> tuple[list, int] | None:
    """(page, total) when at most `cap` rows match `query`, else None.

    `sort_columns` are read with each match's id, and `sort` orders those rows as the page query's
    ORDER BY would; the page's rows are then read by primary key, in that order.
    """
    probe = query.order_by(None).with_only_columns(model.id, *sort_columns, maintain_column_froms=True)
    matches = session.execute(probe.limit(cap + 1)).all()
    if len(matches) > cap:
        return None
    ids = [row[0] for row in sort(matches)[offset:offset + limit]]
    rows = {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))} if ids else {}
    return [rows[i] for i in ids if i in rows], min(len(matches), cap + 1)

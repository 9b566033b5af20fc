"""Counting the matches of a list query, up to a cap.

An exact `total` of a large filtered list costs as much as reading every matching row: 700,000
completed instances took 100-200 ms to count on PostgreSQL, while the page of 50 beside it took
a few (bench/tasklist.py). Nobody pages through more than a thousand entries, so list endpoints
count only up to `COUNT_CAP` and say whether the count is exact; the counting query stops as soon
as it has seen one row more than the cap.
"""

from __future__ import annotations

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

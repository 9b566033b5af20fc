"""Whether an instance's variables hold given values: the rule of message correlation keys, in
Python and as SQL conditions that let the database drop nearly all candidates before their
variables are read.

Values compare as JSON values: a string only with the same string, numbers by value (7 equals
7.0), a boolean only with the same boolean, null with null or a missing variable. Lists and
objects are compared in Python only, with Python's equality inside them (where `true == 1`).
The SQL conditions accept every row `matches` accepts (and on SQLite a boolean also the numbers
1 and 0), so `matches` stays the final word.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Text, case, cast, func, literal, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement


def same_value(held: Any, wanted: Any) -> bool:
    if isinstance(held, bool) or isinstance(wanted, bool):
        return isinstance(held, bool) and isinstance(wanted, bool) and held == wanted
    return held == wanted


def matches(variables: dict | None, wanted: dict | None) -> bool:
    variables = variables or {}
    return all(same_value(variables.get(name), value) for name, value in (wanted or {}).items())


def sql_conditions(column: ColumnElement, wanted: dict | None, dialect: str) -> list[ColumnElement]:
    """Conditions on a JSON column for the scalar values of `wanted` (null, lists and objects
    get none)."""
    conditions = []
    for name, value in (wanted or {}).items():
        if not _comparable_in_sql(value):
            continue
        if dialect == "postgresql":
            # jsonb compares typed values, numbers by value. PostgreSQL's JSON functions refuse a
            # document holding \u0000 (a script can store one): such a row stays for `matches`
            element = column.op("->")(literal(name))
            conditions.append(case((func.strpos(cast(column, Text), "\\u0000") > 0, true()),
                                   else_=cast(element, JSONB) == literal(value, JSONB)))
        elif dialect == "sqlite" and '"' not in name and "\\" not in name:
            # json_extract gives SQL values: text, integer or real (compared by value), 1 or 0; a
            # document SQLite's parser refuses (NaN, stored before scripts were checked) stays for `matches`
            conditions.append(case((func.json_valid(column) == 0, true()),
                                   else_=func.json_extract(column, f'$."{name}"') == value))
    return conditions


def _comparable_in_sql(value: Any) -> bool:
    """A scalar both databases can take as a parameter: no null, list or object, no NaN or
    infinity (not JSON), no integer beyond SQLite's 64 bits."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return -2**63 <= value < 2**63
    return isinstance(value, (str, bool))

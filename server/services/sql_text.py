"""Text matching and ordering that give the same answer on SQLite and PostgreSQL.

Camunda's `...Like` filters are SQL LIKE with `\\` as the escape character, and on PostgreSQL
(Camunda's usual database, and ours when scaled out) LIKE tells upper from lower case. SQLite's
LIKE does not, so there a pattern is translated into GLOB, which does. Orderings put a missing
value below every value (SQLite's way; PostgreSQL's default is the opposite) and compare text by
code point (PostgreSQL's default collation follows the locale), so a page is the same on both.
"""

from __future__ import annotations

import re

from sqlalchemy import Boolean, String, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression
from sqlalchemy.sql.functions import FunctionElement


class _like(FunctionElement):  # noqa: N801 (an SQL construct, named as SQLAlchemy's are)
    """column LIKE pattern ESCAPE '\\', or on SQLite column GLOB (the pattern translated)."""

    type = Boolean()
    inherit_cache = True
    name = "processcafe_like"


@compiles(_like)
def _like_default(element: _like, compiler, **kw) -> str:
    column, pattern, _ = element.clauses
    return compiler.process(column.like(pattern, escape="\\"), **kw)


@compiles(_like, "sqlite")
def _like_sqlite(element: _like, compiler, **kw) -> str:
    column, _, glob = element.clauses
    return f"({compiler.process(column, **kw)} GLOB {compiler.process(glob, **kw)})"


def _glob(pattern: str) -> str:
    """A LIKE pattern (`%`, `_`, `\\` escaping the next character) as a GLOB pattern."""
    out, escaped = [], False
    for char in pattern:
        if escaped or char not in "%_\\":
            out.append(f"[{char}]" if char in "*?[" else char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append("*" if char == "%" else "?")
    if escaped:  # a trailing backslash stands for itself
        out.append("\\")
    return "".join(out)


def like(column: ColumnElement, pattern: str) -> ColumnElement[bool]:
    """Case-sensitive LIKE on both databases."""
    return _like(column, literal(pattern, String()), literal(_glob(pattern), String()))


class _binary(FunctionElement):  # noqa: N801
    """A text column compared by code point: COLLATE "C" on PostgreSQL (SQLite's default)."""

    inherit_cache = True
    name = "processcafe_binary"


@compiles(_binary)
def _binary_default(element: _binary, compiler, **kw) -> str:
    return compiler.process(list(element.clauses)[0], **kw)


@compiles(_binary, "postgresql")
def _binary_postgresql(element: _binary, compiler, **kw) -> str:
    return f'({compiler.process(list(element.clauses)[0], **kw)} COLLATE "C")'


def ordered(column: ColumnElement, descending: bool, text: bool = False) -> UnaryExpression:
    """ORDER BY `column` with a missing value lowest; `text`: by code point."""
    key = _binary(column) if text else column
    return key.desc().nulls_last() if descending else key.asc().nulls_first()


def like_pattern(text: str) -> re.Pattern:
    """SQL LIKE (`%` any text, `_` one character) as a regular expression, for values in Python."""
    return re.compile("".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in text), re.S)

"""FEEL simple unary tests: the language of a DMN decision table's input entries.

SpiffWorkflow glued an input entry to the input expression as Python (`(v) == (1,2,3)`), so
ordinary cells that Camunda Modeler writes (`1,2,3`, `[1..5]`, `not("x")`, `date("2024-01-01")`)
matched wrongly or failed at run time. Here a cell is read once, strictly, when the DMN is deployed
(a cell that cannot be read is refused with the reason) and values are tested against the parsed
form; nothing in a cell is ever evaluated as code.

What is read (DMN 1.3 simple unary tests, plus `=` and `!=` of DMN 1.4):

    -  or an empty cell          any value
    10   "gold"   true   null     equal to the literal (10 = 10.0)
    < 10  <= 10  > 10  >= 10  = 10  != 10
    [1..5]  ]1..5[  (1..5)  [1..5)    intervals: `[`/`]` closed, `]`/`(` open start, `[`/`)` open end
    1, 2, 3                       any of the tests
    not(1, 2)                     none of the tests
    date("2024-01-01")  time("10:30:00")  date and time("2024-01-01T10:30:00")
    limit   customer.limit        a variable (or a key path into one) as endpoint

Comparing values of different kinds (a text with a number) raises `FeelError`: it is almost
always a modelling mistake (a form that delivered "12" as text) and must not pass silently as a
non-match. A null input matches only `null`, `-` and `!=`/`not(...)` of a value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any

ANY_TEXTS = ("", "-")
OPERATORS = ("<", "<=", ">", ">=", "=", "!=")
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>\d+(?:\.\d+)?|\.\d+)
  | (?P<range>\.\.)
  | (?P<op><=|>=|!=|<|>|=)
  | (?P<punct>[\[\]\(\),\-\.])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "'": "'"}
_TEMPORAL = {"date": date.fromisoformat, "time": time.fromisoformat, "date and time": datetime.fromisoformat}


class FeelError(ValueError):
    """A cell that cannot be read, or a value that cannot be tested against it."""


@dataclass(frozen=True)
class Literal:
    value: Any

    def resolve(self, scope: dict) -> Any:
        return self.value

    def __str__(self) -> str:
        return _show(self.value)


@dataclass(frozen=True)
class Name:
    """A variable as endpoint (`< limit`); resolved against the instance's variables."""

    path: tuple[str, ...]

    def resolve(self, scope: dict) -> Any:
        value: Any = scope
        for depth, part in enumerate(self.path):
            if not isinstance(value, dict) or part not in value:
                shown = ".".join(self.path[: depth + 1])
                hint = f' (text is written in double quotes: "{shown}")' if len(self.path) == 1 else ""
                raise FeelError(f"no variable {shown!r}{hint}")
            value = value[part]
        return value

    def __str__(self) -> str:
        return ".".join(self.path)


Endpoint = Literal | Name


@dataclass(frozen=True)
class Comparison:
    op: str
    endpoint: Endpoint

    def matches(self, value: Any, scope: dict) -> bool:
        other = self.endpoint.resolve(scope)
        if self.op in ("=", "!="):
            equal = _equal(value, other)
            return equal if self.op == "=" else not equal
        if value is None or other is None:
            return False
        left, right = _comparable(value, other)
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[self.op]


@dataclass(frozen=True)
class Interval:
    low: Endpoint
    low_open: bool
    high: Endpoint
    high_open: bool

    def matches(self, value: Any, scope: dict) -> bool:
        low, high = self.low.resolve(scope), self.high.resolve(scope)
        if value is None or low is None or high is None:
            return False
        v, lo = _comparable(value, low)
        v2, hi = _comparable(value, high)
        return (v > lo if self.low_open else v >= lo) and (v2 < hi if self.high_open else v2 <= hi)


Test = Comparison | Interval


@dataclass(frozen=True)
class UnaryTests:
    """A parsed cell: any of `tests` (none of them when `negated`); no tests means any value."""

    text: str
    tests: tuple[Test, ...]
    negated: bool = False

    def matches(self, value: Any, scope: dict) -> bool:
        if not self.tests:
            return True
        hit = any(test.matches(value, scope) for test in self.tests)
        return not hit if self.negated else hit

    def literals(self) -> list[Any]:
        """The values of a list of plain literals (`"high","low"`), as in an output's outputValues."""
        if self.negated or not all(isinstance(t, Comparison) and t.op == "=" and isinstance(t.endpoint, Literal)
                                   for t in self.tests):
            raise FeelError("expected a list of literal values such as \"high\",\"medium\",\"low\"")
        return [t.endpoint.value for t in self.tests]  # type: ignore[union-attr]


# -- reading -------------------------------------------------------------------------------------

def parse_unary_tests(text: str | None) -> UnaryTests:
    """Read one input entry; FeelError says what is wrong and where."""
    source = (text or "").strip()
    if source in ANY_TEXTS:
        return UnaryTests(source, ())
    reader = _Reader(source)
    negated = reader.peek_name("not") and reader.peek(1) == ("punct", "(")
    if negated:
        reader.take(), reader.take()
    tests = [reader.test()]
    while reader.accept("punct", ","):
        tests.append(reader.test())
    if negated:
        reader.expect("punct", ")", "to close not(")
    if reader.peek() is not None:
        raise FeelError(f"unexpected {reader.peek()[1]!r} at position {reader.position()}")
    return UnaryTests(source, tuple(tests), negated)


class _Reader:
    def __init__(self, source: str):
        self.source = source
        self.tokens: list[tuple[str, str, int]] = []
        at = 0
        while at < len(source):
            match = _TOKEN.match(source, at)
            if match is None:
                raise FeelError(f"unexpected character {source[at]!r} at position {at + 1}"
                                + (" (text is written in double quotes)" if source[at] == "'" else ""))
            if match.lastgroup != "space":
                self.tokens.append((match.lastgroup or "", match.group(), at + 1))
            at = match.end()
        self.index = 0

    def peek(self, ahead: int = 0) -> tuple[str, str] | None:
        if self.index + ahead >= len(self.tokens):
            return None
        kind, text, _ = self.tokens[self.index + ahead]
        return kind, text

    def peek_name(self, name: str) -> bool:
        return self.peek() == ("name", name)

    def position(self) -> int:
        return self.tokens[self.index][2] if self.index < len(self.tokens) else len(self.source) + 1

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise FeelError("the entry ends too early")
        self.index += 1
        return token

    def accept(self, kind: str, text: str) -> bool:
        if self.peek() == (kind, text):
            self.index += 1
            return True
        return False

    def expect(self, kind: str, text: str, why: str) -> None:
        if not self.accept(kind, text):
            found = self.peek()
            raise FeelError(f"expected {text!r} {why} at position {self.position()}"
                            + (f", found {found[1]!r}" if found else ", found the end"))

    def test(self) -> Test:
        token = self.peek()
        if token is not None and token[0] == "op":
            self.take()
            return Comparison(token[1], self.endpoint())
        if token in (("punct", "["), ("punct", "]"), ("punct", "(")):
            self.take()
            low = self.endpoint()
            self.expect("range", "..", "between the ends of the range")
            high = self.endpoint()
            closing = self.take()
            if closing not in (("punct", "]"), ("punct", "["), ("punct", ")")):
                raise FeelError(f"expected ']', '[' or ')' to end the range, found {closing[1]!r}")
            return Interval(low, token[1] != "[", high, closing[1] != "]")
        return Comparison("=", self.endpoint())

    def endpoint(self) -> Endpoint:
        kind, text = self.take()
        if kind == "punct" and text == "-" and self.peek() and self.peek()[0] == "number":  # type: ignore[index]
            return Literal(-_number(self.take()[1]))
        if kind == "number":
            return Literal(_number(text))
        if kind == "string":
            return Literal(_string(text))
        if kind != "name":
            raise FeelError(f"expected a value at position {self.tokens[self.index - 1][2]}, found {text!r}")
        if text in ("true", "false", "null"):
            return Literal({"true": True, "false": False, "null": None}[text])
        function = text
        if text == "date" and self.peek_name("and") and self.peek(1) == ("name", "time"):
            self.take(), self.take()
            function = "date and time"
        if self.peek() == ("punct", "("):
            return self._temporal(function)
        path = [text]
        while self.accept("punct", "."):
            part = self.take()
            if part[0] != "name":
                raise FeelError(f"expected a name after '.', found {part[1]!r}")
            path.append(part[1])
        return Name(tuple(path))

    def _temporal(self, function: str) -> Literal:
        if function not in _TEMPORAL:
            raise FeelError(f"{function}(...) is not supported in an input entry; supported are literals, "
                            "comparisons, ranges, not(...), date(), time() and date and time()")
        self.take()
        kind, text = self.take()
        if kind != "string":
            raise FeelError(f'{function}() takes a text such as {function}("2024-01-01"), found {text!r}')
        self.expect("punct", ")", f"to close {function}(")
        value = _string(text)
        try:
            return Literal(_TEMPORAL[function](value))
        except ValueError as err:
            raise FeelError(f"{function}({value!r}) is not a valid {function}: {err}") from err


def _number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


def _string(token: str) -> str:
    body, out, at = token[1:-1], [], 0
    while at < len(body):
        char = body[at]
        if char == "\\":
            following = body[at + 1]
            if following == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[at + 2:at + 6]):
                out.append(chr(int(body[at + 2:at + 6], 16)))
                at += 6
                continue
            if following not in _ESCAPES:
                raise FeelError(f"unknown escape \\{following} in {token}")
            out.append(_ESCAPES[following])
            at += 2
            continue
        out.append(char)
        at += 1
    return "".join(out)


# -- comparing -----------------------------------------------------------------------------------

def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, datetime):
        return "date and time"
    if isinstance(value, date):
        return "date"
    if isinstance(value, time):
        return "time"
    return "list" if isinstance(value, list | tuple) else "context" if isinstance(value, dict) else type(value).__name__


def _show(value: Any) -> str:
    kind = _kind(value)
    if kind in _TEMPORAL:
        return f'{kind}("{value.isoformat()}")'
    if kind == "string":
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return {True: "true", False: "false", None: "null"}.get(value, str(value)) if kind != "number" else str(value)


def _comparable(value: Any, other: Any, ordering: bool = True) -> tuple[Any, Any]:
    """Both sides as values Python can order, or FeelError naming the two kinds.

    Variables are JSON, so dates arrive as ISO text: text is read as a date, time or date and time
    when the other side is one. A date and time without a zone is taken as UTC when the other has one.
    """
    kind, other_kind = _kind(value), _kind(other)
    if kind == "string" and other_kind in _TEMPORAL:
        try:
            value, kind = _TEMPORAL[other_kind](value), other_kind
        except ValueError as err:
            raise FeelError(f"the value {_show(value)} is not a {other_kind} to compare with {_show(other)}") from err
    allowed = ("number", "string", *_TEMPORAL) if ordering else ("number", "string", "boolean", *_TEMPORAL)
    if kind != other_kind or kind not in allowed:
        raise FeelError(f"cannot compare {_show(value)} ({kind}) with {_show(other)} ({other_kind})")
    if kind in ("date and time", "time") and (value.tzinfo is None) != (other.tzinfo is None):
        if kind == "time":
            return value.replace(tzinfo=None), other.replace(tzinfo=None)
        value, other = (v if v.tzinfo else v.replace(tzinfo=timezone.utc) for v in (value, other))
    return value, other


def _equal(value: Any, other: Any) -> bool:
    if value is None or other is None:
        return value is None and other is None
    left, right = _comparable(value, other, ordering=False)
    return left == right

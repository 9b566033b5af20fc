"""Camunda JUEL (`${...}`) expressions, translated to Python for the sandbox.

Camunda Modeler writes conditions as `${approved}` and parameter values as `Order ${orderId} shipped`,
but SpiffWorkflow only evaluates Python. Each field is translated once (results are cached) into a
Python expression that the sandbox evaluates against the task data. The translation uses a tokenizer
and a small recursive-descent parser, not regexes over the whole text, so operators inside string
literals are never touched and JUEL's operator precedence is kept (parentheses are added where
Python's precedence differs, e.g. `!a == b` becomes `(not a) == b`).

Semantics chosen:
- `a.b` becomes `a['b']`. The EL specification defines `a.b` as equivalent to `a["b"]`, and process
  variables are JSON-like dicts, so this is both faithful and needs no helper in the sandbox.
- Method calls (`${service.call()}`, `${execution.getVariable('x')}`) raise `ExpressionError`:
  Camunda would call a Java bean there, and there is none to call.
- Plain function calls `f(x)` pass through to whatever the sandbox offers; `now()` and `dateTime()`
  (Camunda built-ins) become `datetime.now()`.
- Composite templates render null as "" and booleans as "true"/"false", as EL does.

Not covered: EL type coercion (`"1" == 1` is False here), EL 3.0 lambdas, assignments, `;`,
collection literals, `instanceof`, namespaced functions `ns:f()`, and variable names that are Python
keywords (`${from}`), which are refused with a clear message.
"""

from __future__ import annotations

import keyword
import re
from functools import lru_cache

__all__ = ["ExpressionError", "is_juel", "juel_to_python", "translate"]


class ExpressionError(ValueError):
    """A JUEL expression that cannot be translated; `.expression` is the offending text."""

    def __init__(self, message: str, expression: str):
        super().__init__(message)
        self.expression = expression


_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>&&|\|\||==|!=|<=|>=|[-+*/%!<>?:()\[\].,])
    """,
    re.VERBOSE | re.DOTALL,
)
_JUEL_PART = re.compile(r"(?<!\\)[$#]\{.*?\}", re.DOTALL)

# Python precedence, loosest first; a child is parenthesised when it binds looser than its slot needs.
TERNARY, OR, AND, NOT, CMP, ADD, MUL, UNARY, ATOM = range(1, 10)

_LEVELS: list[tuple[dict[str, str], int]] = [  # JUEL binary operators, loosest first
    ({"||": "or", "or": "or"}, OR),
    ({"&&": "and", "and": "and"}, AND),
    ({"==": "==", "!=": "!=", "eq": "==", "ne": "!="}, CMP),
    ({"<": "<", ">": ">", "<=": "<=", ">=": ">=", "lt": "<", "gt": ">", "le": "<=", "ge": ">="}, CMP),
    ({"+": "+", "-": "-"}, ADD),
    ({"*": "*", "/": "/", "div": "/", "%": "%", "mod": "%"}, MUL),
]
_LITERALS = {"true": "True", "false": "False", "null": "None"}
_RESERVED = {"and", "or", "not", "eq", "ne", "lt", "gt", "le", "ge", "empty", "div", "mod", "instanceof"}
_FUNCTIONS = {"now": "datetime.now", "dateTime": "datetime.now"}

Node = tuple[str, int]  # (python source, precedence)


def _wrap(node: Node, needed: int) -> str:
    text, prec = node
    return text if prec >= needed else f"({text})"


def _unquote(literal: str) -> str:
    """JUEL knows only the escapes \\\\, \\' and \\"; any other backslash is kept literally."""
    return re.sub(r"\\([\\'\"])", r"\1", literal[1:-1])


class _Parser:
    def __init__(self, expr: str):
        self.expr = expr
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(expr):
            match = _TOKEN.match(expr, pos)
            if match is None:
                what = "unterminated string literal" if expr[pos] in "'\"" else f"unexpected character {expr[pos]!r}"
                raise self.error(what, pos)
            if match.lastgroup != "space":
                self.tokens.append((match.lastgroup or "", match.group(), pos))
            pos = match.end()
        self.i = 0

    def error(self, message: str, pos: int | None = None) -> ExpressionError:
        where = f" at position {pos}" if pos is not None else ""
        return ExpressionError(f"{message}{where} in expression {self.expr!r}", self.expr)

    def at(self, *texts: str) -> bool:
        return self.i < len(self.tokens) and self.tokens[self.i][0] in ("op", "name") \
            and self.tokens[self.i][1] in texts

    def accept(self, *texts: str) -> str | None:
        if self.at(*texts):
            self.i += 1
            return self.tokens[self.i - 1][1]
        return None

    def next(self) -> tuple[str, str, int]:
        if self.i >= len(self.tokens):
            raise self.error("expression ends too early")
        self.i += 1
        return self.tokens[self.i - 1]

    def expect(self, text: str) -> None:
        if self.accept(text) is None:
            found = repr(self.tokens[self.i][1]) if self.i < len(self.tokens) else "the end"
            raise self.error(f"expected {text!r} but found {found}",
                             self.tokens[self.i][2] if self.i < len(self.tokens) else None)

    def parse(self) -> str:
        if not self.tokens:
            raise self.error("empty expression")
        text, _ = self.ternary()
        if self.i < len(self.tokens):
            _, token, pos = self.tokens[self.i]
            raise self.error(f"unexpected {token!r}", pos)
        return text

    def ternary(self) -> Node:
        cond = self.binary(0)
        if self.accept("?") is None:
            return cond
        yes = self.ternary()
        self.expect(":")
        no = self.ternary()
        return f"{_wrap(yes, OR)} if {_wrap(cond, OR)} else {_wrap(no, TERNARY)}", TERNARY

    def binary(self, level: int) -> Node:
        if level == len(_LEVELS):
            return self.unary()
        ops, prec = _LEVELS[level]
        left = self.binary(level + 1)
        while (op := self.accept(*ops)) is not None:
            right = self.binary(level + 1)
            # Python chains comparisons (a < b < c); JUEL does not, so both sides bind tighter.
            left_needs = prec + 1 if prec == CMP else prec
            left = f"{_wrap(left, left_needs)} {ops[op]} {_wrap(right, prec + 1)}", prec
        return left

    def unary(self) -> Node:
        if self.accept("!", "not", "empty") is not None:
            return f"not {_wrap(self.unary(), NOT)}", NOT
        if self.accept("-") is not None:
            return f"-{_wrap(self.unary(), UNARY)}", UNARY
        return self.value()

    def value(self) -> Node:
        kind, text, pos = self.next()
        node: Node
        if kind == "number":
            node = (text.lstrip("0") or "0" if text.isdigit() else text), ATOM  # 007 is 7, not an error
        elif kind == "string":
            node = repr(_unquote(text)), ATOM
        elif kind == "name" and text in _LITERALS:
            node = _LITERALS[text], ATOM
        elif kind == "name" and text not in _RESERVED:
            node = self.call(text, pos) if self.at("(") else (self.name(text, pos), ATOM)
        elif text == "instanceof":
            raise self.error("'instanceof' is not supported", pos)
        elif text == "(":
            node = self.ternary()
            self.expect(")")
        else:
            raise self.error(f"unexpected {text!r}", pos)
        while True:
            if self.accept(".") is not None:
                kind, prop, pos = self.next()
                if kind != "name":
                    raise self.error("a property name must follow '.'", pos)
                if self.at("("):
                    raise self.error(f"method call '{prop}(...)' is not supported: Camunda would call a "
                                     "Java bean here, but processes here can only read variables", pos)
                node = f"{_wrap(node, ATOM)}[{prop!r}]", ATOM
            elif self.accept("[") is not None:
                index, _ = self.ternary()
                self.expect("]")
                node = f"{_wrap(node, ATOM)}[{index}]", ATOM
            elif self.at("("):
                raise self.error("only plain function names can be called", self.tokens[self.i][2])
            else:
                return node

    def name(self, text: str, pos: int) -> str:
        if keyword.iskeyword(text):
            raise self.error(f"variable name {text!r} cannot be used: it is a Python keyword", pos)
        return text

    def call(self, name: str, pos: int) -> Node:
        self.expect("(")
        args: list[str] = []
        if self.accept(")") is None:
            while True:
                args.append(self.ternary()[0])
                if self.accept(")") is not None:
                    break
                self.expect(",")
        func = _FUNCTIONS.get(name) or self.name(name, pos)
        return f"{func}({', '.join(args)})", ATOM


def is_juel(text: str) -> bool:
    """True when the text contains a `${...}` or `#{...}` part (a cheap check; no validation)."""
    return bool(_JUEL_PART.search(text))


@lru_cache(maxsize=4096)
def juel_to_python(expr: str) -> str:
    """Translate one JUEL expression body (the inside of `${...}`) into a Python expression."""
    try:
        return _Parser(expr).parse()
    except RecursionError:
        raise ExpressionError(f"expression is too deeply nested: {expr[:80]!r}", expr) from None


def _closing_brace(text: str, start: int) -> int:
    """Index of the `}` ending the expression that starts at `start`, skipping string literals."""
    quote = None
    i = start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "}":
            return i
        i += 1
    raise ExpressionError(f"unterminated '{text[start - 2:start]}' in {text!r}", text)


def _split(text: str) -> list[tuple[bool, str]]:
    """Template text as (is_expression, content) parts; `\\${` is a literal `${`, as in EL."""
    parts: list[tuple[bool, str]] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and text.startswith(("${", "#{"), i + 1):
            literal.append(text[i + 1:i + 3])
            i += 3
        elif text[i] in "$#" and text.startswith("{", i + 1):
            end = _closing_brace(text, i + 2)
            if literal:
                parts.append((False, "".join(literal)))
                literal = []
            parts.append((True, text[i + 2:end]))
            i = end + 1
        else:
            literal.append(text[i])
            i += 1
    if literal:
        parts.append((False, "".join(literal)))
    return parts


_RENDER = "''.join(['' if v is None else 'true' if v is True else 'false' if v is False else str(v) for v in ({},)])"


@lru_cache(maxsize=4096)
def translate(text: str) -> str:
    """Translate a whole field value into one Python expression.

    `${x}` (whitespace around allowed) gives the expression itself, so a condition keeps its type;
    a template such as `Order ${orderId} approved` gives an expression building the string; text
    without expressions gives a string literal, so Camunda fields like `PT10S` stay text.
    """
    parts = _split(text)
    expressions = [content for is_expr, content in parts if is_expr]
    if not expressions:
        return repr("".join(content for _, content in parts))
    if len(expressions) == 1 and all(is_expr or not content.strip() for is_expr, content in parts):
        return juel_to_python(expressions[0])
    items = ", ".join(juel_to_python(content) if is_expr else repr(content) for is_expr, content in parts)
    return _RENDER.format(items)

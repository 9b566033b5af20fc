"""Restricted Python for script tasks and expressions: RestrictedPython plus size guards and a deadline.

Diagrams are uploaded by people and their scripts run inside the server process, so a script must not
reach modules, files, the network or interpreter internals, and must not stall or exhaust a worker.

- Compile time (`_Policy`, cached per source text): RestrictedPython's rules (no names or attributes
  starting with `_`, no frame/generator internals, guarded attribute/item access) plus: no imports,
  classes or `with`; `+ * ** << %` and f-string format specs go through size checks; every `except`
  and `finally` first re-arms the time limit (see `_run`).
- Run time: a small builtins table (no `open`, `type`, `vars`, `globals`, `format`, `__import__`...),
  `getattr` refusing `_` names, str.format/format_map and mro; size-checked `range`, `pow`, `sum`,
  `iter` and the str/list methods that amplify (padding, `replace`, `join`, `extend`); a deadline
  checked by a `sys.settrace` function on the running thread only (see `_run`).

Known gaps (run workers under an OS memory limit as the backstop): total memory is not bounded, only
single values (a loop may still build many 10-million-element lists, or append for the whole time
limit); str()/repr() of aliased structures such as `[[0] * 10**6] * 10**6`; single C-level calls on
data within the limits (sorting 10 million items) can overrun the deadline by seconds; an iterator
returned by `evaluate` runs later without a deadline. Forbidden builtins fail at run time (NameError),
not at compile time, so task variables named `type` or `input` keep working.
"""

from __future__ import annotations

import ast
import builtins
import logging
import math
import operator
import re
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from numbers import Number
from time import monotonic
from types import CodeType, SimpleNamespace
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
)
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, IOPERATOR_TO_STR, RestrictingNodeTransformer
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment

__all__ = ["SandboxEnvironment", "ScriptLimitExceeded", "ScriptRejected", "ScriptTimeout",
           "check_expression", "check_script"]

log = logging.getLogger(__name__)

SCRIPT_FILENAME = "<string>"  # SpiffWorkflow looks for this file name to report the failing line
MAX_SOURCE = 1_000_000  # characters of script text
MAX_RANGE = 10_000_000  # elements of a range()
MAX_STR = 50_000_000  # characters of a str/bytes built by + * % or padding
MAX_ITEMS = 10_000_000  # elements of a list/tuple built by + or *
MAX_INT_BITS = 100_000  # bits of an int built by * ** << (30,000 digits; big-int C code is quadratic)


class ScriptRejected(ValueError):
    """The source breaks the sandbox rules or does not compile; nothing ran. `.lineno` when known."""

    def __init__(self, message: str, lineno: int | None = None):
        super().__init__(message)
        self.lineno = lineno


class ScriptTimeout(Exception):
    """The script or expression ran past its time limit and was stopped."""


class ScriptLimitExceeded(Exception):
    """An operation would build a value larger than scripts may build (memory guard)."""


# -- compile time ---------------------------------------------------------------------------------

_OPERATOR_GUARDS = {ast.Add: "_add_", ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_",
                    ast.Mod: "_mod_"}


def _call(name: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
    func = ast.copy_location(ast.Name(name, ast.Load()), like)
    return ast.copy_location(ast.Call(func, args, []), like)


def _rearm(like: ast.AST) -> ast.Expr:
    return ast.copy_location(ast.Expr(_call("_rearm_", [], like)), like)


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's rules plus the size checks and time-limit hooks described above."""

    def visit_Import(self, node: ast.AST) -> ast.AST:
        self.error(node, "import statements are not allowed; datetime, date, timedelta, timezone, "
                         "Decimal and math are available without importing")
        return node

    visit_ImportFrom = visit_Import

    def visit_ClassDef(self, node: ast.AST) -> ast.AST:
        self.error(node, "class definitions are not allowed in scripts")
        return node

    def visit_With(self, node: ast.AST) -> ast.AST:
        self.error(node, "with statements are not allowed in scripts")
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        guard = _OPERATOR_GUARDS.get(type(node.op))
        return node if guard is None else _call(guard, [node.left, node.right], node)

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        target = node.target
        if not isinstance(target, ast.Subscript) or isinstance(target.slice, ast.Slice):
            return super().visit_AugAssign(node)  # names: _inplacevar_; attributes, slices: refused
        # `d[k] += v` is common in scripts; RestrictedPython refuses it, a guard performs it instead.
        args = [self.visit(target.value), self.visit(target.slice),
                ast.Constant(IOPERATOR_TO_STR[type(node.op)]), self.visit(node.value)]
        return ast.fix_missing_locations(ast.copy_location(ast.Expr(_call("_augitem_", args, node)), node))

    def visit_While(self, node: ast.While) -> ast.AST:
        node = self.node_contents_visit(node)
        # `while True: pass` compiles to one jump to itself, which raises no trace events. Loading a
        # name (a few nanoseconds) gives every loop an instruction to jump back to, hence a line event.
        name = ast.copy_location(ast.Name("_rearm_", ast.Load()), node)
        node.body.insert(0, ast.copy_location(ast.Expr(name), node))
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        node = super().visit_ExceptHandler(node)
        if node.type is not None:  # `except f():` runs code before the body: re-arm before that too
            node.type = ast.copy_location(ast.BoolOp(ast.Or(), [_call("_rearm_", [], node.type), node.type]),
                                          node.type)
        node.body.insert(0, _rearm(node))
        return node

    def visit_Try(self, node: ast.Try) -> ast.AST:
        node = super().visit_Try(node)
        if node.finalbody:
            node.finalbody.insert(0, _rearm(node.finalbody[0]))
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node = super().visit_FormattedValue(node)
        if node.format_spec is not None:  # f"{x:>{n}}" pads: check the computed spec before formatting
            spec = node.format_spec
            checked = ast.copy_location(ast.FormattedValue(_call("_spec_", [spec], spec), -1, None), spec)
            node.format_spec = ast.copy_location(ast.JoinedStr([checked]), spec)
        return node


@lru_cache(maxsize=2048)
def _compile(source: str, mode: str) -> CodeType:
    """Compile under the sandbox rules; cached because the same gateway condition runs many times."""
    if len(source) > MAX_SOURCE:
        raise ScriptRejected(f"script is too long ({len(source):,} characters, limit {MAX_SOURCE:,})")
    compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    try:
        result = compiler(source, filename=SCRIPT_FILENAME, policy=_Policy)
    except SyntaxError as err:  # raised by compile() after the AST checks, e.g. 'return' outside function
        raise ScriptRejected(f"Line {err.lineno}: SyntaxError: {err.msg}", err.lineno) from None
    except (RecursionError, MemoryError):
        raise ScriptRejected("script is too deeply nested") from None
    if result.errors:
        match = re.match(r"Line (\d+):", result.errors[0])
        raise ScriptRejected("; ".join(result.errors), int(match.group(1)) if match else None)
    return result.code


def check_script(source: str) -> None:
    """Deploy-time check of a script task's text: compiles without running; raises ScriptRejected."""
    _compile(source, "exec")


def check_expression(source: str) -> None:
    """Deploy-time check of a Python expression: compiles without running; raises ScriptRejected."""
    _compile(source, "eval")


# -- run time guards ------------------------------------------------------------------------------

_SEQUENCES = (str, bytes, list, tuple)
_WIDE_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d{7,}|\d*\.(?:\*|\d{7,}))")
_WIDE_SPEC = re.compile(r"\d{7,}")
_BLOCKED_ATTRIBUTES = INSPECT_ATTRIBUTES | {"format", "format_map", "mro"}
_GROWING = {"ljust", "rjust", "center", "zfill", "expandtabs", "replace", "join", "extend"}


def _refuse(what: str) -> ScriptLimitExceeded:
    return ScriptLimitExceeded(f"{what} is larger than scripts may build")


def _check(op: str, a: Any, b: Any) -> None:
    """Refuse `a op b` before it runs when the result would be huge: a single C-level operation cannot
    be interrupted by the deadline, and `"a" * 10**10` would take the whole process down."""
    if isinstance(a, int) and isinstance(b, int):
        if op == "*":
            bits = a.bit_length() + b.bit_length()
        elif op == "**":
            bits = a.bit_length() * b if b > 0 and a not in (-1, 0, 1) else 0
        elif op == "<<":
            bits = a.bit_length() + b if a and b > 0 else 0
        else:
            return
        if bits > MAX_INT_BITS:
            raise _refuse(f"an integer of about {bits:,} bits")
    elif op == "%" and isinstance(a, (str, bytes)):
        if _WIDE_PERCENT.search(a if isinstance(a, str) else a.decode("latin-1")):
            raise _refuse("a %-format width or precision")
    elif op in ("+", "*"):
        seq, other = (b, a) if isinstance(b, _SEQUENCES) and not isinstance(a, _SEQUENCES) else (a, b)
        if op == "+" and isinstance(seq, _SEQUENCES) and isinstance(other, _SEQUENCES):
            length = len(seq) + len(other)
        elif op == "*" and isinstance(seq, _SEQUENCES) and isinstance(other, int):
            length = len(seq) * other
        else:
            return
        if length > (MAX_STR if isinstance(seq, (str, bytes)) else MAX_ITEMS):
            raise _refuse(f"a {type(seq).__name__} of {length:,} elements")


def _binop(op: str, func: Any) -> Any:
    def apply(a: Any, b: Any) -> Any:
        _check(op, a, b)
        return func(a, b)
    return apply


def _add(a: Any, b: Any) -> Any:  # `+` and `*` are hot: check only the cases that can grow
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        _check("+", a, b)
    return a + b


def _mul(a: Any, b: Any) -> Any:
    if isinstance(a, _SEQUENCES) or isinstance(b, _SEQUENCES) or isinstance(a, int) and isinstance(b, int) \
            and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        _check("*", a, b)
    return a * b


_INPLACE = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
            "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
            ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor,
            "@=": operator.imatmul}


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    if isinstance(x, _SEQUENCES) or op in ("*=", "**=", "<<=", "%="):
        _check(op[:-1], x, y)
    return _INPLACE[op](x, y)


def _augitem(obj: Any, key: Any, op: str, value: Any) -> None:
    full_write_guard(obj)[key] = _inplacevar(op, obj[key], value)


def _spec(spec: str) -> str:
    if _WIDE_SPEC.search(spec):
        raise _refuse(f"a format width or precision in {spec[:40]!r}")
    return spec


def _getattr(obj: Any, name: str, *default: Any) -> Any:
    """`obj.name` and getattr() in scripts: no `_` names, no frame/generator internals, no mro(), no
    str.format/format_map (they read attributes of their arguments: "{0.__class__}")."""
    if type(name) is not str:
        raise TypeError("attribute name must be a string")
    if name.startswith("_") or name in _BLOCKED_ATTRIBUTES:
        raise AttributeError(f"attribute {name!r} is not available in scripts")
    value = getattr(obj, name, *default)
    if name not in _GROWING:
        return value
    if isinstance(obj, (str, bytes, list)):
        return _sized(obj, name, value)
    if obj is str or obj is bytes or obj is list:  # unbound, as in str.ljust(s, n)
        return lambda self, *args, **kwargs: _getattr(self, name)(*args, **kwargs)
    return value


def _sized(obj: Any, name: str, method: Any) -> Any:
    """Wrap a method that can grow a value ("x".ljust(10**10), s.join([s] * n)): check before calling."""
    def call(*args: Any, **kwargs: Any) -> Any:
        if name == "join" and args:
            args = (list(args[0]), *args[1:])
        first = args[0] if args else kwargs.get("tabsize", 8)
        if name in ("ljust", "rjust", "center", "zfill"):
            bound = first if isinstance(first, int) else 0
        elif name == "expandtabs":
            bound = len(obj) * first if isinstance(first, int) else 0
        elif name == "replace" and len(args) >= 2 and all(isinstance(a, (str, bytes)) for a in args[:2]):
            bound = len(obj) + (len(obj) // max(len(args[0]), 1) + 1) * len(args[1])
        elif name == "join" and args:
            items = args[0]
            try:
                bound = sum(map(len, items)) + len(obj) * max(len(items) - 1, 0)
            except TypeError:  # not all strings: join raises its own error
                bound = 0
        elif name == "extend" and args and isinstance(first, (list, tuple, str, bytes, dict, set, range)):
            bound = len(obj) + len(first)
        else:
            bound = 0
        if bound > (MAX_STR if isinstance(obj, (str, bytes)) else MAX_ITEMS):
            raise _refuse(f"{type(obj).__name__}.{name}() giving up to {bound:,} elements")
        return method(*args, **kwargs)
    return call


def _range(*args: Any) -> range:
    result = range(*args)
    try:
        too_big = len(result) > MAX_RANGE
    except OverflowError:  # more than sys.maxsize elements
        too_big = True
    if too_big:
        raise _refuse(f"range{args}")
    return result


def _pow(base: Any, exp: Any, mod: Any = None) -> Any:
    if mod is None:
        _check("**", base, exp)
    elif isinstance(exp, int) and isinstance(mod, int) and exp.bit_length() * mod.bit_length() > 10**8:
        raise _refuse("a modular power")  # not large, but slow inside C code: bits(exp) big-int products
    return pow(base, exp, mod)


def _sum(iterable: Any, start: Any = 0) -> Any:
    if not isinstance(start, (Number, timedelta)):  # sum(lists, []) is quadratic inside C code
        raise TypeError("sum() adds numbers or timedeltas; join sequences with a comprehension")
    return sum(iterable, start)


def _iter(obj: Any, *sentinel: Any) -> Any:
    if sentinel:  # iter(callable, sentinel) can loop forever inside C code, out of the deadline's reach
        raise TypeError("iter(callable, sentinel) is not available in scripts")
    return iter(obj)


class _LogPrint:
    """Target of `print(...)` in scripts: output goes to the log at DEBUG, never to stdout."""

    def _call_print(self, *objects: Any, sep: str = " ", **_ignored: Any) -> None:
        log.debug("script print: %s", str(sep).join(map(str, objects))[:2000])

    def __call__(self) -> str:  # RestrictedPython's `printed`
        return ""


class _ReadOnlyNamespace(SimpleNamespace):
    """Module-like helpers without a module object (modules carry __builtins__ and other modules)."""

    def _read_only(self, *args: Any) -> None:
        raise AttributeError("this namespace is read-only")

    __setattr__ = __delattr__ = _read_only


_PRINT = _LogPrint()
_GUARDS: dict[str, Any] = {
    "_getattr_": _getattr, "_getitem_": operator.getitem, "_getiter_": iter, "_write_": full_write_guard,
    "_inplacevar_": _inplacevar, "_augitem_": _augitem, "_spec_": _spec, "_apply_": lambda f, *a, **k: f(*a, **k),
    "_unpack_sequence_": guarded_unpack_sequence, "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_print_": lambda _getattr=None: _PRINT, "_print": _PRINT,
    "_add_": _add, "_mul_": _mul, "_pow_": _binop("**", operator.pow),
    "_lshift_": _binop("<<", operator.lshift), "_mod_": _binop("%", operator.mod),
}
MATH = _ReadOnlyNamespace(**{name: getattr(math, name) for name in (
    "pi", "e", "tau", "inf", "nan", "sqrt", "floor", "ceil", "trunc", "fabs", "exp", "log", "log10", "log2",
    "pow", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "hypot", "degrees", "radians", "copysign",
    "isclose", "isfinite", "isinf", "isnan", "fsum")})
SAFE_BUILTINS: dict[str, Any] = {
    **{name: getattr(builtins, name) for name in (
        "abs", "all", "any", "bool", "callable", "chr", "dict", "divmod", "enumerate", "filter", "float",
        "frozenset", "hash", "hex", "int", "isinstance", "len", "list", "map", "max", "min", "next", "oct",
        "ord", "repr", "reversed", "round", "set", "slice", "sorted", "str", "tuple", "zip", "RecursionError")},
    **{name: value for name, value in safe_builtins.items()  # Exception subclasses only: no SystemExit
       if isinstance(value, type) and issubclass(value, Exception)},
    "range": _range, "pow": _pow, "sum": _sum, "iter": _iter, "getattr": _getattr,
    "datetime": datetime, "date": date, "timedelta": timedelta, "timezone": timezone, "Decimal": Decimal,
    "math": MATH, **_GUARDS,
}
_RESERVED = frozenset(_GUARDS) | {"_rearm_", "__builtins__"}


# -- running --------------------------------------------------------------------------------------

def _run(code: CodeType, scope: dict[str, Any], time_limit: float) -> Any:
    """Evaluate `code` in `scope` under a deadline checked by a trace function on this thread only.

    CPython drops a trace function that raises, so after ScriptTimeout (or a RecursionError raised
    inside the tracer) a script that catches the error would run on untimed. Every `except` and
    `finally` therefore starts with `_rearm_()`: it raises again once the deadline has passed and
    otherwise reinstalls the tracer on the script's frames.
    """
    deadline = monotonic() + time_limit

    def timeout(frame: Any) -> ScriptTimeout:  # the line is in the message: tracebacks may lack it
        while frame is not None and frame.f_code.co_filename != SCRIPT_FILENAME:
            frame = frame.f_back
        where = f" at line {frame.f_lineno}" if frame is not None else ""
        return ScriptTimeout(f"script stopped{where}: it ran longer than its time limit of {time_limit:g} s")

    def on_call(frame: Any, event: str, arg: Any) -> Any:  # every new frame; the sandbox's helpers need none
        if frame.f_code.co_filename != SCRIPT_FILENAME:
            return None
        if monotonic() > deadline:
            raise timeout(frame)
        return on_line

    def on_line(frame: Any, event: str, arg: Any) -> Any:  # every line of the script's own frames
        if monotonic() > deadline:
            raise timeout(frame)
        return on_line

    def rearm() -> None:
        if monotonic() > deadline:
            raise timeout(sys._getframe(1))
        if sys.gettrace() is not on_call:
            sys.settrace(on_call)
            frame = sys._getframe(1)
            while frame is not None and frame.f_code is not _RUN_CODE:
                if frame.f_code.co_filename == SCRIPT_FILENAME:
                    frame.f_trace = on_line
                frame = frame.f_back

    scope["__builtins__"] = SAFE_BUILTINS
    scope["_rearm_"] = rearm
    previous = sys.gettrace()  # e.g. coverage or a debugger: put it back afterwards
    sys.settrace(on_call)
    try:
        return eval(code, scope)
    finally:
        sys.settrace(previous)


_RUN_CODE = _run.__code__


class SandboxEnvironment(TaskDataEnvironment):
    """SpiffWorkflow script environment that runs scripts and expressions in the sandbox.

    Same contract as TaskDataEnvironment: `evaluate` reads the task data; `execute` runs the script
    in the task data dict itself, so new variables stay there, while functions, helpers, builtins,
    `extra_globals` and iterators are removed afterwards. One difference: a script that fails
    leaves the names of the task data bound as it found them.
    """

    def __init__(self, time_limit: float = 5.0, extra_globals: dict[str, Any] | None = None):
        super().__init__(dict(extra_globals or {}))
        self.time_limit = time_limit

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: dict[str, Any] | None = None) -> Any:
        code = _compile(expression, "eval")
        _check_reserved(context)
        return _run(code, {**self.globals, **(external_context or {}), **context}, self.time_limit)

    def execute(self, script: str, context: dict[str, Any],
                external_context: dict[str, Any] | None = None) -> bool:
        code = _compile(script, "exec")
        self.check_for_overwrite(context, external_context or {})
        _check_reserved(context)
        self._prepare_context(context)
        before = dict(context)
        context.update(self.globals)
        context.update(external_context or {})
        try:
            _run(code, context, self.time_limit)
        except BaseException:
            # A failed script leaves the task data as it found it (names bound anew or rebound are
            # undone; objects changed in place stay changed): what it built before failing, up to
            # the size limits (a list of 8 million items), must not be saved with the instance,
            # and a retry after an incident runs the script on the data it first saw.
            context.clear()
            context.update(before)
            raise
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
            # Iterators (generators, map(lambda ...)) would run script code later, outside the deadline.
            for name in [k for k, v in context.items() if k in _RESERVED or isinstance(v, Iterator)]:
                del context[name]
        return True


def _check_reserved(context: dict[str, Any]) -> None:
    """Task data must not shadow the guards (globals are looked up before builtins)."""
    if not _RESERVED.isdisjoint(context):
        raise ValueError(f"task data uses names reserved by the sandbox: {sorted(_RESERVED.intersection(context))}")

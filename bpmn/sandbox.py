"""Restricted Python for script tasks and expressions (RestrictedPython plus a time limit).

Diagrams are uploaded by people, and their scripts run inside the server process, so a script must
not reach modules, files, the network, interpreter internals or other instances' data, and must not
stall a worker. Layers:

1. Compile time (`_Policy`, cached per source text): RestrictedPython's rules (no names or attributes
   starting with `_`, no frame/generator internals, attribute and item access through guards) plus
   ours: no imports, classes or `with`; `+ * ** << %` and f-string format specs go through size
   guards; every `except`/`finally` re-arms the time limit first (see `_run`).
2. Run time: a small set of builtins (no `open`, `type`, `vars`, `getattr` on `_` names, `format`),
   size-checked `range`/`pow`/`sum`/padding methods, and a per-thread `sys.settrace` deadline.

Known gaps (run workers under an OS memory limit as the backstop): memory growth through methods
(`lst.extend(lst)` in a loop, `str.replace`, `str.join`), repr/str of aliased structures
(`[[0] * 10**6] * 10**6`), and single C-level calls over data within the limits may overrun the
time limit by a few seconds. Names such as `open` or `type` fail at run time with NameError rather
than at compile time, so task variables may still use those names.
"""

from __future__ import annotations

import ast
import builtins
import logging
import math
import operator
import re
import sys
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
MAX_STR = 50_000_000  # characters/bytes of a string built by * + % or padding
MAX_ITEMS = 10_000_000  # elements of a list/tuple built by * or +
MAX_INT_BITS = 1_000_000  # bits of an int built by * ** <<


class ScriptRejected(ValueError):
    """The source breaks the sandbox rules or does not compile; nothing has run. `.lineno` if known."""

    def __init__(self, message: str, lineno: int | None = None):
        super().__init__(message)
        self.lineno = lineno


class ScriptTimeout(Exception):
    """The script or expression ran past its time limit and was stopped."""


class ScriptLimitExceeded(Exception):
    """An operation would build a value larger than the sandbox allows (memory guard)."""


# -- compile time -------------------------------------------------------------------------------

_OPERATOR_GUARDS = {ast.Add: "_add_", ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_",
                    ast.Mod: "_mod_"}


def _call(name: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
    func = ast.copy_location(ast.Name(name, ast.Load()), like)
    return ast.fix_missing_locations(ast.copy_location(ast.Call(func, args, []), like))


def _rearm_stmt(like: ast.AST) -> ast.Expr:
    return ast.copy_location(ast.Expr(_call("_rearm_", [], like)), like)


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's rules plus the size guards and time-limit hooks described above."""

    def visit_Import(self, node: ast.AST) -> ast.AST:
        self.error(node, "import statements are not allowed; scripts get datetime, date, timedelta, "
                         "timezone, Decimal and math without importing")
        return node

    visit_ImportFrom = visit_Import

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.error(node, "class definitions are not allowed in scripts")
        return node

    def visit_With(self, node: ast.With) -> ast.AST:
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
        # `d[k] += v` is common in scripts; RestrictedPython refuses it, we route it through a guard.
        args = [self.visit(target.value), self.visit(target.slice),
                ast.Constant(IOPERATOR_TO_STR[type(node.op)]), self.visit(node.value)]
        return ast.copy_location(ast.Expr(_call("_augitem_", args, node)), node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        node = super().visit_ExceptHandler(node)
        if node.type is not None:  # `except f():` runs code before the body: re-arm before that too
            node.type = ast.copy_location(ast.BoolOp(ast.Or(), [_call("_rearm_", [], node.type), node.type]),
                                          node.type)
        node.body.insert(0, _rearm_stmt(node))
        return node

    def visit_Try(self, node: ast.Try) -> ast.AST:
        node = super().visit_Try(node)
        if node.finalbody:
            node.finalbody.insert(0, _rearm_stmt(node.finalbody[0]))
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node = super().visit_FormattedValue(node)
        spec = node.format_spec
        if spec is not None:  # f"{x:>{width}}" pads: pass the computed spec through a size check
            checked = ast.FormattedValue(_call("_spec_", [spec], spec), -1, None)
            node.format_spec = ast.copy_location(ast.JoinedStr([ast.copy_location(checked, spec)]), spec)
        return node


def _rejection(errors: list[str] | tuple[str, ...]) -> ScriptRejected:
    match = re.match(r"Line (\d+):", errors[0])
    return ScriptRejected("; ".join(errors), int(match.group(1)) if match else None)


@lru_cache(maxsize=2048)
def _compile(source: str, mode: str) -> CodeType:
    """Compile under the sandbox rules; cached because the same gateway condition runs many times."""
    if len(source) > MAX_SOURCE:
        raise ScriptRejected(f"script is too long ({len(source):,} characters, limit {MAX_SOURCE:,})")
    compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    try:
        result = compiler(source, filename=SCRIPT_FILENAME, policy=_Policy)
    except SyntaxError as err:  # found by compile() after the AST checks, e.g. 'return' outside function
        raise ScriptRejected(f"Line {err.lineno}: SyntaxError: {err.msg}", err.lineno) from None
    except (RecursionError, MemoryError):
        raise ScriptRejected("script is too deeply nested") from None
    if result.errors:
        raise _rejection(result.errors)
    return result.code


def check_script(source: str) -> None:
    """Deploy-time check of a script task's text: compiles without running; raises ScriptRejected."""
    _compile(source, "exec")


def check_expression(source: str) -> None:
    """Deploy-time check of a (Python) expression: compiles without running; raises ScriptRejected."""
    _compile(source, "eval")


# -- run time guards ----------------------------------------------------------------------------

_SEQUENCES = (str, bytes, list, tuple)
_WIDE_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d{7,}|\d*\.(?:\*|\d{7,}))")
_WIDE_SPEC = re.compile(r"\d{7,}")


def _refuse(what: str) -> ScriptLimitExceeded:
    return ScriptLimitExceeded(f"{what} is larger than scripts may build")


def _check_length(length: int, like: Any) -> None:
    if length > (MAX_STR if isinstance(like, (str, bytes)) else MAX_ITEMS):
        raise _refuse(f"a {type(like).__name__} of {length:,} elements")


def _check_add(a: Any, b: Any) -> None:
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        _check_length(len(a) + len(b), a)


def _check_mul(a: Any, b: Any) -> None:
    if isinstance(a, int) and isinstance(b, int):
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise _refuse("an integer product")
    elif isinstance(a, _SEQUENCES) and isinstance(b, int):
        _check_length(len(a) * b, a)
    elif isinstance(b, _SEQUENCES) and isinstance(a, int):
        _check_length(len(b) * a, b)


def _check_pow(a: Any, b: Any) -> None:
    if isinstance(a, int) and isinstance(b, int) and b > 0 and a not in (-1, 0, 1) \
            and a.bit_length() * b > MAX_INT_BITS:
        raise _refuse("an integer power")


def _check_lshift(a: Any, b: Any) -> None:
    if isinstance(a, int) and isinstance(b, int) and a and b > 0 and a.bit_length() + b > MAX_INT_BITS:
        raise _refuse("an integer shift")


def _check_mod(a: Any, b: Any) -> None:
    text = a.decode("latin-1") if isinstance(a, bytes) else a
    if isinstance(text, str) and _WIDE_PERCENT.search(text):
        raise _refuse("a %-format width or precision")


def _guarded(op: Any, check: Any) -> Any:
    def apply(a: Any, b: Any) -> Any:
        check(a, b)
        return op(a, b)
    return apply


_INPLACE: dict[str, tuple[Any, Any]] = {
    "+=": (operator.iadd, _check_add), "*=": (operator.imul, _check_mul),
    "**=": (operator.ipow, _check_pow), "<<=": (operator.ilshift, _check_lshift),
    "%=": (operator.imod, _check_mod), "-=": (operator.isub, None), "/=": (operator.itruediv, None),
    "//=": (operator.ifloordiv, None), ">>=": (operator.irshift, None), "&=": (operator.iand, None),
    "|=": (operator.ior, None), "^=": (operator.ixor, None), "@=": (operator.imatmul, None),
}


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    func, check = _INPLACE[op]
    if check is not None:
        check(x, y)
    return func(x, y)


def _augitem(obj: Any, key: Any, op: str, value: Any) -> None:
    full_write_guard(obj)[key] = _inplacevar(op, obj[key], value)


def _spec(spec: str) -> str:
    if _WIDE_SPEC.search(spec):
        raise _refuse(f"a format width or precision in {spec[:40]!r}")
    return spec


_BLOCKED_ATTRIBUTES = INSPECT_ATTRIBUTES | {"format", "format_map", "mro"}
_PADDING = {"ljust", "rjust", "center", "zfill", "expandtabs"}


def _padding(method: Any, factor: int) -> Any:
    def pad(*args: Any, **kwargs: Any) -> Any:
        width = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(width, int) and width * factor > MAX_STR:
            raise _refuse(f"padding to {width:,}")
        return method(*args, **kwargs)
    return pad


def _getattr(obj: Any, name: str, *default: Any) -> Any:
    """`obj.name` in scripts: no `_` names, no frame/generator internals, no str.format (it reads
    attributes of its arguments: "{0.__class__}"), no mro()."""
    if type(name) is not str:
        raise TypeError("attribute name must be a string")
    if name.startswith("_") or name in _BLOCKED_ATTRIBUTES:
        raise AttributeError(f"attribute {name!r} is not available in scripts")
    value = getattr(obj, name, *default)
    if name in _PADDING and isinstance(obj, (str, bytes)):
        return _padding(value, len(obj) if name == "expandtabs" else 1)
    return value


def _hasattr(obj: Any, name: str) -> bool:
    try:
        _getattr(obj, name)
    except AttributeError:
        return False
    return True


def _range(*args: Any) -> range:
    result = range(*args)
    try:
        too_big = len(result) > MAX_RANGE
    except OverflowError:
        too_big = True
    if too_big:
        raise _refuse(f"range{args}")
    return result


def _pow(base: Any, exp: Any, mod: Any = None) -> Any:
    if mod is None:
        _check_pow(base, exp)
    return pow(base, exp, mod)


def _sum(iterable: Any, start: Any = 0) -> Any:
    if not isinstance(start, (Number, timedelta)):  # sum(lists, []) is quadratic inside C code
        raise TypeError("sum() adds numbers or timedeltas; join sequences with a comprehension")
    return sum(iterable, start)


def _iter(obj: Any) -> Any:
    return iter(obj)  # one argument only: iter(callable, sentinel) loops inside C code


class _LogPrint:
    """Target of `print(...)` in scripts: output goes to the log, never to stdout."""

    def _call_print(self, *objects: Any, sep: str = " ", **_ignored: Any) -> None:
        log.debug("script print: %s", str(sep).join(map(str, objects))[:2000])

    def __call__(self) -> str:  # RestrictedPython's `printed`
        return ""


class _ReadOnlyNamespace(SimpleNamespace):
    """Module-like helpers without a module object (modules carry __builtins__ and friends)."""

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("this namespace is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("this namespace is read-only")


MATH = _ReadOnlyNamespace(**{name: getattr(math, name) for name in (
    "pi", "e", "tau", "inf", "nan", "sqrt", "floor", "ceil", "trunc", "fabs", "exp", "log", "log10", "log2",
    "pow", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "hypot", "degrees", "radians", "copysign",
    "isclose", "isfinite", "isinf", "isnan", "fsum")})

_PRINT = _LogPrint()
_GUARDS: dict[str, Any] = {
    "_getattr_": _getattr, "_getitem_": operator.getitem, "_getiter_": iter, "_write_": full_write_guard,
    "_inplacevar_": _inplacevar, "_augitem_": _augitem, "_spec_": _spec, "_apply_": lambda f, *a, **k: f(*a, **k),
    "_unpack_sequence_": guarded_unpack_sequence, "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_print_": lambda _getattr=None: _PRINT, "_print": _PRINT,
    "_add_": _guarded(operator.add, _check_add), "_mul_": _guarded(operator.mul, _check_mul),
    "_pow_": _guarded(operator.pow, _check_pow), "_lshift_": _guarded(operator.lshift, _check_lshift),
    "_mod_": _guarded(operator.mod, _check_mod),
}
SAFE_BUILTINS: dict[str, Any] = {
    **{name: getattr(builtins, name) for name in (
        "abs", "all", "any", "bool", "callable", "chr", "dict", "divmod", "enumerate", "filter", "float",
        "frozenset", "hash", "hex", "int", "isinstance", "len", "list", "map", "max", "min", "next", "oct",
        "ord", "repr", "reversed", "round", "set", "slice", "sorted", "str", "tuple", "zip")},
    **{name: value for name, value in safe_builtins.items()
       if isinstance(value, type) and issubclass(value, Exception)},  # not SystemExit & co
    "range": _range, "pow": _pow, "sum": _sum, "iter": _iter, "getattr": _getattr, "hasattr": _hasattr,
    "datetime": datetime, "date": date, "timedelta": timedelta, "timezone": timezone, "Decimal": Decimal,
    "math": MATH, **_GUARDS,
}
_RESERVED = frozenset(_GUARDS) | {"_rearm_", "__builtins__"}


# -- running ------------------------------------------------------------------------------------

def _run(code: CodeType, scope: dict[str, Any], time_limit: float) -> Any:
    """Evaluate `code` in `scope` with a deadline enforced by a trace function on this thread only.

    CPython removes a trace function that raises, so once ScriptTimeout (or a RecursionError inside
    the tracer) has been raised, a script that catches it would run on untimed. Every `except` and
    `finally` therefore starts with `_rearm_()`, which raises again after the deadline and otherwise
    reinstalls the tracer on the script's frames.
    """
    deadline = monotonic() + time_limit

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if monotonic() > deadline:
            raise ScriptTimeout(f"script stopped: it ran longer than its time limit of {time_limit:g} s")
        return tracer if frame.f_code.co_filename == SCRIPT_FILENAME else None

    def rearm() -> None:
        if monotonic() > deadline:
            raise ScriptTimeout(f"script stopped: it ran longer than its time limit of {time_limit:g} s")
        if sys.gettrace() is not tracer:
            sys.settrace(tracer)
            frame = sys._getframe(1)
            while frame is not None and frame.f_code is not _RUN_CODE:
                if frame.f_code.co_filename == SCRIPT_FILENAME:
                    frame.f_trace = tracer
                frame = frame.f_back

    scope["__builtins__"] = SAFE_BUILTINS
    scope["_rearm_"] = rearm
    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        return eval(code, scope)
    finally:
        sys.settrace(previous)


_RUN_CODE = _run.__code__


class SandboxEnvironment(TaskDataEnvironment):
    """SpiffWorkflow script environment running scripts and expressions in the sandbox.

    Same contract as TaskDataEnvironment: `evaluate` reads the task data, `execute` runs a script
    directly in the task data dict (new variables stay there; functions, helpers and builtins are
    removed afterwards). `extra_globals` are offered to scripts and removed afterwards likewise.
    """

    def __init__(self, time_limit: float = 5.0, extra_globals: dict[str, Any] | None = None):
        super().__init__(dict(extra_globals or {}))
        self.time_limit = time_limit

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: dict[str, Any] | None = None) -> Any:
        code = _compile(expression, "eval")
        self._check_reserved(context)
        return _run(code, {**self.globals, **(external_context or {}), **context}, self.time_limit)

    def execute(self, script: str, context: dict[str, Any],
                external_context: dict[str, Any] | None = None) -> bool:
        code = _compile(script, "exec")
        self.check_for_overwrite(context, external_context or {})
        self._check_reserved(context)
        self._prepare_context(context)
        context.update(self.globals)
        context.update(external_context or {})
        try:
            _run(code, context, self.time_limit)
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
            for name in [k for k in context if k in _RESERVED or k.startswith("_tmp")]:
                del context[name]
        return True

    @staticmethod
    def _check_reserved(context: dict[str, Any]) -> None:
        if not _RESERVED.isdisjoint(context):
            raise ValueError(f"task data uses names reserved by the sandbox: {sorted(_RESERVED & set(context))}")

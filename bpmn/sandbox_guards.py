"""Run-time guards of the script sandbox (bpmn/sandbox.py): the builtins scripts get and the
checks on operations that could build huge values or reach interpreter internals.

Kept apart from the compiler and the runner so each reads on its own; the compiler rewrites
`+ * ** << %`, attribute access and format specs into calls of the `_..._` functions below.
"""

from __future__ import annotations

import builtins
import importlib
import logging
import math
import operator
import re
from datetime import date, datetime, timedelta, timezone
from numbers import Number
from types import SimpleNamespace
from typing import Any

from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
)
from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from .sandbox_numbers import ScriptDecimal, script_round

log = logging.getLogger(__name__)

MAX_RANGE = 10_000_000  # elements of a range()
MAX_STR = 50_000_000  # characters of a str/bytes built by + * % or padding
MAX_ITEMS = 10_000_000  # elements of a list/tuple built by + or *
MAX_INT_BITS = 100_000  # bits of an int built by * ** << (30,000 digits; big-int C code is quadratic)


class ScriptLimitExceeded(Exception):
    """An operation would build a value larger than scripts may build (memory guard)."""



_SEQUENCES = (str, bytes, list, tuple)
_WIDE_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d{7,}|\d*\.(?:\*|\d{7,}))")
_WIDE_SPEC = re.compile(r"\d{7,}")
_BLOCKED_ATTRIBUTES = INSPECT_ATTRIBUTES | {"format", "format_map", "mro"}
_GROWING = {"ljust", "rjust", "center", "zfill", "expandtabs", "replace", "join", "extend", "translate",
            "to_bytes"}


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
    if isinstance(obj, (str, bytes, list)) or name == "to_bytes" and isinstance(obj, int):
        return _sized(obj, name, value)
    if obj is str or obj is bytes or obj is list or obj is int:  # unbound, as in str.ljust(s, n)
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
        elif name == "translate" and isinstance(obj, str) and args:  # each character may become a string
            bound = len(obj) * _longest_replacement(first)
        elif name == "to_bytes":  # (0).to_bytes(2**31): gigabytes in one call
            length = first if args else kwargs.get("length", 1)
            bound = length if isinstance(length, int) else 0
        else:
            bound = 0
        if bound > (MAX_STR if isinstance(obj, (str, bytes)) else MAX_ITEMS):
            raise _refuse(f"{type(obj).__name__}.{name}() giving up to {bound:,} elements")
        return method(*args, **kwargs)
    return call


def _longest_replacement(table: Any) -> int:
    """The longest string a str.translate table maps a character to (1 for tables of other kinds)."""
    values = table.values() if isinstance(table, dict) else table if isinstance(table, (list, tuple)) else ()
    return max([1, *(len(v) for v in values if isinstance(v, str))])


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
# datetime's C code imports these through the builtins of the frame that calls it, the script's:
# without `__import__` there, `strftime` and `strptime` failed with KeyError('__import__').
_IMPORTED_BY_C_CODE = frozenset({"time", "_strptime"})


def _import_for_c_code(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (),
                       level: int = 0) -> Any:
    """`__import__` in the scripts' builtins, for the library code they call, never for scripts
    themselves: a script cannot name it (the compiler refuses `_` names, `getattr` refuses them
    too), and it gives only the modules that datetime's C code asks for."""
    if level == 0 and name in _IMPORTED_BY_C_CODE:
        return importlib.import_module(name)
    raise ImportError(f"scripts cannot import {name!r}")


MATH = _ReadOnlyNamespace(**{name: getattr(math, name) for name in (
    "pi", "e", "tau", "inf", "nan", "sqrt", "floor", "ceil", "trunc", "fabs", "exp", "log", "log10", "log2",
    "pow", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "hypot", "degrees", "radians", "copysign",
    "isclose", "isfinite", "isinf", "isnan", "fsum")})
SAFE_BUILTINS: dict[str, Any] = {
    **{name: getattr(builtins, name) for name in (
        "abs", "all", "any", "bool", "callable", "chr", "dict", "divmod", "enumerate", "filter", "float",
        "frozenset", "hash", "hex", "int", "isinstance", "len", "list", "map", "max", "min", "next", "oct",
        "ord", "repr", "reversed", "set", "slice", "sorted", "str", "tuple", "zip", "RecursionError")},
    **{name: value for name, value in safe_builtins.items()  # Exception subclasses only: no SystemExit
       if isinstance(value, type) and issubclass(value, Exception)},
    "range": _range, "pow": _pow, "sum": _sum, "iter": _iter, "getattr": _getattr, "round": script_round,
    "datetime": datetime, "date": date, "timedelta": timedelta, "timezone": timezone, "Decimal": ScriptDecimal,
    "math": MATH, "__import__": _import_for_c_code, **_GUARDS,
}
RESERVED_NAMES = frozenset(_GUARDS) | {"_rearm_", "__builtins__"}

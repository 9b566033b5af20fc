"""Restricted Python for script tasks and expressions: RestrictedPython plus size guards and a deadline.

Diagrams are uploaded by people and their scripts run inside the server process, so a script must not
reach modules, files, the network or interpreter internals, and must not stall or exhaust a worker.

- Compile time (`_Policy`, cached per source text): RestrictedPython's rules (no names or attributes
  starting with `_`, no frame/generator internals, guarded attribute/item access) plus: no imports,
  classes or `with`; `+ * ** << %` and f-string format specs go through size checks; every `except`
  and `finally` first re-arms the time limit (see `_run`).
- Run time (bpmn/sandbox_guards.py): a small builtins table (no `open`, `type`, `vars`,
  `globals`, `format`, `__import__`...),
  `getattr` refusing `_` names, str.format/format_map and mro; size-checked `range`, `pow`, `sum`,
  `iter` and the str/list methods that amplify (padding, `replace`, `join`, `extend`, `translate`,
  `int.to_bytes`); `Decimal` and `round` bounded (bpmn/sandbox_numbers.py); a deadline
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
import json
import math
import re
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from time import monotonic
from types import CodeType
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.transformer import IOPERATOR_TO_STR, RestrictingNodeTransformer
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment

from .json_values import depth_exceeds, mend_text, unstorable_character
from .sandbox_guards import RESERVED_NAMES, SAFE_BUILTINS, ScriptLimitExceeded
from .sandbox_numbers import bounded_decimals

__all__ = ["SandboxEnvironment", "ScriptLimitExceeded", "ScriptRejected", "ScriptTimeout",
           "check_expression", "check_script"]


SCRIPT_FILENAME = "<string>"  # SpiffWorkflow looks for this file name to report the failing line
MAX_SOURCE = 1_000_000  # characters of script text
MAX_STORED_BYTES = 8 * 2**20  # of JSON in one variable a script leaves
MAX_STORED_DEPTH = 64  # levels of lists and dicts a variable may nest (the state fails to load at a few hundred)


class ScriptRejected(ValueError):
    """The source breaks the sandbox rules or does not compile; nothing ran. `.lineno` when known."""

    def __init__(self, message: str, lineno: int | None = None):
        super().__init__(message)
        self.lineno = lineno


class ScriptTimeout(Exception):
    """The script or expression ran past its time limit and was stopped."""



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
        with bounded_decimals():
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
            _make_storable(context)
            raise
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
            # Iterators (generators, map(lambda ...)) would run script code later, outside the deadline.
            for name in [k for k, v in context.items() if k in RESERVED_NAMES or isinstance(v, Iterator)]:
                del context[name]
        problem = _unstorable(context)
        if problem is not None:
            context.clear()
            context.update(before)
            _make_storable(context)
            raise ValueError(problem)
        return True


def _unstorable(context: dict[str, Any]) -> str | None:
    """Why a variable of the task data cannot be stored, or None. Instance variables are JSON: a
    datetime, Decimal, set or NaN left in the task data (bound anew or put into a list in place)
    would fail every later save of the instance, so the script fails here, naming the variable,
    and its step gets an incident."""
    for name, value in context.items():
        problem = storable_problem(name, value)
        if problem is not None:
            return problem
    return None


def storable_problem(name: str, value: Any) -> str | None:
    """Why `value` cannot be stored as variable `name`, or None: JSON only, nested at most
    MAX_STORED_DEPTH levels, at most MAX_STORED_BYTES of it (a script's 79 MB list made every later
    read of the instance take seconds), no character a text column refuses (U+0000, a lone
    surrogate: the web page of such an instance failed to render)."""
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as err:
        return f"variable {name!r} cannot be stored as JSON ({err}); {_storable_instead(value)}"
    if len(text) > MAX_STORED_BYTES:
        return f"variable {name!r} holds {len(text):,} bytes of JSON; at most {MAX_STORED_BYTES:,} can be stored"
    if depth_exceeds(value, MAX_STORED_DEPTH):
        return f"variable {name!r} nests lists and dicts deeper than {MAX_STORED_DEPTH} levels"
    # json.dumps writes every character beyond ASCII as an escape: text without one needs no walk
    character = unstorable_character(value) if "\\u" in text else None
    if character is not None:
        return f"variable {name!r} holds the character {character}, which text fields cannot store"
    return None


def _make_storable(context: dict[str, Any]) -> None:
    """After a failed script: what it put into existing lists and dicts in place stays there (the
    undo covers names, not mutation; a deep copy per script would cost too much), and other tasks'
    data may share those objects. So they are mended in place: a value JSON cannot hold becomes
    its text, and the instance's error state can still be saved and shows what the script left."""
    for name, value in context.items():
        if storable_problem(name, value) is not None:
            context[name] = _storable(value, set())


def _storable(value: Any, path: set[int]) -> Any:
    """`value` itself where JSON can hold it (lists and dicts mended in place), else its text."""
    if isinstance(value, str):
        return mend_text(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):  # str() refuses integers of more than 4,300 digits
        return value if value.bit_length() <= 14_000 else f"<integer of {value.bit_length()} bits>"
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, tuple):
        return _storable(list(value), path)
    if not isinstance(value, (list, dict)):
        return repr(value)
    if id(value) in path or len(path) >= MAX_STORED_DEPTH:
        return "<cycle or too deep>"
    path.add(id(value))
    for key, item in list(value.items() if isinstance(value, dict) else enumerate(value)):
        mended = _storable(item, path)
        if mended is not item:
            value[key] = mended
        if isinstance(value, dict) and not (isinstance(key, (str, int, float)) or key is None):
            value[repr(key)] = value.pop(key)
    path.discard(id(value))
    return value


def _storable_instead(value: Any) -> str:
    if isinstance(value, (date, timedelta)):
        return "store .isoformat() or str(...) of it, as text"
    if isinstance(value, Decimal):
        return "store float(...) or str(...) of it"
    return "store lists, dicts, text, finite numbers, booleans or None"


def _check_reserved(context: dict[str, Any]) -> None:
    """Task data must not shadow the guards (globals are looked up before builtins)."""
    if not RESERVED_NAMES.isdisjoint(context):
        clash = sorted(RESERVED_NAMES.intersection(context))
        raise ValueError(f"task data uses names reserved by the sandbox: {clash}")

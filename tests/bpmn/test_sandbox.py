"""The script sandbox: escape attempts are refused, normal scripts work, SpiffWorkflow runs with it."""

from __future__ import annotations

import sys
import threading
import time
from datetime import datetime

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.util.task import TaskState

from bpmn.expressions import translate
from bpmn.sandbox import (
    SandboxEnvironment,
    ScriptLimitExceeded,
    ScriptRejected,
    ScriptTimeout,
    check_expression,
    check_script,
)

LIMIT = 0.5


@pytest.fixture
def env() -> SandboxEnvironment:
    return SandboxEnvironment(time_limit=LIMIT)


# (id, script, what stops it). ScriptRejected means refused at compile time, before anything ran.
ESCAPES = [
    ("import", "import os", ScriptRejected),
    ("from-import", "from os import path", ScriptRejected),
    ("import-in-function", "def f():\n    import subprocess\nf()", ScriptRejected),
    ("dunder-import", "__import__('os')", ScriptRejected),
    ("builtins-name", "b = __builtins__['open']", ScriptRejected),
    ("subclasses", "x = ().__class__.__bases__[0].__subclasses__()", ScriptRejected),
    ("getattr-dunder", "c = getattr(x, '__class__')", AttributeError),
    ("getattr-built-dunder", "c = getattr(x, '__cl' + 'ass__')", AttributeError),
    ("mro", "o = int.mro()[-1]", AttributeError),
    ("format-attribute", "s = '{0.__class__}'.format(x)", AttributeError),
    ("format-unbound", "s = str.format('{0.__class__}', x)", AttributeError),
    ("format-map", "s = str.format_map('{a.__class__}', {'a': x})", AttributeError),
    ("format-map-method", "s = '{a}'.format_map({'a': x})", AttributeError),
    ("fstring-dunder", "s = f'{x.__class__}'", ScriptRejected),
    ("gi-frame", "g = (i for i in [1])\nf = g.gi_frame", ScriptRejected),
    ("gi-frame-getattr", "g = (i for i in [1])\nf = getattr(g, 'gi_frame')", AttributeError),
    ("generator-frame-back", "def gen():\n    yield 1\nf = gen().gi_frame.f_back", ScriptRejected),
    ("type", "t = type(x)", NameError),
    ("vars", "v = vars()", NameError),
    ("globals", "g = globals()", NameError),
    ("locals", "g = locals()", NameError),
    ("open", "data = open('/etc/passwd').read()", NameError),
    ("exec", "exec('x = 1')", ScriptRejected),
    ("eval", "y = eval('1 + 1')", ScriptRejected),
    ("compile", "c = compile('1', 'f', 'eval')", NameError),
    ("lambda-globals", "f = (lambda: 0).__globals__", ScriptRejected),
    ("lambda-getattr", "f = lambda: 0\ng = getattr(f, '__globals__')", AttributeError),
    ("lambda-code", "f = lambda: 0\nc = getattr(f, '__code__')", AttributeError),
    ("print-self", "m = print.__self__", ScriptRejected),
    ("dunder-name", "__x = 1", ScriptRejected),
    ("class", "class A:\n    pass", ScriptRejected),
    ("with", "with x:\n    pass", ScriptRejected),
    ("async", "async def f():\n    pass", ScriptRejected),
    ("system-exit", "raise SystemExit", NameError),
    ("setattr-math", "setattr(math, 'pi', 3)", NameError),
    ("assign-math", "math.pi = 3", TypeError),
    ("huge-string", "s = 'a' * 10**10", ScriptLimitExceeded),
    ("huge-list", "s = [0] * 10**9", ScriptLimitExceeded),
    ("huge-power", "n = 10**10**10", ScriptLimitExceeded),
    ("huge-pow-builtin", "n = pow(10, 10**9)", ScriptLimitExceeded),
    ("huge-shift", "n = 1 << 10**10", ScriptLimitExceeded),
    ("doubling-string", "s = 'a'\nwhile True:\n    s = s + s", ScriptLimitExceeded),
    ("doubling-inplace", "s = ['a']\nwhile True:\n    s *= 2", ScriptLimitExceeded),
    ("doubling-item", "d = {'s': 'ab'}\nwhile True:\n    d['s'] += d['s']", ScriptLimitExceeded),
    ("padding", "s = 'x'.ljust(10**10)", ScriptLimitExceeded),
    ("padding-unbound", "s = str.center('x', 10**10)", ScriptLimitExceeded),
    ("join-amplifier", "s = 'x' * 10**4\nt = s.join(['a'] * 10**4)", ScriptLimitExceeded),
    ("replace-amplifier", "s = 'a' * 10**4\nt = s.replace('a', s)", ScriptLimitExceeded),
    ("extend-doubling", "l = [0] * 10**6\nwhile True:\n    l.extend(l)", ScriptLimitExceeded),
    ("slow-modular-power", "n = pow(3, 1 << 99990, (1 << 99990) - 1)", ScriptLimitExceeded),
    ("fstring-width", "s = f'{x:>10000000000}'", ScriptLimitExceeded),
    ("fstring-dynamic-width", "w = 10**10\ns = f'{x:>{w}}'", ScriptLimitExceeded),
    ("percent-width", "s = '%10000000000d' % x", ScriptLimitExceeded),
    ("percent-star", "s = '%*d' % (10**10, x)", ScriptLimitExceeded),
    ("range-loop", "for i in range(10**12):\n    pass", ScriptLimitExceeded),
    ("sum-of-lists", "s = sum([[1]] * 1000, [])", TypeError),
    ("iter-sentinel", "s = list(iter(int, 1))", TypeError),
    ("while-true", "while True: pass", ScriptTimeout),
    ("while-true-block", "n = 0\nwhile True:\n    n += 1", ScriptTimeout),
    ("busy-comprehension", "s = [i for i in range(10**7) for j in range(10**7)]", ScriptTimeout),
    ("recursion", "def f():\n    return f()\nf()", RecursionError),
    ("catch-timeout", "while True:\n    try:\n        while True: pass\n    except Exception:\n        pass",
     ScriptTimeout),
    ("bare-except", "while True:\n    try:\n        while True: pass\n    except:\n        pass", ScriptTimeout),
    ("finally-loop", "try:\n    while True: pass\nfinally:\n    while True: pass", ScriptTimeout),
    ("except-clause-code", "def g():\n    while True: pass\ntry:\n    while True: pass\nexcept g():\n    pass",
     ScriptTimeout),
    ("recursion-then-loop", "def f():\n    f()\ntry:\n    f()\nexcept RecursionError:\n    pass\nwhile True: pass",
     ScriptTimeout),
    ("exponential-recursion", "def f():\n    try:\n        f()\n    except Exception:\n        f()\nf()",
     ScriptTimeout),
]


@pytest.mark.parametrize(("script", "stopped_by"), [pytest.param(s, e, id=i) for i, s, e in ESCAPES])
def test_escape_attempt_is_refused_and_thread_keeps_working(env, script, stopped_by):
    trace_before = sys.gettrace()
    started = time.monotonic()
    with pytest.raises(stopped_by):
        env.execute(script, {"x": 1})
    assert time.monotonic() - started < LIMIT + 2.0
    assert sys.gettrace() is trace_before
    data = {"n": 2}
    env.execute("m = n * 21\nitems = [i for i in range(3)]", data)
    assert data == {"n": 2, "m": 42, "items": [0, 1, 2]}


def test_compile_time_refusals_are_found_by_check_script():
    for _id, script, stopped_by in ESCAPES:
        if stopped_by is ScriptRejected:
            with pytest.raises(ScriptRejected):
                check_script(script)
        else:
            check_script(script)  # compiles; refused when it runs


def test_escape_attempts_in_expressions(env):
    for expression in ["__import__('os')", "().__class__", "x.__class__", "[c for c in ().__class__.__bases__]"]:
        with pytest.raises(ScriptRejected):
            env.evaluate(expression, {"x": 1})
    with pytest.raises(AttributeError):
        env.evaluate("getattr(x, '__class__')", {"x": 1})
    with pytest.raises(NameError):
        env.evaluate("open('/etc/passwd')", {})
    with pytest.raises(ScriptLimitExceeded):
        env.evaluate("'a' * 10**10", {})
    with pytest.raises(ScriptTimeout):
        env.evaluate("[i for i in range(10**7) for j in range(10**7)]", {})
    assert env.evaluate("x + 1", {"x": 1}) == 2


def test_rejection_reports_line_and_reason():
    with pytest.raises(ScriptRejected, match="Line 3: import statements are not allowed") as info:
        check_script("a = 1\nb = 2\nimport os\n")
    assert info.value.lineno == 3
    with pytest.raises(ScriptRejected, match="Line 2: SyntaxError") as info:
        check_script("a = 1\nb = = 2\n")
    assert info.value.lineno == 2
    with pytest.raises(ScriptRejected, match="'return' outside function") as info:
        check_script("x = 1\nreturn x")
    assert info.value.lineno == 2
    with pytest.raises(ScriptRejected, match='"_secret" is an invalid variable name'):
        check_expression("_secret + 1")
    with pytest.raises(ScriptRejected):
        check_expression("x = 1")  # a statement is not an expression
    assert isinstance(ScriptRejected("x"), ValueError)
    check_script("x = 1")
    check_expression("approved == True")


def test_normal_scripts_work(env):
    data = {"order": {"lines": [{"price": 2.5, "qty": 4}, {"price": 10, "qty": 1}]}, "tags": ["a"], "counts": {}}
    env.execute(
        """
total = 0
for line in order["lines"]:
    total += line["price"] * line["qty"]
order["total"] = total
order["cheap"] = [l for l in order["lines"] if l["price"] < 5]
tags.append("b")
tags += ["c"]
counts["x"] = 1
counts["x"] += 2
counts["y"] = counts.get("y", 0) + 1
by_price = {l["price"]: l["qty"] for l in order["lines"]}
unique = sorted({t.upper() for t in tags})
first, (second, third) = 1, (2, 3)
pairs = [a + b for a, b in zip([1, 2], [3, 4])]
label = f"{len(tags)} tags, total {total:.2f}, {'ok'!r}"
def double(v, factor=2):
    return v * factor
doubled = list(map(double, [1, 2]))
lam = sorted([3, 1, 2], key=lambda v: -v)
try:
    bad = int("x")
except ValueError as err:
    bad = str(err)[:7]
finally:
    done = True
assert isinstance(total, float)
stats = (min(pairs), max(pairs), sum(pairs), abs(-1), round(2.567, 1), any(pairs), all(pairs))
idx = [i for i, v in enumerate(tags)]
nxt = next((t for t in tags if t > "a"), None)
kind = bool(1), int("4"), float("1.5"), str(5), tuple([1]), sorted(set([1])), dict(a=1), list(range(2))
print("debugging output goes to the log", total)
when = (datetime(2024, 1, 31) + timedelta(days=1)).isoformat()
day = date(2024, 2, 1).isoformat()
money = str(Decimal("0.10") + Decimal("0.20"))
root = math.sqrt(16) + math.floor(math.pi)
spaced = "x".ljust(3) + "|" + "%05d" % 42
joined = ", ".join(t for t in tags) + str.join("", ["!"]) + "a-b".replace("-", "+")
modular = pow(3, 200, 7)
""",
        data,
    )
    assert data["order"]["total"] == 20.0
    assert data["order"]["cheap"] == [{"price": 2.5, "qty": 4}]
    assert data["tags"] == ["a", "b", "c"]
    assert data["counts"] == {"x": 3, "y": 1}
    assert data["by_price"] == {2.5: 4, 10: 1}
    assert data["unique"] == ["A", "B", "C"]
    assert (data["first"], data["second"], data["third"]) == (1, 2, 3)
    assert data["pairs"] == [4, 6]
    assert data["label"] == "3 tags, total 20.00, 'ok'"
    assert data["doubled"] == [2, 4] and data["lam"] == [3, 2, 1]
    assert data["bad"] == "invalid" and data["done"] is True
    assert data["stats"] == (4, 6, 10, 1, 2.6, True, True)
    assert data["idx"] == [0, 1, 2] and data["nxt"] == "b"
    assert data["kind"] == (True, 4, 1.5, "5", (1,), [1], {"a": 1}, [0, 1])
    assert data["when"] == "2024-02-01T00:00:00" and data["day"] == "2024-02-01"
    assert data["money"] == "0.30" and data["root"] == 7.0
    assert data["spaced"] == "x  |00042"
    assert data["joined"] == "a, b, c!a+b" and data["modular"] == pow(3, 200, 7)
    assert "double" not in data and "lam" in data  # functions are removed, values stay
    assert not [k for k in data if k.startswith("_")]


def test_execute_semantics_match_task_data_environment():
    helper_calls = []
    env = SandboxEnvironment(time_limit=LIMIT, extra_globals={"rate": 0.2, "helper": helper_calls.append})
    data = {"amount": 100}
    env.execute("tax = amount * rate\nhelper(tax)\nnew_var = 'kept'", data, {"external": 1})
    assert data == {"amount": 100, "tax": 20.0, "new_var": "kept"}  # globals and helpers removed
    assert helper_calls == [20.0]
    with pytest.raises(ValueError, match="overwrites a predefined"):
        env.execute("x = 1", {"rate": 1})
    with pytest.raises(ValueError, match="reserved by the sandbox"):
        env.execute("x = 1", {"_getattr_": "evil"})
    data = {}
    env.execute("gen = (i for i in range(5))\nlazy = map(lambda v: v, [1])\nkept = list(range(2))", data)
    assert data == {"kept": [0, 1]}  # iterators would run script code later, outside the time limit
    data = {"n": 1}
    with pytest.raises(ZeroDivisionError):
        env.execute("before = n\nn = 1 / 0", data)
    assert data == {"n": 1}  # unlike TaskDataEnvironment, a failed script leaves no half-done changes
    data = {"n": 1}
    with pytest.raises(ScriptLimitExceeded):
        env.execute("big = ['a']\nwhile True:\n    big *= 2", data)
    assert data == {"n": 1}  # nor the largest value it could build before the limit stopped it


def test_evaluate_reads_data_without_changing_it(env):
    data = {"approved": True, "amount": 5, "items": [1, 2]}
    assert env.evaluate("approved == True", data) is True
    assert env.evaluate("amount > limit", data, {"limit": 3}) is True
    assert env.evaluate("[i * 2 for i in items]", data) == [2, 4]
    assert env.evaluate("'PT10S'", {}) == "PT10S"
    assert data == {"approved": True, "amount": 5, "items": [1, 2]}
    with pytest.raises(NameError):
        env.evaluate("missing", data)


def test_translated_juel_runs_in_the_sandbox(env):
    data = {"orderId": 42, "approved": False, "order": {"lines": [{"qty": 3}]}, "who": None}
    assert env.evaluate(translate("${!approved && order.lines[0].qty ge 2}"), data) is True
    assert env.evaluate(translate("Order ${orderId} approved: ${approved}, by ${who}"), data) == \
        "Order 42 approved: false, by "
    assert env.evaluate(translate("${empty order.lines ? 'none' : 'some'}"), data) == "some"
    assert isinstance(env.evaluate(translate("${now()}"), {}), datetime)
    assert env.evaluate(translate("PT10S"), data) == "PT10S"


def test_compiled_code_is_cached(env):
    from bpmn import sandbox

    sandbox._compile.cache_clear()
    for _ in range(3):
        env.evaluate("approved == True", {"approved": True})
    assert sandbox._compile.cache_info().hits == 2


def test_timeout_is_prompt_and_restores_previous_trace_function(env):
    def outer_tracer(frame, event, arg):  # stands in for coverage or a debugger
        return None

    previous = sys.gettrace()
    sys.settrace(outer_tracer)
    try:
        started = time.monotonic()
        with pytest.raises(ScriptTimeout, match="stopped at line [23]: it ran longer than its time limit of 0.5 s"):
            env.execute("n = 0\nwhile True:\n    pass", {})
        elapsed = time.monotonic() - started
        assert sys.gettrace() is outer_tracer
    finally:
        sys.settrace(previous)
    assert LIMIT <= elapsed < LIMIT + 1.0


def test_timeout_in_a_worker_thread():
    results = []

    def worker():
        env = SandboxEnvironment(time_limit=0.3)
        try:
            env.execute("while True: pass", {})
        except ScriptTimeout:
            results.append("timeout")
        data = {}
        env.execute("ok = True", data)
        results.append(data)
        results.append(sys.gettrace())

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    assert results == ["timeout", {"ok": True}, None]


BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="http://example.org/cafe">
  <bpmn:process id="order" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="calc" name="Calculate" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>total = sum(line["price"] * line["qty"] for line in lines)
summary = [f"{line['name']} x{line['qty']}" for line in lines]
approved = total &lt; limit</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gw" default="f4"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f4</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc"/>
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="gw"/>
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="auto">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">approved == True</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="gw" targetRef="manual"/>
    <bpmn:scriptTask id="auto" scriptFormat="python"><bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f5</bpmn:outgoing><bpmn:script>route = "auto"</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="manual" scriptFormat="python"><bpmn:incoming>f4</bpmn:incoming>
      <bpmn:outgoing>f6</bpmn:outgoing><bpmn:script>route = "manual"
{extra}</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end_auto"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_manual"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f5" sourceRef="auto" targetRef="end_auto"/>
    <bpmn:sequenceFlow id="f6" sourceRef="manual" targetRef="end_manual"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _run_workflow(data: dict, extra: str = "") -> BpmnWorkflow:
    parser = BpmnParser()
    parser.add_bpmn_str(BPMN.replace("{extra}", extra).encode(), filename="order.bpmn")
    engine = PythonScriptEngine(environment=SandboxEnvironment(time_limit=LIMIT))
    workflow = BpmnWorkflow(parser.get_spec("order"), script_engine=engine)
    workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
    workflow.do_engine_steps()
    return workflow


LINES = [{"name": "tea", "price": 3, "qty": 2}, {"name": "cake", "price": 4, "qty": 1}]


@pytest.mark.parametrize(("limit", "route"), [(100, "auto"), (5, "manual")])
def test_spiffworkflow_runs_scripts_and_conditions_in_the_sandbox(limit, route):
    workflow = _run_workflow({"lines": LINES, "limit": limit})
    assert workflow.is_completed()
    data = workflow.data
    assert data["total"] == 10
    assert data["summary"] == ["tea x2", "cake x1"]
    assert data["approved"] is (limit == 100)
    assert data["route"] == route


@pytest.mark.parametrize(
    ("extra", "cause", "line"),
    [
        ("import os", "import statements are not allowed", None),
        ("x = 1 / 0", "ZeroDivisionError", 2),
        ("while True: pass", "ScriptTimeout", None),
        ("n = 0\nwhile True:\n    n += 1", "stopped at line", None),
    ],
)
def test_spiffworkflow_reports_sandbox_errors(extra, cause, line):
    with pytest.raises(WorkflowTaskException) as info:
        _run_workflow({"lines": LINES, "limit": 5}, extra)
    error = info.value
    assert error.task.task_spec.bpmn_id == "manual"
    assert cause in f"{error} {error.error_type}"
    if line is not None:
        assert error.line_number == line

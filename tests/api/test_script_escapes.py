"""Escape attempts deployed as script tasks and conditions through the REST API.

tests/bpmn/test_sandbox.py tries each attack on the sandbox directly; this file checks the whole
path a diagram takes (upload, deploy-time checks, SpiffWorkflow, the instance store, incidents):
each attempt is refused at deploy time (422, naming the element) or fails as an incident when
it runs, nothing it tried to set reaches the instance, and the server keeps serving.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

import pytest

from tests.api.engine_support import diagram, get_instance

DEPLOY, RUN = "deploy", "run"

# (id, script, where it is stopped)
ATTEMPTS = [
    ("import", "import os\nleak = os.getcwd()", DEPLOY),
    ("from-import", "from subprocess import run\nleak = run", DEPLOY),
    ("dunder-import", "leak = __import__('os').getcwd()", DEPLOY),
    ("builtins", "leak = __builtins__['open']", DEPLOY),
    ("subclasses", "leak = ().__class__.__bases__[0].__subclasses__()", DEPLOY),
    ("lambda-globals", "leak = (lambda: 0).__globals__", DEPLOY),
    ("generator-frame", "g = (i for i in [1])\nleak = g.gi_frame.f_back", DEPLOY),
    ("exec", "exec('leak = 1')", DEPLOY),
    ("eval", "leak = eval('1 + 1')", DEPLOY),
    ("class", "class A:\n    pass\nleak = A", DEPLOY),
    ("fstring-dunder", "leak = f'{x.__class__}'", DEPLOY),
    ("getattr-dunder", "leak = getattr(x, '__cl' + 'ass__')", RUN),
    ("format-attribute", "leak = '{0.__class__.__mro__}'.format(x)", RUN),
    ("format-map", "leak = str.format_map('{a.__class__}', {'a': x})", RUN),
    ("mro", "leak = int.mro()[-1]", RUN),
    ("type", "leak = type(x)", RUN),
    ("open", "leak = open('/etc/passwd').read()", RUN),
    ("compile", "leak = compile('1', 'f', 'eval')", RUN),
    ("globals", "leak = globals()", RUN),
    ("lambda-code", "f = lambda: 0\nleak = getattr(f, '__code__')", RUN),
    ("system-exit", "raise SystemExit", RUN),
    ("huge-string", "leak = 'a' * 10**10", RUN),
    ("huge-power", "leak = 10**10**10", RUN),
    ("doubling-list", "leak = ['a']\nwhile True:\n    leak *= 2", RUN),
    ("huge-range", "for i in range(10**12):\n    pass\nleak = 1", RUN),
    ("recursion", "def f():\n    return f()\nleak = f()", RUN),
    ("swallowed-timeout", "while True:\n    try:\n        while True: pass\n    except Exception:\n        pass", RUN),
]


def script_diagram(key: str, script: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs_{key}"
                  targetNamespace="http://processcafe.test/escapes">
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="attempt" name="Escape attempt">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{escape(script)}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="attempt"/>
    <bpmn:sequenceFlow id="f2" sourceRef="attempt" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


def condition_diagram(key: str, condition: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs_{key}"
                  targetNamespace="http://processcafe.test/escapes">
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="gw" default="f3"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="yes"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="no"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw"/>
    <bpmn:sequenceFlow id="f2" sourceRef="gw" targetRef="yes">
      <bpmn:conditionExpression>{escape(condition)}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="no"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


def deploy(api, name: str, content: bytes):
    return api.post("/api/v1/deployments", data={"file": [(io.BytesIO(content), f"{name}.bpmn")]},
                    content_type="multipart/form-data")


@pytest.mark.slow
def test_escape_attempts_through_the_api_are_refused_or_become_incidents(admin_api, user_api):
    assert len(ATTEMPTS) >= 20
    uma = user_api("uma")
    for n, (attempt, script, stopped_at) in enumerate(ATTEMPTS):
        key = f"escape_{n}"
        response = deploy(admin_api, key, script_diagram(key, script))
        if stopped_at == DEPLOY:
            assert response.status_code == 422, (attempt, response.get_json())
            body = response.get_json()
            assert response.headers["Content-Type"] == "application/problem+json"
            assert any(p.get("element_id") == "attempt" for p in body["problems"]), (attempt, body)
            assert admin_api.get(f"/api/v1/process-definitions/{key}").status_code == 404, attempt
            continue
        assert response.status_code == 201, (attempt, response.get_json())
        started = uma.post("/api/v1/process-instances", json={"definition_key": key, "variables": {"x": 1}})
        assert started.status_code == 201, (attempt, started.get_json())
        instance = started.get_json()
        assert instance["status"] == "error", (attempt, instance)
        [incident] = instance["incidents"]
        assert incident["bpmn_id"] == "attempt", (attempt, incident)
        shown = get_instance(admin_api, instance["id"])
        assert "leak" not in shown["variables"], attempt
        assert admin_api.get("/health").status_code == 200

    # the server still runs ordinary work
    admin_api.deploy(diagram("script_error.bpmn"))
    done = uma.start("script_error", {"total": 10, "divisor": 4})
    assert done["status"] == "completed" and done["variables"]["share"] == 2.5


@pytest.mark.parametrize("condition", [
    "__import__('os').system('true')",
    "x.__class__.__bases__",
    "[c for c in ().__class__.__mro__]",
    "(lambda: 0).__globals__",
])
def test_escape_attempts_in_conditions_are_refused_at_deploy(admin_api, condition):
    response = deploy(admin_api, "escape_condition", condition_diagram("escape_condition", condition))
    assert response.status_code == 422, response.get_json()
    assert any(p.get("element_id") == "f2" for p in response.get_json()["problems"])


# Scripts that treat a starter's input in ordinary ways, and input that made one C call build
# gigabytes or run for minutes with the interpreter lock held (the deadline cannot stop one C call,
# and every thread of the server stood still with it): (id, script, variables of a plain user).
USER_INPUT_BOMBS = [
    ("decimal-to-int", "amount = int(Decimal(text))", {"text": "1e300000"}),
    ("decimal-places", "shown = len(f'{Decimal(text):f}')", {"text": "1e60000000"}),
    ("decimal-floor", "amount = math.floor(Decimal(text))", {"text": "1e300000"}),
    ("round-places", "rounded = round(count, -places)", {"count": 12345, "places": 10**7}),
    ("to-bytes", "size = len((0).to_bytes(width, 'big'))", {"width": 10**8}),
    ("translate", "size = len(word.translate({97: filler * 10**6}))", {"word": "a" * 100, "filler": "x"}),
]


@pytest.mark.parametrize("attempt, script, variables", USER_INPUT_BOMBS, ids=[a[0] for a in USER_INPUT_BOMBS])
def test_user_input_cannot_make_a_script_build_huge_numbers_or_strings(admin_api, user_api, attempt, script,
                                                                       variables):
    key = f"bomb_{attempt.replace('-', '_')}"
    assert deploy(admin_api, key, script_diagram(key, script)).status_code == 201
    started = user_api("uma").post("/api/v1/process-instances", json={"definition_key": key, "variables": variables})
    assert started.status_code == 201, started.get_json()
    instance = started.get_json()
    assert instance["status"] == "error", instance
    [incident] = instance["incidents"]
    assert incident["bpmn_id"] == "attempt"
    assert "larger than scripts may" in incident["message"] or "beyond what scripts may" in incident["message"], \
        incident
    assert admin_api.get("/health").status_code == 200


def test_decimals_and_rounding_within_the_limits_still_work(admin_api, user_api):
    script = ("total = str(Decimal(price) * quantity)\nwhole = int(Decimal(price) * 100)\n"
              "cents = round(Decimal(price), 1) == Decimal('19.9')\nbig = int(Decimal('1e20000')).bit_length()\n"
              "kind = isinstance(Decimal(1), Decimal)\nrounded = round(123456, -3)\n"
              "packed = len((258).to_bytes(2, 'big'))\nsimple = 'abc'.translate({97: 'xy'})")
    assert deploy(admin_api, "decimals", script_diagram("decimals", script)).status_code == 201
    done = user_api("uma").start("decimals", {"price": "19.90", "quantity": 3})
    assert done["status"] == "completed", done["incidents"]
    variables = get_instance(admin_api, done["id"])["variables"]
    assert variables | {"price": None, "quantity": None} == {
        "price": None, "quantity": None, "total": "59.70", "whole": 1990, "cents": True, "big": 66439,
        "kind": True, "rounded": 123000, "packed": 2, "simple": "xybc"}

"""Decision tables as Camunda Modeler writes them: FEEL input entries, hit policies, result mapping.

Each case deploys a small table with a Camunda business rule task (parse, check, serialize the
spec as the server stores it) and runs one instance through the stored spec.
"""

from __future__ import annotations

import pytest

from bpmn.definitions import parse_deployment
from bpmn.errors import DiagramRejected
from tests.bpmn.decision_diagrams import bpmn, dmn, run


def deploy(table: bytes, did: str, **task) -> object:
    parsed = parse_deployment([(f"{did}.bpmn", bpmn(f"p_{did}", did, **task)), (f"{did}.dmn", table)])
    return parsed.processes[0]


def hit_or_miss(test: str, type_ref: str = "string") -> object:
    """Rule 1 `test` -> "hit", rule 2 `-` -> "miss" (FIRST)."""
    return deploy(dmn("f", "FIRST", [("v", type_ref)], [("res", "string")],
                      [([test], ['"hit"']), (["-"], ['"miss"'])]), "f")


# -- item 1: FEEL unary tests ---------------------------------------------------------------------

@pytest.mark.parametrize(("test", "type_ref", "value", "expected"), [
    ("1,2,3", "number", 2, "hit"), ("1,2,3", "number", 7, "miss"),
    ('"a","b"', "string", "b", "hit"), ('"a","b"', "string", "c", "miss"),
    ('not("x")', "string", "y", "hit"), ('not("x")', "string", "x", "miss"),
    ('not("x","y")', "string", "z", "hit"), ('not("x","y")', "string", "y", "miss"),
    ("[1..5]", "number", 5, "hit"), ("[1..5]", "number", 6, "miss"),
    ("]1..5[", "number", 3, "hit"), ("]1..5[", "number", 1, "miss"), ("]1..5[", "number", 5, "miss"),
    ("(1..5]", "number", 5, "hit"), ("[1..5)", "number", 5, "miss"),
    ("true", "boolean", True, "hit"), ("true", "boolean", False, "miss"),
    ('date("2024-01-01")', "date", "2024-01-01", "hit"), ('date("2024-01-01")', "date", "2020-01-01", "miss"),
    ('>= date("2024-01-01")', "date", "2025-03-01", "hit"), ('>= date("2024-01-01")', "date", "2020-01-01", "miss"),
    ('< date and time("2024-01-01T00:00:00")', "dateTime", "2020-01-01T00:00:00", "hit"),
    ('< date and time("2024-01-01T00:00:00")', "dateTime", "2025-01-01T00:00:00", "miss"),
    (">= 10", "number", 12, "hit"), (">= 10", "number", 5, "miss"), ("!= 3", "number", 2, "hit"),
    ("!= 3", "number", 3, "miss"), ("10", "number", 10.0, "hit"), ('"a"', "string", "a", "hit"),
    ("null", "string", None, "hit"), ("null", "string", "x", "miss"), ("< 10", "number", None, "miss"),
    ('"a,b"', "string", "a,b", "hit"), ("-5..", "number", 0, None),
])
def test_feel_unary_tests(test, type_ref, value, expected):
    if expected is None:  # not FEEL: refused at deploy
        with pytest.raises(DiagramRejected):
            hit_or_miss(test, type_ref)
        return
    status, variables, error = run(hit_or_miss(test, type_ref), {"v": value})
    assert (status, error, variables["res"]) == ("completed", None, expected)


def test_endpoint_may_name_a_variable():
    process = hit_or_miss("[low..limits.high]", "number")
    assert run(process, {"v": 4, "low": 1, "limits": {"high": 5}})[1]["res"] == "hit"
    status, _, error = run(process, {"v": 4, "low": 1})
    assert status == "error" and "no variable 'limits'" in error and "decision 'f'" in error


@pytest.mark.parametrize(("test", "reason"), [
    ("'gold'", "double quotes"), ("[1..5", "ends too early"), ("foo(1)", "foo(...) is not supported"),
    ('date("2024-13-01")', "not a valid date"), ("in (1, 2)", "in(...) is not supported"), ("== 3", "expected a value"),
])
def test_unreadable_input_entry_is_refused_naming_decision_rule_and_entry(test, reason):
    with pytest.raises(DiagramRejected) as refused:
        hit_or_miss(test)
    [problem] = refused.value.problems
    assert problem.file == "f.dmn" and problem.element_id == "r0i0" and problem.line == 5
    assert "decision 'f'" in problem.reason and "rule 'r0'" in problem.reason and reason in problem.reason


def test_a_dmn_deployed_alone_is_checked_too():
    table = dmn("f", "FIRST", [("v", "string")], [("res", "string")], [(["'x'"], ['"hit"'])])
    with pytest.raises(DiagramRejected) as refused:
        parse_deployment([("f.dmn", table)])
    assert refused.value.problems[0].element_id == "r0i0"


@pytest.mark.parametrize(("test", "value", "reason"), [
    ("< 10", "12", 'cannot compare "12" (string) with 10 (number)'),
    ('>= date("2024-01-01")', "soon", 'the value "soon" is not a date'),
])
def test_a_value_that_cannot_be_tested_is_an_incident_naming_the_decision(test, value, reason):
    status, _, error = run(hit_or_miss(test), {"v": value})
    assert status == "error" and "decision 'f'" in error and "rule 'r0'" in error and reason in error


def test_an_input_expression_that_fails_is_an_incident_naming_the_decision():
    status, _, error = run(hit_or_miss(">= 10", "number"), {})
    assert status == "error" and "decision 'f'" in error and "input 'v'" in error


# -- item 2: hit policies ---------------------------------------------------------------------------

SIZES = [(["< 10"], ['"small"']), ([">= 10"], ['"ten+"']), ([">= 15"], ['"fifteen+"'])]


def sizes(hit: str, aggregation: str | None = None, rules=SIZES, out_type="string", **task) -> object:
    return deploy(dmn("h", hit, [("n", "number")], [("size", out_type)], rules, aggregation), "h", **task)


def test_unique_with_two_matches_is_an_incident_naming_the_rules():
    process = sizes("UNIQUE")
    assert run(process, {"n": 12})[1]["size"] == "ten+"
    status, _, error = run(process, {"n": 17})
    assert status == "error" and "decision 'h'" in error and "'r1', 'r2'" in error and "UNIQUE" in error


def test_no_match_sets_the_output_to_none():
    status, variables, _ = run(sizes("UNIQUE", rules=SIZES[1:]), {"n": 5})
    assert status == "completed" and "size" in variables and variables["size"] is None


def test_any_with_differing_outputs_is_an_incident():
    status, _, error = run(sizes("ANY"), {"n": 17})
    assert status == "error" and "ANY" in error and "'r1', 'r2'" in error
    same = [(["< 10"], ['"small"']), ([">= 10"], ['"big"']), ([">= 15"], ['"big"'])]
    assert run(sizes("ANY", rules=same), {"n": 17})[1]["size"] == "big"


@pytest.mark.parametrize("hit", ["RULE ORDER", "COLLECT"])
def test_multi_hit_policies_give_the_list_in_rule_order(hit):
    assert run(sizes(hit), {"n": 17})[1]["size"] == ["ten+", "fifteen+"]
    assert run(sizes(hit), {"n": -1})[1]["size"] == ["small"]


POINTS = [([">= 1"], ["1"]), ([">= 2"], ["10"]), ([">= 3"], ["100"])]


@pytest.mark.parametrize(("aggregation", "n", "expected"), [
    ("SUM", 3, 111), ("SUM", 2, 11), ("COUNT", 3, 3), ("MIN", 3, 1), ("MAX", 2, 10),
    ("COUNT", 0, 0), ("SUM", 0, None),
])
def test_collect_aggregations(aggregation, n, expected):
    process = sizes("COLLECT", aggregation, rules=POINTS, out_type="number")
    assert run(process, {"n": n})[1]["size"] == expected


def test_priority_and_output_order_follow_the_output_values():
    table = dmn("h", "PRIORITY", [("n", "number")], [("size", "string")], SIZES,
                output_values={"size": '"fifteen+","ten+","small"'})
    parsed = parse_deployment([("h.bpmn", bpmn("p_h", "h")), ("h.dmn", table)]).processes[0]
    assert run(parsed, {"n": 17})[1]["size"] == "fifteen+"
    ordered = table.replace(b'hitPolicy="PRIORITY"', b'hitPolicy="OUTPUT ORDER"')
    parsed = parse_deployment([("h.bpmn", bpmn("p_h", "h")), ("h.dmn", ordered)]).processes[0]
    assert run(parsed, {"n": 17})[1]["size"] == ["fifteen+", "ten+"]


@pytest.mark.parametrize(("hit", "aggregation", "reason"), [
    ("PRIORITY", None, "output values"), ("OUTPUT ORDER", None, "output values"),
    ("FIRST", "SUM", "needs hit policy COLLECT"), ("COLLECT", "AVG", "unknown aggregation"),
    ("SOMETIMES", None, "unknown hit policy"),
])
def test_hit_policies_that_cannot_be_honoured_are_refused(hit, aggregation, reason):
    with pytest.raises(DiagramRejected) as refused:
        sizes(hit, aggregation)
    assert reason in str(refused.value) and "decision 'h'" in str(refused.value)


# -- item 2: camunda:resultVariable and camunda:mapDecisionResult ---------------------------------

@pytest.mark.parametrize(("hit", "mapping", "n", "expected"), [
    ("FIRST", "singleEntry", 17, "ten+"), ("FIRST", "singleEntry", -1, "small"),
    ("FIRST", "singleResult", 17, {"size": "ten+"}), ("RULE ORDER", None, 17, [{"size": "ten+"}, {"size": "fifteen+"}]),
    ("RULE ORDER", "resultList", 17, [{"size": "ten+"}, {"size": "fifteen+"}]),
    ("COLLECT", "collectEntries", 17, ["ten+", "fifteen+"]), ("UNIQUE", "singleEntry", 30, None),
])
def test_result_variable_is_mapped_as_camunda_does(hit, mapping, n, expected):
    rules = SIZES if n != 30 else SIZES[:1]
    status, variables, error = run(sizes(hit, rules=rules, result_variable="decision", mapping=mapping), {"n": n})
    assert (status, error) == ("completed", None)
    assert variables["decision"] == expected and "size" not in variables


def test_single_entry_with_several_results_is_an_incident():
    status, _, error = run(sizes("COLLECT", result_variable="decision", mapping="singleEntry"), {"n": 17})
    assert status == "error" and "singleEntry" in error and "decision 'h'" in error


def test_unknown_mapping_is_refused():
    with pytest.raises(DiagramRejected) as refused:
        sizes("FIRST", result_variable="decision", mapping="firstEntry")
    assert refused.value.problems[0].element_id == "decide"

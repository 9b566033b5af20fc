"""Camunda JUEL translation: operators, literals, precedence, templates, and what is refused."""

from __future__ import annotations

import re

import pytest

from bpmn.expressions import ExpressionError, is_juel, juel_to_python, translate


@pytest.mark.parametrize(
    ("juel", "python"),
    [
        ("approved", "approved"),
        ("!approved", "not approved"),
        ("not approved", "not approved"),
        ("a && b || !c", "a and b or not c"),
        ("a and b or c", "a and b or c"),
        ("a || b && c", "a or b and c"),
        ("(a || b) && c", "(a or b) and c"),
        ("x != 3", "x != 3"),
        ("x eq 1", "x == 1"),
        ("x ne 1", "x != 1"),
        ("x gt 1 && x lt 5", "x > 1 and x < 5"),
        ("x ge 1 and x le 5", "x >= 1 and x <= 5"),
        ("empty items", "not items"),
        ("!empty items", "not not items"),
        ("true", "True"),
        ("false", "False"),
        ("null", "None"),
        ("x == null", "x == None"),
        ("a ? b : c", "b if a else c"),
        ("amount > 1000 ? 'manager' : 'clerk'", "'manager' if amount > 1000 else 'clerk'"),
        ("a ? b ? 1 : 2 : 3", "(1 if b else 2) if a else 3"),
        ("a ? 1 : b ? 2 : 3", "1 if a else 2 if b else 3"),
        ("items[0]", "items[0]"),
        ("items[i + 1]", "items[i + 1]"),
        ("(1 + 2) * 3", "(1 + 2) * 3"),
        ("1 - (2 - 3)", "1 - (2 - 3)"),
        ("1 - 2 - 3", "1 - 2 - 3"),
        ("a div b mod 3", "a / b % 3"),
        ("-x + 1", "-x + 1"),
        ("-(x + 1)", "-(x + 1)"),
        ("2.5e3 + .5 + 007", "2.5e3 + .5 + 7"),
        ("now()", "datetime.now()"),
        ("max(a, 3)", "max(a, 3)"),
    ],
)
def test_translates_operators_literals_and_precedence(juel, python):
    assert juel_to_python(juel) == python


@pytest.mark.parametrize(
    ("juel", "python"),
    [
        ("!a == b", "(not a) == b"),  # JUEL's ! binds tighter than ==, Python's not does not
        ("a < b == c < d", "(a < b) == (c < d)"),  # no Python comparison chaining
        ("a == b == c", "(a == b) == c"),
        ("!(a && b)", "not (a and b)"),
        ("empty a || b", "not a or b"),
        ("(a ? b : c) + 1", "(b if a else c) + 1"),
        ("-a.b", "-a['b']"),
    ],
)
def test_parenthesises_where_python_precedence_differs(juel, python):
    assert juel_to_python(juel) == python


def test_string_literals_are_never_mangled():
    assert juel_to_python("status == 'a && b || !c eq d'") == "status == 'a && b || !c eq d'"
    assert juel_to_python('note == "true and null"') == "note == 'true and null'"
    assert juel_to_python(r"'it\'s' == x") == '"it\'s" == x'
    assert juel_to_python(r'"say \"hi\""') == "'say \"hi\"'"
    assert juel_to_python("x == '}'") == "x == '}'"


def test_property_access_becomes_item_access():
    # EL defines a.b as a["b"]; process variables are JSON-like dicts.
    assert juel_to_python("order.customer.name") == "order['customer']['name']"
    assert juel_to_python("order.lines[0].qty > 2") == "order['lines'][0]['qty'] > 2"
    assert juel_to_python("order.empty") == "order['empty']"  # keywords are fine as property names
    assert juel_to_python("order['total']") == "order['total']"


@pytest.mark.parametrize(
    ("juel", "message"),
    [
        ("service.call()", "Java bean"),
        ("execution.getVariable('x')", "Java bean"),
        ("a.b.c(1)", "Java bean"),
        ("items[0](1)", "only plain function names"),
        ("", "empty expression"),
        ("   ", "empty expression"),
        ("a +", "ends too early"),
        ("a b", "unexpected 'b'"),
        ("(a", "expected ')'"),
        ("a ? b", "expected ':'"),
        ("x = 1", "unexpected character '='"),
        ("'open", "unterminated string"),
        ("a.'x'", "property name"),
        ("from", "Python keyword"),
        ("instanceof x", "not supported"),
        ("a; b", "unexpected character ';'"),
    ],
)
def test_refuses_what_cannot_be_translated(juel, message):
    with pytest.raises(ExpressionError, match=re.escape(message)) as info:
        juel_to_python(juel)
    assert info.value.expression == juel
    assert isinstance(info.value, ValueError)


def test_refuses_absurd_nesting():
    with pytest.raises(ExpressionError, match="too deeply nested"):
        juel_to_python("(" * 5000 + "x" + ")" * 5000)
    assert juel_to_python("1" + "0" * 5000) == "1" + "0" * 5000


def test_is_juel():
    assert is_juel("${approved}")
    assert is_juel("#{approved}")
    assert is_juel("Order ${id} shipped")
    assert not is_juel("PT10S")
    assert not is_juel("costs $5 {net}")
    assert not is_juel(r"literally \${x}")


def test_translate_single_expression_keeps_its_type():
    assert translate("${approved}") == "approved"
    assert translate("  ${ !approved }\n ") == "not approved"
    assert translate("#{x > 1}") == "x > 1"


def test_translate_plain_text_is_a_string_literal():
    assert translate("PT10S") == "'PT10S'"
    assert translate("it's \"quoted\"") == repr("it's \"quoted\"")
    assert translate("") == "''"
    assert translate(r"cost \${x}") == "'cost ${x}'"
    assert eval(translate("PT10S")) == "PT10S"


def _render(text: str, **variables: object) -> object:
    return eval(translate(text), {}, variables)


def test_translate_composite_template_builds_the_string():
    assert _render("Order ${orderId} approved", orderId=42) == "Order 42 approved"
    assert _render("${a}${b}", a="x", b=1.5) == "x1.5"
    assert _render("${n} items for ${customer.name}", n=3, customer={"name": "Ann"}) == "3 items for Ann"
    assert _render("brace '}' ${s == '}'} ok", s="}") == "brace '}' true ok"
    assert _render("it's ${x}", x="fine") == "it's fine"


def test_translate_composite_renders_null_and_booleans_like_el():
    assert _render("by ${who}", who=None) == "by "
    assert _render("ok=${a}, no=${b}", a=True, b=False) == "ok=true, no=false"


def test_translate_errors():
    with pytest.raises(ExpressionError, match="unterminated"):
        translate("Order ${orderId")
    with pytest.raises(ExpressionError, match="Java bean"):
        translate("Hello ${user.getName()}")


def test_translations_evaluate_as_juel_would():
    assert eval(translate("${a ? 'yes' : 'no'}"), {"a": True}) == "yes"
    assert eval(translate("${!a == b}"), {"a": False, "b": True}) is True
    assert eval(translate("${a lt b lt c}"), {"a": 3, "b": 2, "c": 1}) is True  # (3<2) < 1 -> False < 1
    assert eval(translate("${empty items || items[0].qty ge 2}"), {"items": [{"qty": 2}]}) is True
    assert eval(translate("${empty items}"), {"items": []}) is True


def test_translation_is_cached():
    translate.cache_clear()
    translate("${x + 1}")
    translate("${x + 1}")
    assert translate.cache_info().hits == 1

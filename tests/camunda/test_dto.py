"""Camunda's date format and typed variables, without a server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from server.camunda.dto import CamundaError, format_date, parse_date, typed, typed_map, untyped, untyped_map


def test_dates_always_carry_milliseconds_and_an_offset():
    assert format_date(datetime(2026, 1, 5, 10, 0, 0, tzinfo=timezone.utc)) == "2026-01-05T10:00:00.000+0000"
    assert format_date(datetime(2013, 1, 23, 13, 42, 42, 657999, tzinfo=timezone.utc)) == "2013-01-23T13:42:42.657+0000"
    plus_two = timezone(timedelta(hours=2))
    assert format_date(datetime(2013, 1, 23, 13, 42, 42, 657000, tzinfo=plus_two)) == "2013-01-23T11:42:42.657+0000"
    assert format_date(datetime(2026, 1, 5, 10, 0)) == "2026-01-05T10:00:00.000+0000"  # naive means UTC
    assert format_date(None) is None
    # what pycamunda parses them with
    assert datetime.strptime(format_date(datetime.now(timezone.utc)), "%Y-%m-%dT%H:%M:%S.%f%z")


@pytest.mark.parametrize("text", ["2013-01-23T13:42:42.657+0200", "2013-01-23T13:42:42.657+02:00",
                                  "2013-01-23T11:42:42.657Z", "2013-01-23T13:42:42.657 0200"])
def test_parsing_accepts_camundas_format_and_iso_relatives(text):
    assert parse_date(text) == datetime(2013, 1, 23, 11, 42, 42, 657000, tzinfo=timezone.utc)


def test_parsing_refuses_other_text_with_a_400():
    with pytest.raises(CamundaError) as err:
        parse_date("yesterday", "startedAfter")
    assert err.value.status == 400 and "startedAfter" in err.value.message


@pytest.mark.parametrize("value,kind", [("x", "String"), (True, "Boolean"), (7, "Integer"), (2**40, "Long"),
                                        (1.5, "Double"), (None, "Null")])
def test_output_types_are_inferred(value, kind):
    assert typed(value) == {"type": kind, "value": value, "valueInfo": {}}


def test_objects_and_lists_go_out_as_json_text():
    assert typed({"a": [1, 2]}) == {"type": "Json", "value": '{"a": [1, 2]}', "valueInfo": {}}
    assert typed_map({"a": 1, "b": "x"}, names=["b"]) == {"b": {"type": "String", "value": "x", "valueInfo": {}}}


@pytest.mark.parametrize("dto,value", [
    ({"value": "A-1", "type": "String"}, "A-1"),
    ({"value": "true", "type": "boolean"}, True),  # the type's first letter may be lower case
    ({"value": "42", "type": "Integer"}, 42),
    ({"value": 2**40, "type": "Long"}, 2**40),
    ({"value": 3, "type": "Short"}, 3),
    ({"value": "2.5", "type": "Double"}, 2.5),
    ({"value": None, "type": "Null"}, None),
    ({"value": '{"a": 1}', "type": "Json"}, {"a": 1}),
    ({"value": '["x"]', "type": "Object", "valueInfo": {"serializationDataFormat": "application/json"}}, ["x"]),
    ({"value": "2013-01-23T13:42:42.657+0200", "type": "Date"}, "2013-01-23T11:42:42.657+0000"),
    ({"value": "<a/>", "type": "Xml"}, "<a/>"),
    ({"value": 5, "type": None, "valueInfo": None}, 5),  # pycamunda's untyped variables
    ({"value": {"k": [1]}}, {"k": [1]}),  # the external task client's
])
def test_input_values_are_converted_by_type(dto, value):
    assert untyped("v", dto) == value


@pytest.mark.parametrize("dto", [{"value": "abc", "type": "Integer"}, {"value": 2**31, "type": "Integer"},
                                 {"value": "maybe", "type": "Boolean"}, {"value": "AAAA", "type": "Bytes"},
                                 {"value": 1, "type": "Money"}, "not an object"])
def test_bad_values_are_a_400_naming_the_variable(dto):
    with pytest.raises(CamundaError) as err:
        untyped_map({"amount": dto})
    assert err.value.status == 400 and "amount" in err.value.message


def test_a_missing_map_is_empty():
    assert untyped_map(None) == {}


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("dto", [
    {"value": 5, "type": 5}, {"value": "{}", "type": "Json", "valueInfo": "abc"},
    {"value": 2**1100, "type": "Double"}, {"value": "9999-12-31T23:59:59.999-2359", "type": "Date"},
    {"value": "2026-02-30T10:00:00.000+0000", "type": "Date"},
    {"value": _nested(600), "type": "Json"}, {"value": _nested(5000), "type": "Json"},
    {"value": '{"x": NaN}', "type": "Json"}, {"value": '["\\u0000"]', "type": "Object"},
])
def test_values_found_by_probing_are_a_400_naming_the_variable(dto):
    """Each was a 500. A Json text nested 600 deep was even stored, and no later request could
    load, complete or delete that instance (the state document failed to deserialize)."""
    with pytest.raises(CamundaError) as err:
        untyped_map({"amount": dto})
    assert err.value.status == 400 and "amount" in err.value.message

"""Typed variables /engine-rest refuses rather than stores wrongly, and `POST /message` with
`all` when nothing waits. Each case was found by a probe with real clients against a server."""

from __future__ import annotations

import pytest

from server.camunda.dto import typed
from tests.camunda.conftest import error

JAVA_LIST = "rO0ABXNyABNqYXZhLnV0aWwuQXJyYXlMaXN0eIHSHZnHYZ0DAAFJAARzaXpleHAAAAAAdwQAAAAAeA=="


def start(camunda, variables: dict):
    camunda.deploy("order_review.bpmn")
    return camunda.post("/process-definition/key/order_review/start", json={"variables": variables})


@pytest.mark.parametrize("value", ["Infinity", "-Infinity", "nan", "NaN"])
def test_a_double_that_is_no_finite_number_is_a_400_naming_the_variable(camunda, value):
    """float() reads these; stored, they came back as `Infinity`, which is not JSON."""
    body = error(start(camunda, {"d": {"value": value, "type": "Double"}}), 400, "InvalidRequestException")
    assert "'d'" in body["message"] and "finite" in body["message"]


def test_whole_numbers_beyond_long_are_refused_typed_or_not(camunda):
    """An untyped 99999999999999999999999 was stored and served as a Long beyond Long's range,
    while the same value typed Long was refused."""
    big = 99999999999999999999999
    for dto in ({"value": big}, {"value": big, "type": None, "valueInfo": None}, {"value": big, "type": "Long"}):
        body = error(start(camunda, {"n": dto}), 400)
        assert "'n'" in body["message"] and "Long" in body["message"]
    instance = start(camunda, {"n": {"value": 2**63 - 1}, "m": {"value": -(2**63)}}).get_json()
    variables = camunda.get(f"/process-instance/{instance['id']}/variables").get_json()
    assert variables["n"] == {"type": "Long", "value": 2**63 - 1, "valueInfo": {}}
    assert variables["m"]["value"] == -(2**63)


def test_serialized_java_objects_are_refused_as_documented(camunda):
    instance = start(camunda, {}).get_json()
    body = error(camunda.put(f"/process-instance/{instance['id']}/variables/jser", json={
        "value": JAVA_LIST, "type": "Object",
        "valueInfo": {"objectTypeName": "java.util.ArrayList",
                      "serializationDataFormat": "application/x-java-serialized-object"}}), 400)
    assert "jser" in body["message"] and "application/x-java-serialized-object" in body["message"]
    assert "jser" not in camunda.get(f"/process-instance/{instance['id']}/variables").get_json()
    # an Object serialized as JSON is still welcome, and so is one without a format
    for dto in ({"value": '["a"]', "type": "Object",
                 "valueInfo": {"objectTypeName": "java.util.ArrayList", "serializationDataFormat": "application/json"}},
                {"value": '["a"]', "type": "Object"}):
        assert camunda.put(f"/process-instance/{instance['id']}/variables/list", json=dto).status_code == 204
        assert camunda.get(f"/process-instance/{instance['id']}/variables/list").get_json()["value"] == '["a"]'


def test_correlating_all_with_nothing_waiting_is_an_empty_result(camunda):
    """Camunda's correlateAll with no match returns an empty list: 204, or 200 [] with results."""
    message = {"messageName": "nobody-waits-for-this", "all": True}
    response = camunda.post("/message", json=message)
    assert response.status_code == 204 and response.get_data() == b""
    response = camunda.post("/message", json={**message, "resultEnabled": True})
    assert response.status_code == 200 and response.get_json() == []
    # without all it stays Camunda's 400
    error(camunda.post("/message", json={"messageName": "nobody-waits-for-this"}), 400,
          "MismatchingMessageCorrelationException")


def test_a_script_number_beyond_long_goes_out_as_json_with_its_digits():
    """A script can compute one; typed Long it would lie about the range."""
    assert typed(2**63 - 1)["type"] == "Long"
    assert typed(2**70) == {"type": "Json", "value": str(2**70), "valueInfo": {}}

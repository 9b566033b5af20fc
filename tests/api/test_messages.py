"""Messages through the API: correlation by business key, instance id and correlation keys, receive
tasks, message start events, and the 404/409 answers; Camunda, Spiff and plain diagrams."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, update

from server.models import ProcessInstance
from tests.api.engine_support import diagram, get_instance, history, problem

MESSAGES = "/api/v1/messages"


def send(api, name: str, **body):
    return api.post(MESSAGES, json={"name": name, **body})


def delivered(response) -> list[dict]:
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_camunda_catch_event_by_business_key(admin_api):
    admin_api.deploy(diagram("message_catch_camunda.bpmn"))
    first = admin_api.start("payment_camunda", {"customer": "ann"}, business_key="order-1")
    second = admin_api.start("payment_camunda", {"customer": "bob"}, business_key="order-2")
    assert first["status"] == second["status"] == "waiting"

    [item] = delivered(send(admin_api, "payment_received", business_key="order-2", variables={"amount": 150}))
    assert item == {"instance_id": second["id"], "started": False, "status": "completed"}

    done = get_instance(admin_api, second["id"])
    assert done["variables"]["amount"] == 150
    assert done["variables"]["size"] == "big"
    assert done["variables"]["customer"] == "bob"
    variables = admin_api.get(f"/api/v1/process-instances/{second['id']}/variables").get_json()
    assert variables["amount"] == 150 and variables["size"] == "big"
    received = [e for e in history(admin_api, second["id"]) if e["kind"] == "message_received"]
    assert [e["name"] for e in received] == ["payment_received"]
    assert get_instance(admin_api, first["id"])["status"] == "waiting"

    [item] = delivered(send(admin_api, "payment_received", business_key="order-1", variables={"amount": 5}))
    assert item["instance_id"] == first["id"]
    assert get_instance(admin_api, first["id"])["variables"]["size"] == "small"


def test_spiff_catch_event_by_instance_id(admin_api):
    admin_api.deploy(diagram("message_catch_spiff.bpmn"))
    first = admin_api.start("payment_spiff")
    second = admin_api.start("payment_spiff")

    [item] = delivered(send(admin_api, "payment_received", instance_id=first["id"], variables={"amount": 21}))
    assert item["instance_id"] == first["id"] and item["status"] == "completed"
    variables = get_instance(admin_api, first["id"])["variables"]
    assert variables["payment"] == {"amount": 21}
    assert variables["booked"] == 42
    assert get_instance(admin_api, second["id"])["status"] == "waiting"


def test_receive_task_by_correlation_keys(admin_api):
    admin_api.deploy(diagram("receive_task.bpmn"))
    first = admin_api.start("receive_document", {"case": 1})
    second = admin_api.start("receive_document", {"case": 2})
    assert first["status"] == "waiting"

    [item] = delivered(send(admin_api, "document_ready", correlation_keys={"case": 2},
                            variables={"document_id": "doc-7"}))
    assert item["instance_id"] == second["id"]
    done = get_instance(admin_api, second["id"])
    assert done["status"] == "completed"
    assert done["variables"]["filed"] == "doc-7"
    assert get_instance(admin_api, first["id"])["status"] == "waiting"

    response = send(admin_api, "document_ready", correlation_keys={"case": 3})
    assert "document_ready" in problem(response, 404)["detail"]


def test_correlation_reads_its_candidates_in_one_statement(admin_api, cafe):
    """However many instances wait for the message, their correlation data is read at once (not
    each instance with its whole state); a message nothing waits for is answered from a read,
    without the write transaction; and the matching instance still gets its message."""
    admin_api.deploy(diagram("receive_task.bpmn"))
    started = [admin_api.start("receive_document", {"case": case}) for case in range(30)]
    here = threading.get_ident()
    statements: list[tuple[str, str]] = []
    engines = {"writer": cafe.db.engine, "reader": cafe.db.read_engine}

    def recorder(label: str):
        def record(conn, cursor, statement, parameters, context, executemany):
            if threading.get_ident() == here:
                statements.append((label, " ".join(statement.split())))
        return record

    listeners = {label: recorder(label) for label in engines}
    for label, engine in engines.items():
        event.listen(engine, "before_cursor_execute", listeners[label])
    try:
        missed = send(admin_api, "document_ready", correlation_keys={"case": 99})
    finally:
        for label, engine in engines.items():
            event.remove(engine, "before_cursor_execute", listeners[label])
    assert "document_ready" in problem(missed, 404)["detail"]
    instance_reads = {s for _, s in statements if s.startswith("SELECT") and "process_instances" in s}
    assert len(instance_reads) == 1, instance_reads
    if cafe.db.is_sqlite:  # there the reader is an engine of its own: the writer was never asked
        assert [s for label, s in statements if label == "writer"] == []

    [item] = delivered(send(admin_api, "document_ready", correlation_keys={"case": 17},
                            variables={"document_id": "doc-17"}))
    assert item["instance_id"] == started[17]["id"]
    assert get_instance(admin_api, started[17]["id"])["status"] == "completed"


def test_a_business_key_finds_its_instance_without_visiting_the_others(admin_api, cafe):
    """The business key's index leads the lookup: how many other instances wait for the same
    message does not matter. Checked on the statement the request sent, with the database's
    own query plan (PostgreSQL keeps statistics and plans this well by itself)."""
    admin_api.deploy(diagram("message_catch_camunda.bpmn"))
    started = [admin_api.start("payment_camunda", business_key=f"order-{n}") for n in range(30)]
    here = threading.get_ident()
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() == here and "message_waits" in statement and statement.startswith("SELECT"):
            sent.append((statement, parameters))

    event.listen(cafe.db.read_engine, "before_cursor_execute", record)
    try:
        [item] = delivered(send(admin_api, "payment_received", business_key="order-17", variables={"amount": 1}))
    finally:
        event.remove(cafe.db.read_engine, "before_cursor_execute", record)
    assert item["instance_id"] == started[17]["id"]
    [(statement, parameters), *_] = sent
    if cafe.db.is_sqlite:
        with cafe.db.read_engine.connect() as conn:
            plan = [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
        assert "business_key" in plan[0], plan  # the outer loop: one instance, then its waits
        assert not any("ix_message_waits_name" in step for step in plan), plan


def test_correlation_keys_compare_as_json_values(admin_api):
    """Strings with strings, numbers by value, booleans only with booleans, objects whole; each
    message must find exactly one instance (two would be a 409)."""
    admin_api.deploy(diagram("receive_task.bpmn"))
    cases = {"one": 1, "true": True, "text": "1", "two": 2.0, "object": {"k": [1, 2]}}
    ids = {label: admin_api.start("receive_document", {"case": case})["id"] for label, case in cases.items()}
    for label, key in [("true", True), ("text", "1"), ("two", 2), ("object", {"k": [1, 2]}), ("one", 1)]:
        [item] = delivered(send(admin_api, "document_ready", correlation_keys={"case": key}))
        assert item["instance_id"] == ids[label], f"{key!r} reached the wrong instance"
    problem(send(admin_api, "document_ready", correlation_keys={"case": 1}), 404)


@pytest.mark.parametrize("name,value", [("a.b", "dot"), ("it's", "quote"), ('say "x"', "double quote"),
                                        ("back\\slash", 1), ("big", 2**70), ("small", -2**70), ("ratio", 0.5)])
def test_odd_correlation_keys_and_values_are_found(admin_api, name, value):
    """Key names that a JSON path would need to quote or cannot hold, and values a database
    parameter cannot take (integers beyond 64 bits): delivered to their instance, not a 500."""
    admin_api.deploy(diagram("receive_task.bpmn"))
    other = admin_api.start("receive_document", {name: "something else"})
    wanted = admin_api.start("receive_document", {name: value})
    [item] = delivered(send(admin_api, "document_ready", correlation_keys={name: value}))
    assert item["instance_id"] == wanted["id"]
    problem(send(admin_api, "document_ready", correlation_keys={name: value}), 404)
    assert get_instance(admin_api, other["id"])["status"] == "waiting"


def test_a_correlation_value_that_is_not_json_is_not_a_server_error(admin_api):
    admin_api.deploy(diagram("receive_task.bpmn"))
    admin_api.start("receive_document", {"case": 1})
    for number in ("NaN", "Infinity", "-Infinity"):
        body = '{"name": "document_ready", "correlation_keys": {"case": NUMBER}}'.replace("NUMBER", number)
        response = admin_api.post(MESSAGES, data=body, content_type="application/json")
        assert 400 <= response.status_code < 500, response.get_data(as_text=True)


def test_variables_a_json_function_refuses_do_not_break_correlation(admin_api, cafe):
    """Variables stored before today's checks may hold a string with NUL, which PostgreSQL's JSON
    functions refuse (requests and scripts can no longer store one: server/api/limits.py,
    bpmn/sandbox.py). Messages correlated by key still reach that instance and the others waiting
    for the same message."""
    admin_api.deploy(diagram("receive_task.bpmn"))
    strange = admin_api.start("receive_document", {"case": 1})
    plain = admin_api.start("receive_document", {"case": 2})
    with cafe.db.transaction() as session:  # as older data would hold it
        session.execute(update(ProcessInstance).where(ProcessInstance.id == strange["id"]).values(
            variables={"case": 1, "nul": "\x00", "case_text": "a\x00"}))
    assert strange["status"] == plain["status"] == "waiting"
    for instance, case in ((plain, 2), (strange, 1)):
        [item] = delivered(send(admin_api, "document_ready", correlation_keys={"case": case},
                                variables={"document_id": "d"}))
        assert item["instance_id"] == instance["id"]


def test_correlation_keys_are_compared_by_the_database(admin_api, cafe):
    """The lookup's statement itself returns only the matching instance: the variables of the
    others that wait for the same message are never read."""
    admin_api.deploy(diagram("receive_task.bpmn"))
    started = [admin_api.start("receive_document", {"case": case, "tag": f"t{case}"}) for case in range(30)]
    here = threading.get_ident()
    returned, running = [], []

    def run_it_too(conn, cursor, statement, parameters, context, executemany):
        """Run the lookup on a connection of its own, as the request is about to run it."""
        if running or threading.get_ident() != here or not statement.startswith("SELECT") \
                or "message_waits" not in statement:
            return
        running.append(statement)  # this very execution passes through here too
        try:
            with cafe.db.read_engine.connect() as own:
                returned.append([row[0] for row in own.exec_driver_sql(statement, parameters)])
        finally:
            running.clear()

    event.listen(cafe.db.read_engine, "before_cursor_execute", run_it_too)
    try:
        [item] = delivered(send(admin_api, "document_ready", correlation_keys={"case": 17, "tag": "t17"}))
    finally:
        event.remove(cafe.db.read_engine, "before_cursor_execute", run_it_too)
    assert item["instance_id"] == started[17]["id"]
    assert returned and returned[0] == [started[17]["id"]], returned


def test_message_start_event_starts_an_instance(admin_api):
    admin_api.deploy(diagram("message_start.bpmn"))
    [item] = delivered(send(admin_api, "order_placed", business_key="web-9", variables={"quantity": 4}))
    assert item["started"] is True
    instance = get_instance(admin_api, item["instance_id"])
    assert instance["definition_key"] == "order_by_message"
    assert instance["business_key"] == "web-9"
    assert instance["status"] == "waiting"
    assert instance["variables"]["quantity"] == 4 and instance["variables"]["total"] == 12
    assert [t["bpmn_id"] for t in instance["tasks"]] == ["ship"]


def test_no_match_is_404_with_a_reason(admin_api):
    admin_api.deploy(diagram("receive_task.bpmn"))
    admin_api.start("receive_document", {"case": 1}, business_key="b-1")
    body = problem(send(admin_api, "nobody_waits_for_this"), 404)
    assert "nobody_waits_for_this" in body["detail"]
    assert "waiting" in body["detail"]
    body = problem(send(admin_api, "document_ready", business_key="other"), 404)
    assert "document_ready" in body["detail"]
    body = problem(send(admin_api, "document_ready", instance_id="no-such-instance"), 404)
    assert "document_ready" in body["detail"]


@pytest.mark.parametrize("diagram_name,key", [("receive_task.bpmn", "receive_document"),
                                              ("message_catch_camunda.bpmn", "payment_camunda")])
def test_ambiguous_message_is_409_unless_all(admin_api, diagram_name, key):
    admin_api.deploy(diagram(diagram_name))
    first = admin_api.start(key, {"document_id": "d", "amount": 1})
    second = admin_api.start(key, {"document_id": "d", "amount": 1})
    name = "document_ready" if key == "receive_document" else "payment_received"

    body = problem(send(admin_api, name), 409)
    assert "2 waiting instances" in body["detail"]
    assert get_instance(admin_api, first["id"])["status"] == "waiting"

    items = delivered(send(admin_api, name, all=True, variables={"note": "for all"}))
    assert sorted(i["instance_id"] for i in items) == sorted([first["id"], second["id"]])
    assert all(i["started"] is False and i["status"] == "completed" for i in items)
    for instance in (first, second):
        assert get_instance(admin_api, instance["id"])["variables"]["note"] == "for all"
    problem(send(admin_api, name, all=True), 404)


def test_message_needs_a_name(admin_api):
    response = admin_api.post(MESSAGES, json={"business_key": "x"})
    assert response.status_code == 422


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, None])
def test_all_must_be_a_json_boolean(admin_api, value):
    body = problem(admin_api.post(MESSAGES, json={"name": "anything", "all": value}), 422)
    assert "all" in str(body)


def test_spiff_correlation_properties(admin_api):
    """SpiffArena diagrams with a collaboration correlation key take a second message only when its
    correlation property matches the one the first message set."""
    admin_api.deploy(diagram("message_correlation_spiff.bpmn"))
    seven = admin_api.start("order_correlation", {"order_id": 7})
    eight = admin_api.start("order_correlation", {"order_id": 8})
    for order_id in (7, 8):
        [item] = delivered(send(admin_api, "order_paid", correlation_keys={"order_id": order_id},
                                variables={"order_id": order_id, "amount": order_id * 10}))
        assert item["status"] == "waiting"
    assert get_instance(admin_api, seven["id"])["variables"]["payment"] == {"order_id": 7, "amount": 70}

    body = problem(send(admin_api, "order_shipped", instance_id=seven["id"], variables={"order_id": 8}), 409)
    assert "order_shipped" in body["detail"] and "correlation" in body["detail"]
    assert get_instance(admin_api, seven["id"])["variables"]["order_id"] == 7

    [item] = delivered(send(admin_api, "order_shipped", correlation_keys={"order_id": 7},
                            variables={"order_id": 7, "carrier": "post"}))
    assert item == {"instance_id": seven["id"], "started": False, "status": "completed"}
    assert get_instance(admin_api, seven["id"])["variables"]["shipment"] == {"order_id": 7, "carrier": "post"}
    assert get_instance(admin_api, eight["id"])["status"] == "waiting"

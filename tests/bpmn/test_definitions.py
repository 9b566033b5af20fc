"""parse_deployment: what deploys, and for what does not, a refusal naming file, element and line."""

from __future__ import annotations

import contextlib
import random
import socket
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.parser.ProcessParser import ProcessParser

from bpmn.definitions import MAX_PROCESS_ID, parse_deployment
from bpmn.dialect import Dialect
from bpmn.errors import DiagramProblem, DiagramRejected
from bpmn.serializer import serializer_for
from bpmn.xml import parse_xml, safe_parser
from tests.conftest import DIAGRAMS, ROOT

INVALID = DIAGRAMS / "invalid"
VALID = DIAGRAMS / "valid"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"

PLAIN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="t">
  <bpmn:process id="{pid}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    {body}
  </bpmn:process>
</bpmn:definitions>
"""


def line_of(path: Path, text: str) -> int:
    """The 1-based line of the first occurrence of `text`: the expected `line` of a problem."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path.name}")


def rejected_files(files: list[tuple[str, bytes]], max_bytes: int | None = None) -> list[DiagramProblem]:
    with pytest.raises(DiagramRejected) as info:
        parse_deployment(files, max_bytes=max_bytes)
    return info.value.problems


def rejected(*paths: Path) -> list[DiagramProblem]:
    return rejected_files([(p.name, p.read_bytes()) for p in paths])


def rejected_bytes(name: str, content: bytes) -> list[DiagramProblem]:
    return rejected_files([(name, content)])


def only(problems: list[DiagramProblem]) -> DiagramProblem:
    assert len(problems) == 1, problems
    return problems[0]


# -- what deploys --------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "key", "dialect"), [
    ("plain_python_condition.bpmn", "plain_condition", Dialect.PLAIN),
    ("spiff_instructions.bpmn", "spiff_instructions", Dialect.SPIFF),
    ("camunda_connector.bpmn", "camunda_connector", Dialect.CAMUNDA),
])
def test_valid_diagrams_parse_in_their_dialect(name, key, dialect):
    path = VALID / name
    parsed = parse_deployment([(name, path.read_bytes())])
    [process] = parsed.processes
    assert (process.key, process.dialect, process.resource) == (key, dialect, name)
    bundle = serializer_for(dialect).load_specs(process.specs_json)  # what an instance starts from
    assert bundle.spec.name == key


def test_camunda_service_task_round_trips_with_its_connector():
    """The stock Camunda serializer config cannot store a plain ServiceTask; the dialect adds it."""
    path = VALID / "camunda_connector.bpmn"
    [process] = parse_deployment([(path.name, path.read_bytes())]).processes
    task = serializer_for(Dialect.CAMUNDA).load_specs(process.specs_json).spec.task_specs["publish"]
    assert task.extensions["connector"]["id"] == "social.publishStatus"


def test_the_example_still_deploys():
    path = ROOT / "examples" / "order-approval.bpmn"
    [process] = parse_deployment([(path.name, path.read_bytes())]).processes
    assert process.dialect is Dialect.CAMUNDA


def test_a_deployment_may_mix_executable_and_sketch_processes():
    files = [(p.name, p.read_bytes()) for p in (VALID / "plain_python_condition.bpmn", INVALID / "not_executable.bpmn")]
    parsed = parse_deployment(files)
    assert [p.key for p in parsed.processes] == ["plain_condition"]
    assert parsed.not_executable == ["sketch"]


# -- refused, with element and line --------------------------------------------------------------

@pytest.mark.parametrize(("name", "element_id", "reason"), [
    ("plain_condition_syntax.bpmn", "big", "expression 'amount >' does not compile"),
    ("camunda_condition_syntax.bpmn", "approved", "expression '${a &&}' does not compile"),
    ("camunda_java_bean.bpmn", "bean_says_yes", "Java bean"),
    ("script_syntax_error.bpmn", "compute", "'(' was never closed"),
    ("script_import_os.bpmn", "escape", "import statements are not allowed"),
    ("script_javascript.bpmn", "greet", "script format 'javascript' is not supported"),
    ("flow_missing_target.bpmn", "to_review", "targetRef 'review' is not an element of 'flow_missing_target'"),
    ("not_executable.bpmn", "sketch", "is not executable"),
    ("broken_table.dmn", "gold_discount", "Malformed Output Expression '0.1 +'"),
])
def test_refusals_name_the_element_and_its_source_line(name, element_id, reason):
    path = INVALID / name
    problem = only(rejected(path))
    assert problem.file == name
    assert problem.element_id == element_id
    assert problem.line == line_of(path, f'id="{element_id}"')
    assert reason in problem.reason


def test_script_errors_also_give_the_line_inside_the_script():
    path = INVALID / "script_syntax_error.bpmn"
    problem = only(rejected(path))
    assert f"line 2 of the script (file line {line_of(path, 'total = (total +')})" in problem.reason


def test_java_delegates_are_refused_each_with_its_element():
    path = INVALID / "camunda_java_delegate.bpmn"
    problems = rejected(path)
    assert [(p.element_id, p.line) for p in problems] == [
        ("call_bean", line_of(path, 'id="call_bean"')), ("call_class", line_of(path, 'id="call_class"'))]
    assert "Java bean" in problems[0].reason and "camunda:class" in problems[1].reason


def test_duplicate_process_ids_across_files():
    a, b = INVALID / "duplicate_process_a.bpmn", INVALID / "duplicate_process_b.bpmn"
    problem = only(rejected(a, b))
    assert (problem.file, problem.element_id, problem.line) == (b.name, "shared", line_of(b, 'id="shared"'))
    assert f"also defined in {a.name}" in problem.reason


def test_duplicate_process_ids_across_dialects_are_caught_too():
    """Each dialect has its own SpiffWorkflow parser, which would not see the clash."""
    spiff = (VALID / "spiff_instructions.bpmn").read_bytes()
    plain = PLAIN.format(pid="spiff_instructions", body="").encode()
    problem = only(rejected_files([("a.bpmn", spiff), ("b.bpmn", plain)]))
    assert (problem.file, problem.element_id, problem.line) == ("b.bpmn", "spiff_instructions", 3)


def test_duplicate_element_ids_in_one_file():
    body = '<bpmn:endEvent id="start"/>'
    problem = only(rejected_bytes("dup.bpmn", PLAIN.format(pid="p", body=body).encode()))
    assert (problem.element_id, problem.line) == ("start", 5)
    assert "used twice (first at line 4)" in problem.reason


def test_an_overlong_process_id_is_refused_before_the_database_sees_it():
    pid = "p" * (MAX_PROCESS_ID + 1)
    problem = only(rejected_bytes("long.bpmn", PLAIN.format(pid=pid, body="").encode()))
    assert (problem.element_id, problem.line) == (pid, 3)


def test_script_task_without_script():
    body = ('<bpmn:scriptTask id="empty_script"><bpmn:incoming>f1</bpmn:incoming></bpmn:scriptTask>'
            '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="empty_script"/>')
    problem = only(rejected_bytes("s.bpmn", PLAIN.format(pid="p", body=body).encode()))
    assert (problem.element_id, problem.line, problem.reason) == ("empty_script", 5, "script task has no script")


def test_condition_in_another_expression_language():
    body = ('<bpmn:endEvent id="end"/>'
            '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end">'
            '<bpmn:conditionExpression language="groovy">x == 1</bpmn:conditionExpression></bpmn:sequenceFlow>')
    problem = only(rejected_bytes("g.bpmn", PLAIN.format(pid="p", body=body).encode()))
    assert problem.element_id == "f1" and "'groovy' is not supported" in problem.reason


def test_spiffworkflow_validation_errors_get_the_real_line():
    """SpiffWorkflow's own ValidationException leaves `line_number` empty; the line comes from lxml."""
    body = ('<bpmn:task id="looping">\n<bpmn:standardLoopCharacteristics/></bpmn:task>'
            '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="looping"/>')
    problem = only(rejected_bytes("l.bpmn", PLAIN.format(pid="p", body=body).encode()))
    assert (problem.element_id, problem.line) == ("looping", 5)
    assert "loopMaximum or loopCondition" in problem.reason


def test_a_deeply_nested_camunda_expression_is_refused_not_crashed():
    condition = "${" + "(" * 3000 + "a" + ")" * 3000 + "}"
    body = ('<bpmn:endEvent id="end"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end">'
            f'<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>')
    content = PLAIN.format(pid="p", body=body).replace('id="defs"', f'id="defs" xmlns:camunda="{CAMUNDA}"')
    problem = only(rejected_bytes("deep.bpmn", content.encode()))
    assert (problem.element_id, problem.line) == ("f1", 5)
    assert "too deeply nested" in problem.reason


def test_camunda_assignment_expressions_are_compiled():
    body = ('<bpmn:userTask id="review" camunda:candidateGroups="${groups.lookup()}"/>'
            '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>')
    content = PLAIN.format(pid="p", body=body).replace('id="defs"', f'id="defs" xmlns:camunda="{CAMUNDA}"')
    problem = only(rejected_bytes("assign.bpmn", content.encode()))
    assert (problem.element_id, problem.line) == ("review", 5)
    assert "camunda:candidateGroups" in problem.reason and "Java bean" in problem.reason


def test_a_very_long_chain_gets_a_clear_reason():
    tasks = "".join(f'<bpmn:task id="t{i}"/><bpmn:sequenceFlow id="f{i + 2}" sourceRef="t{i}" targetRef="t{i + 1}"/>'
                    for i in range(1200))
    body = f'<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="t0"/>{tasks}<bpmn:endEvent id="t1200"/>'
    problem = only(rejected_bytes("chain.bpmn", PLAIN.format(pid="p", body=body).encode()))
    assert problem.element_id is not None and problem.line == 5
    assert "recursion limit" in problem.reason


def test_overlong_message_names_and_control_characters_in_file_names():
    body = f'<bpmn:endEvent id="end"/></bpmn:process><bpmn:message id="m" name="{"n" * 300}"/><bpmn:process id="q">'
    problem = only(rejected_bytes("m.bpmn", PLAIN.format(pid="p", body=body).encode()))
    assert (problem.element_id, problem.line) == ("m", 5)
    content = (VALID / "plain_python_condition.bpmn").read_bytes()
    assert "control characters" in only(rejected_bytes("a\x00.bpmn", content)).reason


def test_file_names_must_be_unique():
    content = (VALID / "plain_python_condition.bpmn").read_bytes()
    problem = only(rejected_files([("a.bpmn", content), ("a.bpmn", content)]))
    assert problem.file == "a.bpmn" and "two files" in problem.reason


# -- SpiffWorkflow failing in unexpected ways ----------------------------------------------------

@pytest.mark.parametrize("error", [KeyError("type"), IndexError("list index out of range"),
                                   AttributeError("'NoneType' object has no attribute 'get'")])
def test_unexpected_spiff_errors_become_problems_with_the_process(monkeypatch, error):
    def broken(self):
        raise error

    monkeypatch.setattr(ProcessParser, "get_spec", broken)
    path = VALID / "plain_python_condition.bpmn"
    problem = only(rejected(path))
    assert (problem.file, problem.element_id) == (path.name, "plain_condition")
    assert problem.line == line_of(path, 'id="plain_condition"')
    assert type(error).__name__ in problem.reason


def test_unexpected_spiff_errors_are_traced_to_the_element_being_parsed(monkeypatch):
    """The element is recovered from the frame that raised, when the exception carries none."""
    from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser

    def broken(self, bpmn):
        for message in bpmn.iter("{*}message"):
            raise KeyError(message.get("name"))

    monkeypatch.setattr(BpmnParser, "_add_messages", broken)
    body = '<bpmn:endEvent id="end"/></bpmn:process><bpmn:message id="msg" name="ping"/><bpmn:process id="q">'
    problem = only(rejected_bytes("m.bpmn", PLAIN.format(pid="p", body=body).encode()))
    assert (problem.element_id, problem.line) == ("msg", 5)
    assert "KeyError" in problem.reason


def _mutate(root: etree._Element, rng: random.Random) -> None:
    elements = list(root.iter(etree.Element))
    for _ in range(rng.randint(1, 3)):
        element = rng.choice(elements)
        operation = rng.randrange(4)
        if operation == 0 and element.attrib:
            del element.attrib[rng.choice(list(element.attrib))]
        elif operation == 1 and element.getparent() is not None:
            element.getparent().remove(element)
        elif operation == 2 and element.attrib:
            element.set(rng.choice(list(element.attrib)), rng.choice(["", "x", "start", "false", "'", "${", "a b"]))
        else:
            element.text = rng.choice(["", "(", "'", "${x}", "1/0", None])


def test_damaged_diagrams_are_refused_never_crash():
    """Random damage to real diagrams: every outcome is a deployment or a DiagramRejected."""
    seeds = [*VALID.glob("*.bpmn"), ROOT / "examples" / "order-approval.bpmn"]
    rng = random.Random(20240)
    for _ in range(300):
        seed = rng.choice(seeds)
        root = etree.fromstring(seed.read_bytes())
        _mutate(root, rng)
        try:
            parse_deployment([(seed.name, etree.tostring(root))])
        except DiagramRejected as err:
            assert all(p.reason and p.file for p in err.problems), err.problems


# -- DMN -----------------------------------------------------------------------------------------

def test_malformed_dmn():
    path = INVALID / "malformed.dmn"
    problem = only(rejected(path))
    assert problem.file == path.name and problem.reason.startswith("malformed XML")
    assert problem.line == line_of(path, "</rule>")


@pytest.mark.parametrize(("body", "element_id", "reason"), [
    ("", "defs", "contains no decision"),
    ('<decision id="d1"><decisionTable id="t1"/></decision><decision id="d2"><decisionTable id="t2"/></decision>',
     "d2", "only one decision per DMN file"),
    ('<decision id="d1"><literalExpression id="e1"><text>1</text></literalExpression></decision>',
     "d1", "no decision table"),
])
def test_dmn_shapes_spiffworkflow_cannot_run(body, element_id, reason):
    content = ('<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs" name="n" '
               f'namespace="t">\n{body}\n</definitions>').encode()
    problem = only(rejected_bytes("d.dmn", content))
    assert (problem.file, problem.element_id) == ("d.dmn", element_id)
    assert reason in problem.reason


def test_comments_in_a_decision_table_are_fine():
    content = (INVALID / "broken_table.dmn").read_text().replace("0.1 +", "0.1")
    content = content.replace('<rule id="gold">', '<!-- the gold tier -->\n<rule id="gold"><!-- ten percent -->')
    parsed = parse_deployment([("discounts.dmn", content.encode())])
    assert parsed.decisions == ["discount"] and parsed.processes == []


# -- unsafe or unreadable XML --------------------------------------------------------------------

@pytest.mark.parametrize("name", ["xxe_file.bpmn", "xxe_http.bpmn", "billion_laughs.bpmn"])
def test_doctype_is_refused_before_any_entity_is_touched(name):
    path = INVALID / name
    problem = only(rejected(path))
    assert "DOCTYPE declaration is not allowed" in problem.reason
    assert problem.line == line_of(path, "<!DOCTYPE")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_doctype_is_found_in_utf16_too(encoding):
    text = (INVALID / "xxe_file.bpmn").read_text().replace('encoding="UTF-8"', f'encoding="{encoding.upper()}"')
    problem = only(rejected_bytes("x.bpmn", text.encode(encoding)))
    assert "DOCTYPE" in problem.reason and problem.line == 2


def test_doctype_text_inside_the_document_is_fine():
    body = ('<bpmn:endEvent id="end"><bpmn:documentation><![CDATA[<!DOCTYPE html>]]></bpmn:documentation>'
            '</bpmn:endEvent><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end"/>')
    parse_deployment([("d.bpmn", PLAIN.format(pid="p", body=body).encode())])


def test_parser_backstop_refuses_a_doctype_the_prescan_misses():
    """A markup-like comment ends the pre-scan early; the safely configured parser still refuses."""
    data = b"<!-- <a> -->\n<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>\n<x>&e;</x>"
    with pytest.raises(DiagramRejected) as info:
        parse_xml(data, "x.bpmn")
    problem = only(info.value.problems)
    assert "DOCTYPE declaration is not allowed" in problem.reason and problem.line == 2


def test_the_parser_itself_never_fetches_an_external_entity():
    """Even when handed a DOCTYPE (the pre-scan is bypassed here), nothing is loaded or fetched."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.3)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/entity"
        data = f'<!DOCTYPE x [<!ENTITY e SYSTEM "{url}"><!ENTITY % p SYSTEM "{url}"> %p;]><x>&e;</x>'.encode()
        with contextlib.suppress(etree.XMLSyntaxError):
            root = etree.fromstring(data, parser=safe_parser())
            assert etree.tostring(root) == b"<x>&e;</x>"  # left unexpanded
        with pytest.raises(TimeoutError):
            listener.accept()


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "the file is empty"),
    (b"  \n ", "the file is empty"),
    (bytes(range(256)) * 8, "not an XML document"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not an XML document"),
    (b"<bpmn:definitions", "malformed XML"),
])
def test_empty_and_junk_files(content, reason):
    problem = only(rejected_bytes("junk.bpmn", content))
    assert problem.file == "junk.bpmn" and reason in problem.reason


def test_non_bpmn_xml():
    path = INVALID / "not_bpmn.bpmn"
    problem = only(rejected(path))
    assert "not a BPMN 2.0 or DMN document" in problem.reason and "'svg'" in problem.reason
    assert problem.line == line_of(path, "<svg")


def test_size_limit_is_checked_before_parsing():
    problem = only(rejected_files([("big.bpmn", b"<a>" + b" " * 2000 + b"</a>")], max_bytes=1000))
    assert problem.reason == "the file is 2,007 bytes; the limit for one diagram is 1,000 bytes"


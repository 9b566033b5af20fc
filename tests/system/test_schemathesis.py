"""Schemathesis against the running server: generated requests for every operation of
/api/v1/openapi.json, valid and invalid ones, as an admin. No answer may be a 5xx, and every
answer must match the document (status, media type, body schema, headers).

`positive_data_acceptance` is left out: a request can fit the schema and still be refused for
what it means (a .bpmn part that is not a diagram, an unknown channel kind, a task that is not
open), which the document cannot express; such answers are 400/409/422 problem documents, which
the other checks hold to the document.

The number of examples per operation is bounded (SCHEMATHESIS_EXAMPLES, default 10) so the
whole run takes a minute or two; raise it locally to search harder.
"""

from __future__ import annotations

import io
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from PIL import Image
from schemathesis import GenerationMode

from tests.conftest import DIAGRAMS, emptied
from tests.system.server import ServerProcess

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "10"))
# invalid input may also be refused by gunicorn before the app sees it: a request line over 4 KiB is
# answered 414 (documented in the OpenAPI document, server/api/openapi.py)
CONFIG = schemathesis.Config.from_dict({"checks": {"negative_data_rejection": {
    "expected-statuses": ["400", "401", "403", "404", "405", "406", "409", "413", "414", "415", "422", "428"]}}})


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    database_url = None
    if os.environ.get("PROCESSCAFE_TEST_DB", "sqlite") == "postgresql":
        database_url = emptied(request.getfixturevalue("postgres_url"))
    # live feed streams end after half a second, so a generated GET /feed/events does not hang;
    # the generated requests with wrong Basic credentials would soon meet the sign-in limits (429,
    # tests/api/test_authentication.py), where the check expects the 401 of wrong credentials
    process = ServerProcess(tmp_path_factory.mktemp("schemathesis") / "data", database_url,
                            PROCESSCAFE_FEED_LIFETIME="0.5", PROCESSCAFE_FEED_HEARTBEAT="0.2",
                            PROCESSCAFE_LOGIN_LIMIT="100000 per minute",
                            PROCESSCAFE_LOGIN_ADDRESS_LIMIT="100000 per minute").start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def token(server):
    """The admin's token, after making something of every kind, so that the lists answer with real
    rows to check against the document: definitions, instances (waiting, completed, in error),
    tasks, a review and its feed items, a channel, an image, a user, a follow."""
    session = server.session()
    url = server.url + "/api/v1"
    for diagram in (DIAGRAMS / "engine" / "access_matrix.bpmn", DIAGRAMS / "engine" / "script_error.bpmn"):
        with open(diagram, "rb") as f:
            assert session.post(url + "/deployments", files={"file": (diagram.name, f)}).ok
    for body in ({"definition_key": "access_matrix", "variables": {"case": 1}, "business_key": "case-1"},
                 {"definition_key": "script_error", "variables": {"total": 1, "divisor": 1}},
                 {"definition_key": "script_error", "variables": {"total": 1, "divisor": 0}}):
        assert session.post(url + "/process-instances", json=body).ok
    assert session.post(url + "/channels", json={"name": "hook", "kind": "webhook",
                                                 "credentials": {"url": "https://hooks.example/x"}}).ok
    assert session.post(url + "/media", files={"file": ("p.png", png())}).ok
    assert session.post(url + "/users", json={"username": "ann", "groups": ["reviewers"]}).ok
    assert session.post(url + "/follows", json={"stream": "definition:access_matrix"}).ok
    return session.headers["Authorization"]


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (0, 90, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def check_operation(operation, mode, base_url: str, token: str) -> None:
    """Generated cases of one operation in one mode (valid or invalid input); raises on the first
    failing check with the case that fails (shrunk to a small one) and a curl line to repeat it."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)
    def check(case):
        case.call_and_validate(base_url=base_url, headers={"Authorization": token}, timeout=30,
                               excluded_checks=[schemathesis.checks.positive_data_acceptance])

    check()


def test_api_answers_match_the_document(server, token):
    """Schemathesis's own pytest plugin does not run on pytest 9 yet, so the operations are walked
    here; every failing operation is reported, not only the first."""
    schema = schemathesis.openapi.from_url(server.url + "/api/v1/openapi.json", headers={"Authorization": token},
                                           config=CONFIG)
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                check_operation(operation, mode, server.url, token)
            except (Exception, BaseExceptionGroup) as err:  # collected and reported together below
                failures.append(f"{operation.label} ({mode.value}): {err}")
    assert operations >= 50
    assert not failures, f"{len(failures)} operation(s) answer against the document:\n\n" + "\n\n".join(failures)

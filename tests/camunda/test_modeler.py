"""Camunda Modeler against a real server process: its probe, the deploy request in both multipart
variants (Modeler 5: enable-duplicate-filtering; Modeler 4.7-4.9: deploy-changed-only), an
unchanged redeploy, a changed one, and the start request, byte for byte as the Modeler sends
them; every answer must come well inside the Modeler's 5 second timeout."""

from __future__ import annotations

import time

import pytest
import requests

from tests.camunda.support import REST, basic, deploy_form, diagram, modeler_form
from tests.system.server import ADMIN_PASSWORD, ServerProcess

MODELER_TIMEOUT = 5.0


class Modeler:
    """Sends requests with the Modeler's headers and its 5 s budget, and records how long each took."""

    def __init__(self, base: str):
        self.base = base + REST
        self.auth = {"accept": "application/json", "authorization": basic("admin", ADMIN_PASSWORD)}
        self.slowest = 0.0

    def send(self, method: str, path: str, headers: dict, **kwargs) -> requests.Response:
        began = time.monotonic()
        response = requests.request(method, self.base + path, headers=headers, timeout=MODELER_TIMEOUT, **kwargs)
        elapsed = time.monotonic() - began
        self.slowest = max(self.slowest, elapsed)
        assert elapsed < MODELER_TIMEOUT, f"{method} {path} took {elapsed:.2f} s"
        return response

    def deploy(self, form: tuple[bytes, str]) -> requests.Response:
        body, content_type = form
        return self.send("POST", "/deployment/create", {**self.auth, "content-type": content_type}, data=body)

    def start(self, definition_id: str, business_key: str | None, variables: dict | None) -> requests.Response:
        return self.send("POST", f"/process-definition/{definition_id}/start",
                         {**self.auth, "content-type": "application/json"},
                         json={"businessKey": business_key, "variables": variables})


def check_deployment(body: dict, name: str) -> None:
    """The fields the Modeler (and pycamunda) read from a deployment answer."""
    assert body["id"] and body["name"] == name and body["source"] == "Camunda Modeler"
    assert body["tenantId"] is None
    assert time.strptime(body["deploymentTime"][:19], "%Y-%m-%dT%H:%M:%S")
    assert body["links"][0]["rel"] == "self" and body["links"][0]["href"].endswith(f"{REST}/deployment/{body['id']}")
    for key in ("deployedCaseDefinitions", "deployedDecisionDefinitions", "deployedDecisionRequirementsDefinitions"):
        assert key in body and body[key] is None


@pytest.mark.slow
def test_modeler_probe_deploy_redeploy_and_start(tmp_path, database_url):
    server = ServerProcess(tmp_path / "data", database_url).start()
    try:
        modeler = Modeler(server.url)
        accept = {"accept": "application/json"}

        # 1. the probe while the user edits the endpoint URL: no credentials yet
        probe = modeler.send("GET", "/deployment?maxResults=0", accept)
        assert probe.status_code == 401
        assert probe.headers["WWW-Authenticate"] == 'Basic realm="default"'
        assert probe.json()["type"] == "AuthenticationException"
        probe = modeler.send("GET", "/deployment?maxResults=0", modeler.auth)
        assert probe.status_code == 200 and probe.json() == []
        version = modeler.send("GET", "/version", modeler.auth)
        assert version.status_code == 200 and version.json()["version"].startswith("7.")

        # 2. deploy (Modeler 5): the definition id is taken from the first deployed definition
        path = diagram("order_review.bpmn")
        first = modeler.deploy(deploy_form(path, extra_files=[("checklist.txt", b"check the address\n")]))
        assert first.status_code == 200, first.text
        body = first.json()
        check_deployment(body, "order_review")
        [saved] = list((body["deployedProcessDefinitions"] or {}).values())
        assert saved["key"] == "order_review" and saved["version"] == 1
        assert saved["id"].startswith("order_review:1:") and saved["resource"] == "order_review.bpmn"

        # 3. start with the saved id, as the Start button does
        started = modeler.start(saved["id"], "order-17", {"orderId": {"value": "A-1001", "type": "String"}})
        assert started.status_code == 200, started.text
        assert started.json()["id"] and started.json()["definitionId"] == saved["id"]
        assert started.json()["businessKey"] == "order-17" and started.json()["ended"] is False

        # 4. an unchanged redeploy is a duplicate: the same deployment, no deployed definitions
        again = modeler.deploy(deploy_form(path, extra_files=[("checklist.txt", b"check the address\n")]))
        assert again.status_code == 200, again.text
        assert again.json()["id"] == body["id"]
        check_deployment(again.json(), "order_review")
        assert again.json()["deployedProcessDefinitions"] is None
        restarted = modeler.start(saved["id"], None, None)  # the Modeler starts the id it saved
        assert restarted.status_code == 200 and restarted.json()["businessKey"] is None

        # 5. a changed diagram is a new version; the old id stays valid
        changed_xml = path.read_bytes().replace(b'name="Order review"', b'name="Order review v2"')
        changed = modeler.deploy(modeler_form(
            [("deployment-name", "order_review"), ("deployment-source", "Camunda Modeler"),
             ("enable-duplicate-filtering", "true")],
            [("order_review.bpmn", changed_xml, "text/xml")]))
        [newer] = list(changed.json()["deployedProcessDefinitions"].values())
        assert changed.json()["id"] != body["id"] and newer["version"] == 2 and newer["name"] == "Order review v2"
        assert modeler.start(saved["id"], "old-version", None).json()["definitionId"] == saved["id"]

        # 6. Modeler 4.7-4.9 send deploy-changed-only instead
        legacy = deploy_form(path, "order_review_legacy", filtering="deploy-changed-only")
        fresh = modeler.deploy(legacy)
        assert fresh.status_code == 200, fresh.text
        check_deployment(fresh.json(), "order_review_legacy")
        [legacy_definition] = list(fresh.json()["deployedProcessDefinitions"].values())
        assert legacy_definition["version"] == 3
        duplicate = modeler.deploy(legacy)
        assert duplicate.json()["id"] == fresh.json()["id"]
        assert duplicate.json()["deployedProcessDefinitions"] is None
        assert modeler.start(legacy_definition["id"], "legacy", None).status_code == 200

        # 7. a diagram that cannot run: the Modeler shows "Server could not parse the diagram"
        broken = modeler.deploy(deploy_form(diagram("broken_gateway.bpmn")))
        assert broken.status_code == 400
        assert broken.json()["type"] == "ParseException"
        assert broken.json()["message"].startswith("ENGINE-09005 Could not parse BPMN process.")
        [error] = broken.json()["details"]["broken_gateway.bpmn"]["errors"]
        assert error["mainBpmnElementId"] == "Flow_big" and error["line"] == 19

        assert modeler.slowest < MODELER_TIMEOUT / 2, f"slowest answer took {modeler.slowest:.2f} s"
    finally:
        server.stop()

"""pycamunda, a real Camunda 7 REST client from PyPI, against a real server: deploy, start with
typed variables, the task list by candidate group, claim, complete, message correlation, history
and delete. Its quirks (see shared notes): message correlation needs result_enabled=True, and it
has no history module, so history is read with plain requests."""

from __future__ import annotations

import pycamunda.deployment
import pycamunda.message
import pycamunda.processdef
import pycamunda.processinst
import pycamunda.task
import pytest
import requests
from requests.auth import HTTPBasicAuth

from tests.camunda.support import REST, diagram
from tests.system.server import ADMIN_PASSWORD, ServerProcess


def as_user(request, user: str, password: str):
    request.auth = HTTPBasicAuth(user, password)
    return request


@pytest.mark.slow
def test_pycamunda_drives_a_process_from_deploy_to_history(tmp_path, database_url):
    server = ServerProcess(tmp_path / "data", database_url).start()
    try:
        url = server.url + REST
        admin = server.session()
        assert admin.post(server.url + "/api/v1/users", json={
            "username": "rita", "password": "rita-password", "groups": ["reviewers"]}).status_code == 201

        def call(request, user: str = "admin", password: str = ADMIN_PASSWORD):
            return as_user(request, user, password)()

        # deploy an open file (pycamunda names the part resource-0, the file keeps its name)
        create = pycamunda.deployment.Create(url, name="order_review", source="pycamunda",
                                             enable_duplicate_filtering=True)
        with open(diagram("order_review.bpmn"), "rb") as f:
            create.add_resource(f)
            deployment = call(create)
        [definition] = deployment.deployed_process_definitions.values()
        assert definition.key == "order_review" and definition.version == 1 and deployment.source == "pycamunda"

        # start with typed variables (and one without a type)
        start = pycamunda.processdef.StartInstance(url, key="order_review", business_key="order-17")
        start.add_variable("orderId", "A-1001", type_="String")
        start.add_variable("amount", 120, type_="Long")
        start.add_variable("express", True)
        instance = call(start)
        assert instance.business_key == "order-17" and instance.definition_id == definition.id_
        variables = requests.get(f"{url}/process-instance/{instance.id_}/variables",
                                 auth=("admin", ADMIN_PASSWORD), timeout=10).json()
        assert variables["amount"] == {"type": "Integer", "value": 120, "valueInfo": {}}
        assert variables["express"]["type"] == "Boolean"

        # the reviewer finds the task through her group, claims and completes it
        listed = call(pycamunda.task.GetList(url, candidate_group="reviewers"), "rita", "rita-password")
        [task] = [t for t in listed if t.process_instance_id == instance.id_]
        assert task.task_definition_key == "Task_review" and task.assignee is None and task.created is not None
        call(pycamunda.task.Claim(url, id_=task.id_, user_id="rita"), "rita", "rita-password")
        assert call(pycamunda.task.GetList(url, candidate_group="reviewers"), "rita", "rita-password") == ()
        assert len(call(pycamunda.task.GetList(url, candidate_group="reviewers", include_assigned_tasks=True),
                        "rita", "rita-password")) == 1
        complete = pycamunda.task.Complete(url, id_=task.id_)
        complete.add_variable("approved", True, type_="Boolean")
        call(complete, "rita", "rita-password")
        with pytest.raises(pycamunda.NotFound):
            call(pycamunda.task.Get(url, id_=task.id_), "rita", "rita-password")

        # the payment message, correlated by business key (result_enabled: see the module docstring)
        correlate = pycamunda.message.CorrelateSingle(url, message_name="PaymentReceived", business_key="order-17",
                                                      result_enabled=True)
        correlate.add_process_variable("paid", True, type_="Boolean")
        [result] = call(correlate)
        assert result.execution.process_instance_id == instance.id_
        with pytest.raises(pycamunda.BadRequest):
            call(pycamunda.message.CorrelateSingle(url, message_name="PaymentReceived", business_key="order-17",
                                                   result_enabled=True))

        # history: the instance completed; what ran, who did it
        history = requests.get(f"{url}/history/process-instance/{instance.id_}", auth=("admin", ADMIN_PASSWORD),
                               timeout=10).json()
        assert history["state"] == "COMPLETED" and history["businessKey"] == "order-17"
        activities = requests.get(f"{url}/history/activity-instance", params={"processInstanceId": instance.id_},
                                  auth=("admin", ADMIN_PASSWORD), timeout=10).json()
        assert [a["activityId"] for a in activities] == ["StartEvent_1", "Task_review", "Event_payment", "Event_done"]
        assert activities[1]["assignee"] == "rita"
        with pytest.raises(pycamunda.NotFound):
            call(pycamunda.processinst.Get(url, id_=instance.id_))

        # delete a running instance
        other = call(pycamunda.processdef.StartInstance(url, id_=definition.id_))
        assert [i.id_ for i in call(pycamunda.processinst.GetList(url, business_key=None))] == [other.id_]
        call(pycamunda.processinst.Delete(url, id_=other.id_))
        with pytest.raises(pycamunda.NotFound):
            call(pycamunda.processinst.Get(url, id_=other.id_))
        deleted = requests.get(f"{url}/history/process-instance/{other.id_}", auth=("admin", ADMIN_PASSWORD),
                               timeout=10).json()
        assert deleted["state"] == "EXTERNALLY_TERMINATED"
    finally:
        server.stop()

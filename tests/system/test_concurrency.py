"""20 concurrent completions of one task over real HTTP: exactly one wins, the rest get 409."""

import threading

import pytest
import requests

from tests.conftest import ROOT
from tests.system.server import ServerProcess

EXAMPLE = ROOT / "examples" / "order-approval.bpmn"


@pytest.mark.slow
def test_one_of_twenty_concurrent_completions_wins(tmp_path, database_url):
    server = ServerProcess(tmp_path / "data", database_url).start()
    try:
        api = server.session()
        with open(EXAMPLE, "rb") as f:
            assert api.post(server.url + "/api/v1/deployments", files={"file": (EXAMPLE.name, f)}).ok
        instance = api.post(server.url + "/api/v1/process-instances",
                            json={"definition_key": "order_approval", "variables": {"order_id": 1}}).json()
        [task] = instance["tasks"]
        token = api.headers["Authorization"]
        barrier = threading.Barrier(20)
        statuses: list[int] = []
        lock = threading.Lock()

        def complete(i: int) -> None:
            barrier.wait()
            response = requests.post(f"{server.url}/api/v1/tasks/{task['id']}/complete",
                                     json={"variables": {"approved": True, "comment": f"attempt {i}"}},
                                     headers={"Authorization": token}, timeout=30)
            with lock:
                statuses.append(response.status_code)

        threads = [threading.Thread(target=complete, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(statuses) == [200] + [409] * 19, statuses
        history = api.get(f"{server.url}/api/v1/process-instances/{instance['id']}/history").json()["items"]
        assert len([e for e in history if e["kind"] == "task_completed"]) == 1
        assert api.get(f"{server.url}/api/v1/process-instances/{instance['id']}").json()["status"] == "completed"
    finally:
        server.stop()

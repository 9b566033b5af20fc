"""An instance waiting at a user task and a 30-second timer survives a server kill and restart."""

import time

import pytest

from tests.conftest import DIAGRAMS
from tests.system.server import ServerProcess

pytestmark = pytest.mark.slow


def test_timer_and_task_survive_kill(tmp_path, database_url):
    server = ServerProcess(tmp_path / "data", database_url).start()
    try:
        api = server.session()
        diagram = DIAGRAMS / "system" / "wait_timer_and_task.bpmn"
        with open(diagram, "rb") as f:
            assert api.post(server.url + "/api/v1/deployments", files={"file": (diagram.name, f)}).ok
        started = time.monotonic()
        instance = api.post(server.url + "/api/v1/process-instances",
                            json={"definition_key": "wait_timer_and_task"}).json()
        assert instance["status"] == "waiting"
        [task] = instance["tasks"]
        server.kill()

        server = ServerProcess(tmp_path / "data", database_url)
        server.start()
        api = server.session()
        url = f"{server.url}/api/v1/process-instances/{instance['id']}"
        deadline = started + 60
        fired = []
        while time.monotonic() < deadline and not fired:
            history = api.get(url + "/history").json()["items"]
            fired = [e for e in history if e["kind"] == "timer_fired"]
            time.sleep(0.5)
        assert fired, "the timer did not fire after the restart"
        assert time.monotonic() - started >= 29, "the timer fired before its due time"
        assert api.get(url).json()["variables"]["timer_fired"] is True

        done = api.post(f"{server.url}/api/v1/tasks/{task['id']}/complete", json={"variables": {"ok": True}})
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "completed"
    finally:
        server.stop()

"""A real Matrix homeserver (matrix-synapse from PyPI) for the Matrix connector's tests.

Synapse has dozens of dependencies (Twisted, ...) that the project itself must not carry, so it
lives in its own virtualenv under `.cache/synapse-venv` in the repository (git-ignored), created
on first use and reused afterwards. Each test session gets a fresh homeserver in a temp folder:
loopback only, SQLite, no federation, no trusted key servers, rate limits out of the way.

Prepare the venv ahead of a test run with `python -m tests.fakes.synapse`.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

SYNAPSE_REQUIREMENT = "matrix-synapse>=1.163,<1.170"
SERVER_NAME = "cafe.test"
ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("PROCESSCAFE_SYNAPSE_VENV", ROOT / ".cache" / "synapse-venv"))
HOW_TO_INSTALL = (
    f"Create it by hand with `python3 -m venv .cache/synapse-venv && "
    f".cache/synapse-venv/bin/pip install '{SYNAPSE_REQUIREMENT}'` (needs PyPI), "
    f"or point PROCESSCAFE_SYNAPSE_VENV at a virtualenv that has {SYNAPSE_REQUIREMENT}.")
HIGH = {"per_second": 10000, "burst_count": 100000}


@dataclass(frozen=True)
class MatrixUser:
    user_id: str
    device_id: str
    access_token: str

    @property
    def credentials(self) -> dict[str, str]:
        return {"user_id": self.user_id, "device_id": self.device_id, "access_token": self.access_token}


@dataclass
class Synapse:
    url: str
    room_id: str
    bot: MatrixUser
    alice: MatrixUser
    timings: dict[str, float] = field(default_factory=dict)

    def client_api(self, user: MatrixUser, method: str, path: str, **kwargs) -> dict:
        """A raw client-server API call as `user` (for the other side of a conversation)."""
        response = requests.request(method, f"{self.url}/_matrix/client{path}", timeout=20,
                                    headers={"Authorization": f"Bearer {user.access_token}"}, **kwargs)
        response.raise_for_status()
        return response.json()


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> float:
    """Create the synapse venv if missing; return the seconds it took (0 when cached)."""
    marker = VENV / ".processcafe-requirement"
    if marker.exists() and marker.read_text() == SYNAPSE_REQUIREMENT and _venv_python().exists():
        return 0.0
    VENV.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(VENV.parent / "synapse-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two pytest runs at once must not build it together
        if marker.exists() and marker.read_text() == SYNAPSE_REQUIREMENT:
            return 0.0
        shutil.rmtree(VENV, ignore_errors=True)
        # No ensurepip needed: this interpreter's pip installs into the new venv through --python.
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(VENV)], check=True, capture_output=True)
        result = subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(_venv_python()), "install", "--disable-pip-version-check",
             "--quiet", SYNAPSE_REQUIREMENT], capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            raise RuntimeError(f"pip install {SYNAPSE_REQUIREMENT} failed:\n{result.stderr[-3000:]}")
        marker.write_text(SYNAPSE_REQUIREMENT)
    return time.monotonic() - started


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _overrides(port: int, folder: Path) -> dict:
    """Settings that replace the generated ones (a later config file wins per top-level key)."""
    return {
        "listeners": [{"port": port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
                       "x_forwarded": False, "resources": [{"names": ["client"], "compress": False}]}],
        "database": {"name": "sqlite3", "args": {"database": str(folder / "homeserver.db")}},
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "federation_domain_whitelist": [],
        "enable_registration": False,
        "report_stats": False,
        "enable_metrics": False,
        "url_preview_enabled": False,
        "presence": {"enabled": False},
        "caches": {"sync_response_cache_duration": 0},  # each test's first sync must see "now"
        "rc_message": HIGH, "rc_registration": HIGH, "rc_admin_redaction": HIGH,
        "rc_login": {"address": HIGH, "account": HIGH, "failed_attempts": HIGH},
        "rc_joins": {"local": HIGH, "remote": HIGH}, "rc_joins_per_room": HIGH,
        "rc_invites": {"per_room": HIGH, "per_user": HIGH, "per_issuer": HIGH},
        "rc_3pid_validation": HIGH, "rc_media_create": HIGH, "rc_room_creation": HIGH,
        "rc_delayed_event_mgmt": HIGH, "rc_reports": HIGH, "rc_presence": {"per_user": HIGH},
    }


def _register(folder: Path, url: str, name: str, password: str) -> None:
    subprocess.run([str(VENV / "bin" / "register_new_matrix_user"), "-c", str(folder / "homeserver.yaml"),
                    "-u", name, "-p", password, "--no-admin", url], check=True, capture_output=True, timeout=60)


def _login(url: str, name: str, password: str, device_id: str) -> MatrixUser:
    response = requests.post(f"{url}/_matrix/client/v3/login", timeout=20, json={
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": name},
        "password": password, "device_id": device_id})
    response.raise_for_status()
    body = response.json()
    return MatrixUser(body["user_id"], body["device_id"], body["access_token"])


def _wait_ready(url: str, process: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"synapse exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(f"{url}/_matrix/client/versions", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"synapse did not answer within {seconds} s:\n{log.read_text()[-3000:]}")


def start_synapse(folder: Path) -> tuple[Synapse, subprocess.Popen]:
    python = str(_venv_python())
    started = time.monotonic()
    base = folder / "homeserver.yaml"
    subprocess.run([python, "-m", "synapse.app.homeserver", "--server-name", SERVER_NAME, "--generate-config",
                    "--report-stats=no", "--config-path", str(base), "--data-directory", str(folder)],
                   check=True, capture_output=True, cwd=folder, timeout=120)
    port = _free_port()
    overrides = folder / "overrides.yaml"
    overrides.write_text(json.dumps(_overrides(port, folder), indent=1))  # JSON is YAML
    log = folder / "synapse.out"
    with open(log, "wb") as out:
        process = subprocess.Popen([python, "-m", "synapse.app.homeserver", "-c", str(base), "-c", str(overrides)],
                                   cwd=folder, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log)
        ready = time.monotonic() - started
        _register(folder, url, "cafe", "cafe-test-pw")
        _register(folder, url, "alice", "alice-test-pw")
        bot = _login(url, "cafe", "cafe-test-pw", "CAFEBOT")
        alice = _login(url, "alice", "alice-test-pw", "ALICEDEV")
        server = Synapse(url, "", bot, alice)
        room_id = server.client_api(bot, "POST", "/v3/createRoom", json={
            "name": "Process Café reviews", "preset": "private_chat", "invite": [alice.user_id]})["room_id"]
        server.client_api(alice, "POST", f"/v3/join/{room_id}", json={})
        server.room_id = room_id
        server.timings = {"start": ready, "ready_with_users_and_room": time.monotonic() - started}
    except BaseException:
        process.kill()
        process.wait()
        raise
    return server, process


@pytest.fixture(scope="session")
def synapse(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    """A running homeserver with users @cafe (the channel's bot) and @alice in one private room."""
    problem = None
    try:
        venv_seconds = ensure_venv()
    except (RuntimeError, OSError, subprocess.SubprocessError) as err:
        problem = f"No synapse venv at {_shown(VENV)} and it could not be created: {err}\n{HOW_TO_INSTALL}"
    if problem:
        pytest.fail(problem, pytrace=False)
    server, process = start_synapse(tmp_path_factory.mktemp("synapse"))
    server.timings["venv"] = venv_seconds
    plugins = request.config.pluginmanager
    reporter, capture = plugins.getplugin("terminalreporter"), plugins.getplugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # one line, so the cost of this fixture is visible
            reporter.write_line(f"\nsynapse: venv {venv_seconds:.1f} s (0 = cached), homeserver up in "
                                f"{server.timings['start']:.1f} s, with users and room in "
                                f"{server.timings['ready_with_users_and_room']:.1f} s")
    yield server
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


if __name__ == "__main__":
    print(f"synapse venv ready in {ensure_venv():.1f} s (0 = already there)")

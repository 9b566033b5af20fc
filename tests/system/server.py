"""Running the real server as a separate process, the way a user starts it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ADMIN_PASSWORD = "system-test-admin-pw"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def kill_group(process: subprocess.Popen | None) -> None:
    """SIGKILL a process started in its own session, with everything it forked."""
    if process and process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def stop_group(process: subprocess.Popen | None, wait: float = 10) -> None:
    """SIGTERM the group, then SIGKILL what is still there after `wait` seconds."""
    if process and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(wait)
        except subprocess.TimeoutExpired:
            kill_group(process)


class ServerProcess:
    """`processcafe serve` on a free port, with its own data folder and database."""

    def __init__(self, data_dir: Path, database_url: str | None = None, serve_args: tuple[str, ...] = (), **env):
        self.serve_args = tuple(serve_args)  # e.g. ("--workers", "2")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.env = {
            **os.environ,
            "PROCESSCAFE_DATA": str(data_dir),
            "PROCESSCAFE_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "PROCESSCAFE_EXAMPLES": "false",
            **({"DATABASE_URL": database_url} if database_url else {}),
            **{k: str(v) for k, v in env.items()},
        }
        self.process: subprocess.Popen | None = None
        self.log = data_dir / "server.log"

    def start(self, timeout: float = 30) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cli = Path(sys.executable).parent / "processcafe"
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(cli), "serve", "--port", str(self.port), *self.serve_args], env=self.env, stdout=log, stderr=log,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not answer in {timeout}s: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        kill_group(self.process)

    def stop(self) -> None:
        stop_group(self.process)

    def session(self, user: str = "admin", password: str = ADMIN_PASSWORD) -> requests.Session:
        session = requests.Session()
        token = requests.post(self.url + "/api/v1/tokens", json={"name": "test"}, auth=(user, password),
                              timeout=10).json()["token"]
        session.headers["Authorization"] = f"Bearer {token}"
        return session

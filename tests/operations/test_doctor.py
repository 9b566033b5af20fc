"""`processcafe doctor` says what is wrong in plain words and exits non-zero on a problem."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from click.testing import CliRunner

from server.cli import main
from server.models import Job, ProcessInstance
from tests.api.engine_support import diagram


def doctor(monkeypatch, settings, **env):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PROCESSCAFE_DATA", str(settings.data_dir))
    monkeypatch.delenv("BROKER_URL", raising=False)
    monkeypatch.setenv("PROCESSCAFE_JOB_RUNNER", "thread")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return CliRunner().invoke(main, ["doctor"])


def test_a_healthy_installation(monkeypatch, settings, cafe):
    result = doctor(monkeypatch, settings)
    assert result.exit_code == 0, result.output
    assert "the schema is at the newest migration" in result.output
    assert "all is well" in result.output


def test_overdue_failed_jobs_and_left_leases_are_problems(monkeypatch, settings, admin_api, cafe):
    admin_api.deploy(diagram("timer_catch.bpmn"))
    instance = admin_api.start("timer_catch")
    long_ago = datetime.now(timezone.utc) - timedelta(minutes=10)
    with cafe.db.transaction() as session:
        session.add(Job(kind="continue", due_at=long_ago))
        session.add(Job(kind="timer", due_at=long_ago, status="failed", last_error="boom"))
        row = session.get(ProcessInstance, instance["id"])
        row.lease_owner, row.lease_expires_at = "host:123:dead", long_ago
    result = doctor(monkeypatch, settings)
    assert result.exit_code == 1
    assert "jobs are overdue and nobody runs them (1 continue" in result.output
    assert "jobs failed for good (1 timer)" in result.output
    assert "host:123:dead" in result.output
    assert "3 problem(s) found" in result.output


def test_an_unreachable_broker_is_named_without_its_address(monkeypatch, settings, cafe):
    result = doctor(monkeypatch, settings, BROKER_URL="amqp://guest:hush@127.0.0.1:1//",
                    PROCESSCAFE_JOB_RUNNER="celery")
    assert result.exit_code == 1
    assert "the broker (BROKER_URL) does not answer" in result.output
    assert "hush" not in result.output


def test_a_machine_with_another_credentials_key_is_told(monkeypatch, settings, admin_api, cafe):
    from cryptography.fernet import Fernet

    channel = {"name": "hook", "kind": "webhook", "settings": {}, "credentials": {"url": "https://hooks.example/x"}}
    assert admin_api.post("/api/v1/channels", json=channel).status_code == 201
    monkeypatch.delenv("PROCESSCAFE_CREDENTIALS_KEY", raising=False)
    same = doctor(monkeypatch, settings)
    assert same.exit_code == 0 and "the credentials of 1 channel(s) can be decrypted here" in same.output
    other = doctor(monkeypatch, settings, PROCESSCAFE_CREDENTIALS_KEY=Fernet.generate_key().decode())
    assert other.exit_code == 1
    assert "the credentials of channel(s) hook cannot be decrypted with this machine's key" in other.output

"""`processcafe worker` refuses to start without what it needs, saying what is missing."""

from __future__ import annotations

from click.testing import CliRunner

from server.cli import main


def test_worker_needs_a_broker(monkeypatch, settings):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.delenv("BROKER_URL", raising=False)
    result = CliRunner().invoke(main, ["worker"])
    assert result.exit_code == 1
    assert "set BROKER_URL, e.g. redis://" in result.output


def test_worker_waits_for_a_database_that_answers(monkeypatch, settings):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("BROKER_URL", "redis://127.0.0.1:1/0")
    result = CliRunner().invoke(main, ["worker", "--schema-wait", "0"])
    assert result.exit_code == 1
    assert "the database does not answer (OperationalError); check DATABASE_URL" in result.output

"""The `processcafe` commands that change things: what the services refuse ends the command with
the reason and exit code 1, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from server.cli import main
from tests.api.engine_support import diagram


@pytest.fixture
def cli(monkeypatch, settings):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PROCESSCAFE_DATA", str(settings.data_dir))
    monkeypatch.setenv("PROCESSCAFE_JOB_RUNNER", "none")

    def run(*args: str):
        return CliRunner().invoke(main, list(args))

    return run


def test_deploy_and_start_from_the_command_line(cli):
    deployed = cli("deploy", str(diagram("camunda_form.bpmn")))
    assert deployed.exit_code == 0, deployed.output
    assert "camunda_form version 1 (new)" in deployed.output
    started = cli("start", "camunda_form", "--var", "amount=5", "--business-key", "b-1")
    assert started.exit_code == 0, started.output
    assert " waiting" in started.output and "  task " in started.output


@pytest.mark.parametrize(("args", "message"), [
    (("start", "nope"), "no process definition with key 'nope'"),
    (("token", "create", "nobody"), "no user 'nobody'"),
    (("user", "add", "bob", "--password", "short"), "a password needs at least 8 characters"),
])
def test_what_the_services_refuse_is_an_error_message(cli, args, message):
    result = cli(*args)
    assert result.exit_code == 1
    assert f"Error: {message}" in result.output and "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # click's exit, not an uncaught error


def test_a_diagram_that_cannot_run_is_refused_with_its_problems(cli, tmp_path):
    bad = tmp_path / "bad.bpmn"
    bad.write_text("<definitions")
    result = cli("deploy", str(bad))
    assert result.exit_code == 1 and "Error: bad.bpmn, line" in result.output and "malformed XML" in result.output


def test_alembic_says_only_which_migrations_it_runs(tmp_path):
    """Every command upgrades the schema first; alembic's lines naming its dialect came with each."""
    env = {**os.environ, "PROCESSCAFE_DATA": str(tmp_path / "data"), "DATABASE_URL": ""}

    def db_upgrade(*flags: str) -> str:
        done = subprocess.run([sys.executable, "-c", "from server.cli import main; main()", *flags, "db", "upgrade"],
                              env=env, capture_output=True, text=True, timeout=120, check=True)
        return done.stderr

    first = db_upgrade()
    assert "Running upgrade  -> 0001" in first and "Context impl" not in first
    assert "Running upgrade" not in db_upgrade() and db_upgrade() == ""
    assert "Context impl" in db_upgrade("-v")

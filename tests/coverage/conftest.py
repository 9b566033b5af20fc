"""Prints the foreign-diagram figures at the end of the run (they are a result, not a log line)."""

from __future__ import annotations

REPORT: list[str] = []


def pytest_terminal_summary(terminalreporter):
    if REPORT:
        terminalreporter.section("diagrams from other modeling tools")
        for line in REPORT:
            terminalreporter.write_line(line)

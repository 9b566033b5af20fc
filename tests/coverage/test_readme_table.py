"""The "Supported BPMN elements" table in README.md stays true: every linked diagram exists and a
coverage test uses it, and every row links at least one diagram."""

from __future__ import annotations

import re

from tests.conftest import ROOT

COVERAGE_TESTS = ROOT / "tests" / "coverage"
LINK = re.compile(r"\]\((tests/diagrams/coverage/[^)\s]+)\)")


def table_rows() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "\n## Supported BPMN elements\n" in text, "README.md lacks the 'Supported BPMN elements' section"
    section = text.split("\n## Supported BPMN elements\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|") and not line.startswith("|---")]
    return rows[1:]  # without the header


def test_every_row_links_diagrams_that_exist_and_are_tested():
    rows = table_rows()
    assert len(rows) >= 25
    test_sources = "\n".join(p.read_text(encoding="utf-8") for p in COVERAGE_TESTS.glob("test_*.py"))
    for row in rows:
        links = LINK.findall(row)
        assert links, f"a row links no diagram: {row}"
        for link in links:
            path = ROOT / link
            assert path.is_file(), f"{link} (linked from README.md) does not exist"
            assert f'"{path.name}"' in test_sources, f"no coverage test uses {path.name}"


def test_every_coverage_diagram_is_in_the_table():
    linked = {link.rsplit("/", 1)[-1] for row in table_rows() for link in LINK.findall(row)}
    diagrams = {p.name for p in (ROOT / "tests" / "diagrams" / "coverage").iterdir()
                if not p.name.startswith("migration_")}  # migration versions are not elements
    assert diagrams - linked == set(), "diagrams missing from the README table"

"""Every diagram exported by other modeling tools (the OMG BPMN MIWG test models, six tools)
deploys or is refused with a 4xx naming the construct and where it is; never a 5xx.

The folder lives outside the repository (`../shared/diagrams/foreign/`, CI keeps a copy of
shared/ beside the clone). Most of these processes are marked isExecutable="false", so they are
deployed with the explicit opt-in `run_non_executable=true`; each deployed process is then started
once and counts as "ran" when it reaches a wait state or completes without an error.
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

from tests.conftest import ROOT
from tests.coverage.conftest import REPORT

FOREIGN = ROOT.parent / "shared" / "diagrams" / "foreign"


def foreign_files() -> list[Path]:
    assert FOREIGN.is_dir(), (
        f"the foreign diagrams are missing: expected the folder {FOREIGN} (shared/diagrams/foreign beside "
        "the repository clone; CI keeps a copy of shared/ there)")
    files = sorted(FOREIGN.rglob("*.bpmn"))
    assert files, f"no .bpmn file under {FOREIGN}"
    return files


def upload(api, path: Path, **form):
    data = {"file": [(io.BytesIO(path.read_bytes()), path.name)], **form}
    return api.post("/api/v1/deployments", data=data, content_type="multipart/form-data")


def test_every_foreign_diagram_deploys_or_is_refused_precisely(admin_api):
    tally: Counter[str] = Counter()
    failures, unplaced, reasons = [], [], Counter()
    for path in foreign_files():
        name = str(path.relative_to(FOREIGN))
        response = upload(admin_api, path, run_non_executable="true")
        if response.status_code >= 500:
            failures.append(f"{name}: deploy answered {response.status_code}")
            continue
        body = response.get_json()
        if response.status_code >= 400:
            tally["refused"] += 1
            problems = body.get("problems") or []
            if not problems or any(not p.get("reason") for p in problems):
                failures.append(f"{name}: refused without a reason: {body}")
            unplaced += [f"{name}: {p['reason']}" for p in problems if not (p.get("element_id") or p.get("line"))]
            reasons.update(_construct(p["reason"]) for p in problems)
            continue
        tally["deployed"] += 1
        for definition in body["definitions"]:
            tally["processes"] += 1
            started = admin_api.post("/api/v1/process-instances",
                                     json={"definition_id": definition["id"], "variables": {}})
            if started.status_code >= 500:
                failures.append(f"{name}: starting {definition['key']} answered {started.status_code}")
            elif started.status_code == 201 and started.get_json()["status"] in ("waiting", "completed"):
                tally["ran"] += 1
            else:
                tally["failed_to_run"] += 1
    total = len(foreign_files())
    REPORT.append(f"{total} files: {tally['deployed']} deployed, {tally['refused']} refused (4xx); "
                  f"{tally['processes']} processes deployed, {tally['ran']} ran to a wait state or their end, "
                  f"{tally['failed_to_run']} stopped with an error")
    REPORT.extend(f"  refused for: {reason} ({count}x)" for reason, count in reasons.most_common(12))
    print("\n".join(REPORT))
    assert not failures, "\n".join(failures)
    assert not unplaced, "refusals that do not say where:\n" + "\n".join(unplaced)
    assert tally["deployed"] + tally["refused"] == total


def _construct(reason: str) -> str:
    """The reason without its specifics, to count refusals by construct."""
    return reason.split(":")[0].split("(")[0].strip()[:90]


def test_non_executable_processes_are_reported_not_crashed(admin_api):
    path = next(p for p in foreign_files() if b'isExecutable="false"' in p.read_bytes())
    response = upload(admin_api, path)
    assert response.status_code in (200, 201, 422), response.get_json()
    body = response.get_json()
    if response.status_code == 422:
        assert any("not executable" in p["reason"] and "run_non_executable" in p["reason"]
                   for p in body["problems"])
    else:
        assert body["not_executable"]

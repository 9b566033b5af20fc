"""First-start work of the embedded default: the first admin and the example diagrams."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .context import Cafe
from .services import deployments, identity

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"


def prepare(cafe: Cafe) -> Iterator[str]:
    """Yield lines worth telling the person who started the server."""
    with cafe.db.transaction() as session:
        _, generated = identity.ensure_admin(session, cafe.settings.admin_password)
    if generated:
        yield f"Created user 'admin' with password: {generated}"
        yield "(shown once; set PROCESSCAFE_ADMIN_PASSWORD to choose it yourself)"
    if cafe.settings.deploy_examples and EXAMPLES_DIR.is_dir():
        files = sorted(p for p in EXAMPLES_DIR.iterdir() if p.suffix in (".bpmn", ".dmn", ".json"))
        with cafe.db.transaction() as session:
            if files and deployments.count_definitions(session) == 0:
                result = deployments.deploy(session, [(p.name, p.read_bytes()) for p in files],
                                            name="examples", source="processcafe examples", user="admin")
                yield "Deployed examples: " + ", ".join(f"{d.key} v{d.version}" for d in result.definitions)

"""Helpers for the Camunda REST tests: diagrams, Basic credentials, and multipart bodies built
byte for byte the way Chromium's FormData (Camunda Modeler) builds them."""

from __future__ import annotations

import base64
from pathlib import Path

DIAGRAMS = Path(__file__).resolve().parent.parent / "diagrams" / "camunda"
REST = "/engine-rest"
BOUNDARY = "----WebKitFormBoundaryq7XhR2ZbN0kYt4Lc"


def diagram(name: str) -> Path:
    return DIAGRAMS / name


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def modeler_form(fields: list[tuple[str, str]], files: list[tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """(body, content type) of a Chromium FormData upload: text fields, then files whose field
    name is their file name, in this order, CRLF line ends, `--` + boundary delimiters."""
    parts = []
    for name, value in fields:
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for filename, content, content_type in files:
        head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{filename}"; filename="{filename}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n")
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={BOUNDARY}"


def deploy_form(path: Path, name: str | None = None, *, filtering: str = "enable-duplicate-filtering",
                extra_files: list[tuple[str, bytes]] = (), tenant: str | None = None) -> tuple[bytes, str]:
    """What Camunda Modeler posts to /deployment/create for one diagram (and its attachments)."""
    fields = [("deployment-name", name or path.stem), ("deployment-source", "Camunda Modeler"), (filtering, "true")]
    if tenant:
        fields.append(("tenant-id", tenant))
    files = [(path.name, path.read_bytes(), "text/xml")]
    files += [(n, c, "application/octet-stream") for n, c in extra_files]
    return modeler_form(fields, files)

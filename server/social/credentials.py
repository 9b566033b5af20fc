"""Channel credentials, encrypted at rest with Fernet (cryptography).

The key comes from PROCESSCAFE_CREDENTIALS_KEY (one or more Fernet keys, comma-separated, newest
first, so keys can be rotated with MultiFernet) or from a key file made on first start in the
data folder. The key never lives in the database, so a copy of the database alone reveals no
credentials.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEY_FILE = "credentials.key"


class CredentialsUnreadable(ValueError):
    """Stored credentials cannot be decrypted with the configured key(s)."""


class Vault:
    def __init__(self, keys: list[bytes]):
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    @classmethod
    def from_environment(cls, data_dir: Path) -> Vault:
        configured = os.environ.get("PROCESSCAFE_CREDENTIALS_KEY", "").strip()
        if configured:
            return cls([k.strip().encode() for k in configured.split(",") if k.strip()])
        path = Path(data_dir) / KEY_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key())
        return cls([path.read_bytes().strip()])

    def seal(self, credentials: dict) -> str:
        return self._fernet.encrypt(json.dumps(credentials).encode()).decode()

    def open(self, token: str | None) -> dict:
        if not token:
            return {}
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as err:
            raise CredentialsUnreadable("the channel's credentials cannot be decrypted with the configured key") \
                from err

    def rotate(self, token: str) -> str:
        """Re-encrypt with the newest key."""
        return self._fernet.rotate(token.encode()).decode()

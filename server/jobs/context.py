"""What a job handler gets to work with."""

from __future__ import annotations

from dataclasses import dataclass

from ..db import Database
from ..services.store import InstanceStore
from ..social.credentials import Vault
from ..social.media_store import MediaStore


@dataclass
class JobContext:
    db: Database
    store: InstanceStore
    worker_id: str
    vault: Vault
    media: MediaStore
    public_url: str

"""What a job handler gets to work with."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..db import Database
from ..models import Job
from ..services.store import InstanceStore
from ..social.credentials import Vault
from ..social.media_store import MediaStore
from . import leases


@dataclass
class JobContext:
    db: Database
    store: InstanceStore
    worker_id: str
    vault: Vault
    media: MediaStore
    public_url: str
    leased_instance: str | None = None  # the instance whose lease `worker_id` holds for a network job
    let_go_called: bool = False  # `let_go` ran: the lease goes with the commit of its transaction

    def let_go(self, session: Session, done: Job | None = None) -> None:
        """In the handler's last transaction: delete the job row when it is `done`, and release the
        instance lease with the same commit. Released in a later transaction, a worker that dies
        between the two commits would leave the lease behind until the sweeper finds it."""
        if done is not None:
            session.delete(done)
        if self.leased_instance is not None:
            leases.release_in(session, self.leased_instance, self.worker_id)
        self.let_go_called = True

"""Who took part in an instance: the table a plain user's instance search is answered from.

A plain user may see an instance they started, were assigned a task in, were a candidate of a
task in (by name or through a group) or are named in the history of (server/access.py). Those
facts live in four tables, and a search over their union cannot use one index for both the
filter and the order: a member of a big group queue may see 15,000 instances, and asking for the
few of them that are completed made PostgreSQL read all 15,000 (bench/tasklist.py). This table
keeps one row per party (a user or a group) and instance, with copies of the instance's status,
definition key and start time, so a search is one index range scan per party of the caller.

Rows are only ever added (participation is "ever": the team asked stays informed after its task
closes) and go with their instance (ON DELETE CASCADE); the copied status follows the
instance's (server/services/participants.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

USER, GROUP = "user", "group"


class InstanceParticipant(Base):
    """A user or group that took part in an instance, with the instance's search columns."""

    __tablename__ = "instance_participants"
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"),
                                             primary_key=True)
    party_kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # USER or GROUP
    party_name: Mapped[str] = mapped_column(String(120), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    definition_key: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime]


def _search_index(name: str, *filters: str) -> Index:
    """A party's instances (with `filters` equal) in the search's order, newest first then by id:
    the page is the first rows of one range, read from the index alone."""
    table = InstanceParticipant.__table__
    return Index(name, table.c.party_kind, table.c.party_name, *(table.c[f] for f in filters),
                 table.c.started_at.desc(), table.c.instance_id)


_search_index("ix_participants_started")
_search_index("ix_participants_status", "status")
_search_index("ix_participants_key", "definition_key")

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, new_id, utcnow


class Deployment(Base):
    __tablename__ = "deployments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(200))
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(120))

    resources: Mapped[list[Resource]] = relationship(back_populates="deployment", cascade="all, delete-orphan")
    definitions: Mapped[list[ProcessDefinition]] = relationship(back_populates="deployment")


class Resource(Base):
    __tablename__ = "resources"

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)

    deployment: Mapped[Deployment] = relationship(back_populates="resources")


class ProcessDefinition(Base):
    """One version of one executable process; its parsed spec is stored once, here."""

    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("key", "version", "tenant_id", name="uq_definition_version"),)

    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # key:version:uuid, as Camunda
    key: Mapped[str] = mapped_column(String(120), index=True)
    version: Mapped[int]
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(255))
    dialect: Mapped[str] = mapped_column(String(16))
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"), index=True)
    resource_name: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64))
    specs_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    deployment: Mapped[Deployment] = relationship(back_populates="definitions")


class MessageStart(Base):
    """A message (or, kind "signal", a signal) start event of a definition: correlating that
    message, or broadcasting that signal, starts an instance."""

    __tablename__ = "message_starts"
    __table_args__ = (Index("ix_message_starts_name", "message_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[str] = mapped_column(ForeignKey("process_definitions.id", ondelete="CASCADE"))
    definition_key: Mapped[str] = mapped_column(String(120))
    message_name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(8), default="message", server_default="message")

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, new_id, utcnow

RUNNING, WAITING, COMPLETED, ERROR, TERMINATED = "running", "waiting", "completed", "error", "terminated"
ACTIVE_STATUSES = (RUNNING, WAITING, ERROR)


class ProcessInstance(Base):
    """An instance: its live state as one compact document plus a few columns to query by."""

    __tablename__ = "process_instances"
    __table_args__ = (
        Index("ix_instances_key_status", "definition_key", "status"),
        Index("ix_instances_business_key", "business_key"),
        Index("ix_instances_started_at", "started_at"),
        Index("ix_instances_lease_expires_at", "lease_expires_at"),  # the sweeper finds leases left behind
        Index("ix_instances_started_by", "started_by", "id"),  # the started_by filter of searches
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    definition_id: Mapped[str] = mapped_column(ForeignKey("process_definitions.id"), index=True)
    definition_key: Mapped[str] = mapped_column(String(120))
    business_key: Mapped[str | None] = mapped_column(String(255))
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    state: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    variables: Mapped[dict] = mapped_column(default=dict)
    started_by: Mapped[str | None] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))
    # the job worker advancing this instance across transactions (a network call between them):
    # taken when a job starts, renewed by its heartbeat, released at the end; an expired lease is
    # free, so a dead worker holds an instance for seconds only (server/jobs/leases.py)
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_expires_at: Mapped[datetime | None]

    __mapper_args__ = {"version_id_col": revision}


class OpenTask(Base):
    """A ready user task, derived from the state at each commit, for task-list queries."""

    __tablename__ = "open_tasks"
    __table_args__ = (
        # each in the task list's order after its filter's column, so a page of a filtered list
        # is the first rows of one index range and its total counts at most 1,001 of them
        Index("ix_open_tasks_assignee", "assignee", "created_at", "id"),
        Index("ix_open_tasks_instance", "instance_id"),
        Index("ix_open_tasks_key", "definition_key", "created_at", "id"),
        Index("ix_open_tasks_created", "created_at", "id"),  # the task list's order
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    definition_id: Mapped[str] = mapped_column(String(255))
    definition_key: Mapped[str] = mapped_column(String(120))
    bpmn_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(64))
    lane: Mapped[str | None] = mapped_column(String(255))
    assignee: Mapped[str | None] = mapped_column(String(120))
    candidate_users: Mapped[list] = mapped_column(default=list)
    candidate_groups: Mapped[list] = mapped_column(default=list)
    form: Mapped[dict | None]
    documentation: Mapped[str | None] = mapped_column(Text)
    extensions: Mapped[dict] = mapped_column(default=dict)
    priority: Mapped[int | None]
    due: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaskCandidate(Base):
    """One candidate user or group of an open task: the index behind "tasks I may claim".

    `created_at` and `definition_key` copy the task's (neither changes while the task is open): a
    user's or group's queue, also by definition key, is then one index range in the task list's
    order, so a page of a queue of 20,000 tasks reads its first rows instead of every task id of
    the queue (services/task_search.py).
    """

    __tablename__ = "task_candidates"
    __table_args__ = (
        # a queue in list order; also covers "tasks naming me or my groups" without reading the table
        Index("ix_task_candidates_names", "kind", "name", "created_at", "task_id"),
        Index("ix_task_candidates_key", "kind", "name", "definition_key", "created_at", "task_id"),
    )

    task_id: Mapped[str] = mapped_column(ForeignKey("open_tasks.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "user" or "group"
    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(36), index=True)
    # the task's, without defaults: every writer copies them (server/services/store.py)
    definition_key: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]


class MessageWait(Base):
    """A catch event waiting for a named message, or (kind "signal") for a broadcast signal."""

    __tablename__ = "message_waits"
    __table_args__ = (Index("ix_message_waits_name", "message_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(255))
    message_name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(8), default="message", server_default="message")


class HistoryEvent(Base):
    """Append-only record of what happened to an instance; never updated or pruned with state."""

    __tablename__ = "history_events"
    __table_args__ = (
        Index("ix_history_instance", "instance_id", "id"),
        Index("ix_history_user", "user", "instance_id"),  # "tasks I completed" (services.worklist)
        # was this id ever a task (a refused completion: closed 409, unknown 404; services.tasks)
        Index("ix_history_task", "task_id", sqlite_where=text("task_id IS NOT NULL"),
              postgresql_where=text("task_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(36))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    bpmn_id: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    element_type: Mapped[str | None] = mapped_column(String(64))
    task_id: Mapped[str | None] = mapped_column(String(36))
    user: Mapped[str | None] = mapped_column(String(120))
    data: Mapped[dict | None]


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    bpmn_id: Mapped[str | None] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]


class ServiceCall(Base):
    """Work a parked service task handed to the server: a social step or an external task.

    Written in the same transaction as the step that parked, so it is never lost; finished by
    `services.service_calls`, which completes the task or throws a BPMN error at it.
    """

    __tablename__ = "service_calls"
    __table_args__ = (
        Index("ix_service_calls_topic", "operator", "status"),
        Index("ix_service_calls_instance", "instance_id"),
        Index("ix_service_calls_task", "task_id"),  # a step's call by its task id, in any status
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    task_id: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(255))
    operator: Mapped[str] = mapped_column(String(255))
    params: Mapped[dict] = mapped_column(default=dict)
    request: Mapped[dict] = mapped_column(default=dict)  # the whole ServiceRequest, to finish the task
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, done, failed, cancelled
    worker_id: Mapped[str | None] = mapped_column(String(255))
    locked_until: Mapped[datetime | None]
    retries: Mapped[int | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    error_details: Mapped[str | None] = mapped_column(Text)  # an external worker's stack trace, say
    result: Mapped[dict | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

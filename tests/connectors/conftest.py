"""Fixtures for the connector tests: a real Matrix homeserver (session-scoped, started on first use)."""

from tests.fakes.synapse import synapse  # noqa: F401

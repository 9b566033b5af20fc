"""The distributed tests run only in the PostgreSQL run (PROCESSCAFE_TEST_DB=postgresql) and need
Redis and RabbitMQ too; a missing service fails the test with the command that starts it."""

import pytest

from tests.fakes.webhook import WebhookReceiver
from tests.fakes.wsgi_thread import serve_wsgi


@pytest.fixture
def webhook():
    """A local webhook receiver; yields (receiver, url of the hook)."""
    receiver = WebhookReceiver()
    with serve_wsgi(receiver) as base:
        yield receiver, base + "/hooks/orders"

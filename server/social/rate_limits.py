"""How far away a network's rate-limit reset is believed.

A 429 names when to come back, and the job is rescheduled for then (nothing sleeps in a worker).
A reset beyond any real window (`X-RateLimit-Reset: 9999-12-31T23:59:59Z`, a server clock gone
wrong) parked the step until that date with no incident. The longest window a network we know
uses is a day (X's 24-hour posting limits), so a reset later than `RESET_HORIZON` is not believed:
sending counts such an attempt like a transient failure (back off, and after the last attempt the
step fails with `social.failed`), and polls keep their usual interval.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

RESET_HORIZON = timedelta(hours=25)  # a day's window, and an hour for clocks that disagree


def believable_reset(retry_at: datetime, now: datetime | None = None) -> datetime | None:
    """`retry_at` when it lies within `RESET_HORIZON` from now (or in the past: due at once), else None."""
    now = now or datetime.now(timezone.utc)
    at = retry_at if retry_at.tzinfo else retry_at.replace(tzinfo=timezone.utc)
    return retry_at if at - now <= RESET_HORIZON else None

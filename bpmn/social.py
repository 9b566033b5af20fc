"""The contract of the three social task types: operators, their inputs and their outputs.

A social step is a BPMN service task whose operator is named in the diagram. This module says
what each operator accepts; it does not perform anything (the server does, through connectors).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

PUBLISH_STATUS = "social.publishStatus"
COLLECT_REVIEW = "social.collectReview"
ATTACH_IMAGE = "social.attachImage"
RULES = ("first", "majority", "unanimous")
DEFAULT_OPTIONS = ("approve", "reject")
FAILED_ERROR_CODE = "social.failed"


@dataclass(frozen=True)
class Operator:
    name: str
    result_variable: str
    waits: bool  # True: the step waits for people (review, image) after its posts went out


OPERATORS = {
    PUBLISH_STATUS: Operator(PUBLISH_STATUS, "status_post", waits=False),
    COLLECT_REVIEW: Operator(COLLECT_REVIEW, "review", waits=True),
    ATTACH_IMAGE: Operator(ATTACH_IMAGE, "image", waits=True),
}


def waits_for_people(operator: str) -> bool:
    """A review or an image step waits for people, so it belongs in their task list."""
    return operator in (COLLECT_REVIEW, ATTACH_IMAGE)


def people_asked(operator: str, params: dict[str, Any]) -> list[str]:
    """Users or groups a people-step asks: reviewers of a review, uploaders of an image."""
    key = "reviewers" if operator == COLLECT_REVIEW else "uploader"
    return [name for name in as_list(params.get(key)) if ":" not in name]  # "channel:account" are not local


class InvalidSocialInput(ValueError):
    """An input of a social step has a value the operator cannot use."""


def as_list(value: Any) -> list[str]:
    """Channels, reviewers and options may be given as a list or as comma-separated text."""
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple, set)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


_DURATION = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    """ISO 8601 durations as used for review timeouts: PnDTnHnMnS (weeks, months, years refused)."""
    match = _DURATION.match((text or "").strip().upper())
    if not match or text.strip().upper() in ("P", "PT"):
        raise InvalidSocialInput(f"timeout {text!r} is not an ISO 8601 duration such as PT1H or P2D")
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return timedelta(**parts)


@dataclass(frozen=True)
class ReviewSpec:
    channels: tuple[str, ...]
    message: str
    media: tuple[str, ...]
    reviewers: tuple[str, ...]
    options: tuple[str, ...]
    quorum: int
    rule: str
    timeout: timedelta | None


def review_spec(params: dict[str, Any]) -> ReviewSpec:
    """Check and complete the inputs of social.collectReview."""
    options = tuple(as_list(params.get("options")) or DEFAULT_OPTIONS)
    if len(options) < 2:
        raise InvalidSocialInput("a review needs at least two options")
    rule = str(params.get("rule") or "majority").strip().lower()
    if rule not in RULES:
        raise InvalidSocialInput(f"rule {rule!r} is not one of {', '.join(RULES)}")
    try:
        quorum = int(params.get("quorum") or 1)
    except (TypeError, ValueError):
        raise InvalidSocialInput(f"quorum {params.get('quorum')!r} is not a whole number") from None
    if quorum < 1:
        raise InvalidSocialInput("quorum must be at least 1")
    reviewers = tuple(as_list(params.get("reviewers")))  # users or groups; the server expands groups
    timeout = params.get("timeout")
    return ReviewSpec(
        channels=tuple(as_list(params.get("channels")) or ["feed"]),
        message=str(params.get("message") or ""),
        media=tuple(as_list(params.get("media"))),
        reviewers=reviewers,
        options=options,
        quorum=quorum,
        rule=rule,
        timeout=parse_duration(str(timeout)) if timeout else None,
    )

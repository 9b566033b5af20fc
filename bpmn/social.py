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
MAX_REVIEW_TIMEOUT = timedelta(days=366)  # a year, leap day included; longer overflows dates soon enough
MAX_QUORUM = 1_000_000  # far beyond any review, well inside the 32-bit column that stores it
MAX_OPTION_LENGTH = 120  # the column that stores a vote's option and the decision
LONGEST_NAME = 120  # of a user or a group (server/services/identity.py), and of a task's candidate


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


def _people_input(operator: str) -> str:
    return "reviewers" if operator == COLLECT_REVIEW else "uploader"


def people_asked(operator: str, params: dict[str, Any]) -> list[str]:
    """Users or groups a people-step asks: reviewers of a review, uploaders of an image."""
    names = as_list(params.get(_people_input(operator)))
    return [name for name in names if ":" not in name]  # "channel:account" are not local


def unfit_person(operator: str, params: dict[str, Any]) -> str | None:
    """Why a people-step cannot ask one of its people, or None: a name longer than any user's or
    group's asks nobody (the step fails naming it), and the task list could not hold it."""
    for name in people_asked(operator, params):
        if len(name) > LONGEST_NAME:
            return (f"{_people_input(operator)} names {shown(name)}, longer than {LONGEST_NAME} characters "
                    "(the longest name of a user or group)")
    return None


class InvalidSocialInput(ValueError):
    """An input of a social step has a value the operator cannot use."""


def as_list(value: Any) -> list[str]:
    """Channels, reviewers and options may be given as a list or as comma-separated text."""
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple, set)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def unique(names: list[str], ignore_case: bool = False) -> list[str]:
    """Each name once, where it first occurs (with its first spelling when case is ignored)."""
    first: dict[str, str] = {}
    for name in names:
        first.setdefault(name.casefold() if ignore_case else name, name)
    return list(first.values())


def channel_list(value: Any) -> list[str]:
    """The channels a step posts to, each once: a channel named twice gets one post, not two posts
    with the same idempotency key (which the database refuses)."""
    return unique(as_list(value))


def shown(value: Any, limit: int = 60) -> str:
    """A value for an error message, cut short: inputs can be as long as a variable can be."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _blank(value: Any) -> bool:
    """An input left out, or left empty in the modeler (Camunda gives empty text)."""
    return value is None or (isinstance(value, str) and not value.strip())


_DURATION = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_SECONDS = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


def parse_duration(text: str, longest: timedelta = MAX_REVIEW_TIMEOUT) -> timedelta:
    """ISO 8601 durations as used for review timeouts: PnDTnHnMnS (weeks, months, years refused).

    Counted in float seconds and compared with `longest` before a timedelta is made: timedelta
    (and a deadline `now + timeout`) overflow with an OverflowError long before the digits end.
    """
    match = _DURATION.match((text or "").strip().upper())
    if not match or text.strip().upper() in ("P", "PT"):
        raise InvalidSocialInput(f"timeout {shown(text)} is not an ISO 8601 duration such as PT1H or P2D")
    seconds = sum(float(v) * _SECONDS[k] for k, v in match.groupdict().items() if v)
    if seconds > longest.total_seconds():  # inf for thousands of digits: refused here too
        raise InvalidSocialInput(f"timeout {shown(text)} is longer than {longest.days} days "
                                 f"(P{longest.days}D), the longest a review may wait")
    return timedelta(seconds=seconds)


def review_timeout(value: Any) -> timedelta | None:
    """None when left out; a zero duration is refused rather than read as "no timeout"."""
    if _blank(value):
        return None
    timeout = parse_duration(str(value))
    if timeout <= timedelta(0):
        raise InvalidSocialInput(f"timeout {shown(value)} must be longer than zero; "
                                 "leave timeout out for a review without a deadline")
    return timeout


def review_quorum(value: Any) -> int:
    """A whole number from 1 (a numeric text too, as Camunda inputs are text); 1 when left out.

    0, True or 1.7 are no number of votes: read as 1 they would decide a review on fewer votes
    than the diagram asked for. The upper bound keeps the quorum inside the column that stores it.
    """
    if _blank(value):
        return 1
    number: Any = None
    text = value.strip() if isinstance(value, str) else ""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif text.isascii() and text.isdigit() and len(text) < 10:  # no int() of thousands of digits
        number = int(text)
    if number is None or not 1 <= number <= MAX_QUORUM:
        raise InvalidSocialInput(f"quorum {shown(value)} is not a whole number from 1 to {MAX_QUORUM}")
    return number


def review_options(value: Any) -> tuple[str, ...]:
    """The options a review offers, in order. One named twice is refused, not merged: a reply on a
    network chooses an option by its name without regard to case, so two spellings of one option
    would make every such reply ambiguous, and a list such as `approve,approve` is most likely a
    slip for another option, which merging would hide (and leave a one-option review)."""
    options = tuple(as_list(value)) or DEFAULT_OPTIONS
    seen: set[str] = set()
    for option in options:
        if option.casefold() in seen:
            raise InvalidSocialInput(f"option {shown(option)} is listed twice in options "
                                     "(options are told apart without regard to case)")
        if len(option) > MAX_OPTION_LENGTH:
            raise InvalidSocialInput(f"option {shown(option)} is longer than {MAX_OPTION_LENGTH} characters")
        seen.add(option.casefold())
    if len(options) < 2:
        raise InvalidSocialInput("a review needs at least two options")
    return options


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
    options = review_options(params.get("options"))
    rule = str(params.get("rule") or "majority").strip().lower()
    if rule not in RULES:
        raise InvalidSocialInput(f"rule {shown(rule)} is not one of {', '.join(RULES)}")
    # users or groups (the server expands groups); names are told apart without regard to case
    # everywhere (votes, access), so `tom,Tom` is one reviewer: counting two, unanimity could not be reached
    reviewers = tuple(unique(as_list(params.get("reviewers")), ignore_case=True))
    unfit = unfit_person(COLLECT_REVIEW, params)
    if unfit:
        raise InvalidSocialInput(unfit)
    return ReviewSpec(
        channels=tuple(channel_list(params.get("channels")) or ["feed"]),
        message=str(params.get("message") or ""),
        media=tuple(as_list(params.get("media"))),
        reviewers=reviewers,
        options=options,
        quorum=review_quorum(params.get("quorum")),
        rule=rule,
        timeout=review_timeout(params.get("timeout")),
    )

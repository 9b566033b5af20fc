"""Timer values checked before SpiffWorkflow uses them, at deploy time and when evaluated.

SpiffWorkflow 3.2 accepts timer values that cannot work and reports others in Python's terms:
- a cycle `R/PT0S` fires on every refresh, for ever: one probe wrote 3,000 history rows in 20 s
  and held every other request for 23 s, and a timer start `R/PT0S` started 204 instances in 2 s;
- `R-1/PT1S` is read as "for ever" (SpiffWorkflow's own code for an unbounded cycle);
- its duration parser ignores what comes before the `T` (`-PT5S` and `XPT5S` read as PT5S) and
  takes a cycle text in a timeDuration for a date;
- `P9000Y` passes the parser and overflows when added to now (`OverflowError`), an int value fails
  with `'int' object has no attribute 'upper'`, and so on.

Here every value is checked first and a failure says what is wrong in plain words. A cycle must
repeat at least every `MIN_CYCLE_INTERVAL` (1 s: the job runner fires timers within about a
second anyway, and anything faster is a loop, not a schedule). Padding is trimmed (`"  PT1S  "`).
"""

from __future__ import annotations

import ast
import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.util.task import TaskState

from .errors import DiagramProblem, RunError

if TYPE_CHECKING:  # imported late: dialect and checks import catch_events, which imports this module
    from .dialect import Dialect

MIN_CYCLE_INTERVAL = timedelta(seconds=1)
_NUMBER = r"\d+(?:[.,]\d+)?"
_DURATION = re.compile(rf"P(?=[\dT])(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
                       rf"(?:T(?=\d)(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?", re.IGNORECASE)
_EXAMPLES = {"duration": "PT5M", "date": "2030-01-31T09:00:00Z", "cycle": "R3/PT1H"}
_KIND_OF_TAG = {full_tag("timeDuration"): "duration", full_tag("timeDate"): "date", full_tag("timeCycle"): "cycle"}


class TimerValueError(ValueError):
    """A timer value that cannot work; `shown` is the value as quoted in messages ('' when empty)."""

    def __init__(self, shown: str, reason: str):
        super().__init__(f"{shown} {reason}".strip())
        self.shown = shown
        self.reason = reason

    def about(self, subject: str) -> str:
        """The message with its subject: "timer 'wait': 'x' is not ..." or "the timer value is empty"."""
        shown = self.shown or ("the value" if subject.endswith(":") else "")
        return " ".join(part for part in (subject, shown, self.reason) if part)


def kind_of(definition: TimerEventDefinition) -> str:
    """"duration", "date" or "cycle": the words the modeler uses for the three timer types."""
    if isinstance(definition, CycleTimerEventDefinition):
        return "cycle"
    return "date" if isinstance(definition, TimeDateEventDefinition) else "duration"


def check_value(kind: str, value: Any, now: datetime | None = None) -> str:
    """The timer text to use (trimmed), or TimerValueError saying in plain words what is wrong."""
    example = f"(such as {_EXAMPLES[kind]})"
    if not isinstance(value, str):
        raise TimerValueError(_shown(value), f"is {_type_words(value)}, not an ISO 8601 {kind} {example}")
    text = value.strip()
    if not text:
        raise TimerValueError("", f"is empty; give an ISO 8601 {kind} {example}")
    now = now or datetime.now(timezone.utc)
    if kind == "cycle":
        _check_cycle(text, now)
    elif kind == "duration":
        if text.upper().startswith("R"):
            raise TimerValueError(_shown(text), "is a cycle, not a duration; use a timeCycle for a repeating timer")
        _due(text, now, kind)
    elif text.upper().startswith("P"):  # SpiffWorkflow would compare a parsed duration with a date
        hint = "; for a duration use a timeDuration" if _DURATION.fullmatch(text) else ""
        raise TimerValueError(_shown(text), f"is not an ISO 8601 date {example}{hint}")
    else:
        _due(text, now, kind)
    return text


def _type_words(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return "null" if value is None else "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {list: "a list", dict: "an object"}.get(type(value), f"a {type(value).__name__}")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _due(text: str, now: datetime, kind: str) -> datetime:
    """When a duration from now, or a date, falls due."""
    try:
        if kind == "duration":
            if not _DURATION.fullmatch(text):
                raise ValueError(text)
            parsed = TimerEventDefinition.parse_iso_duration(text)
            due = now + TimerEventDefinition.get_timedelta_from_start(parsed, now)
        else:
            due = TimerEventDefinition.parse_time_or_duration(text)
            if not isinstance(due, datetime):
                raise ValueError(text)
    except OverflowError as err:
        raise TimerValueError(_shown(text), "is out of range: the timer would fall due after the year 9999") from err
    except Exception as err:  # noqa: BLE001 - SpiffWorkflow's parsers raise ValueError, IndexError, Exception
        raise TimerValueError(_shown(text), f"is not an ISO 8601 {kind} (such as {_EXAMPLES[kind]})") from err
    return due


def _check_cycle(text: str, now: datetime) -> None:
    parts = text.upper().split("/")
    if not parts[0].startswith("R") or len(parts) not in (2, 3):
        raise TimerValueError(_shown(text), f"is not an ISO 8601 cycle (such as {_EXAMPLES['cycle']})")
    count = parts[0][1:]
    if count.startswith("-"):
        raise TimerValueError(_shown(text), "has a negative repetition count; write R/PT1H to repeat for ever "
                                            "or R3/PT1H for three times")
    if count and not count.isdigit():
        raise TimerValueError(_shown(text), f"is not an ISO 8601 cycle (such as {_EXAMPLES['cycle']})")
    if count and int(count) == 0:  # SpiffWorkflow ends it unfired; Camunda gives R0 no defined meaning
        raise TimerValueError(_shown(text), "has zero repetitions, so it would never fire; write R1/... "
                                            "to fire once or R/... to repeat for ever")
    for part in parts[1:]:  # each part is a duration or a date
        _due(part, now, "duration" if part.startswith("P") else "date")
    try:
        _, start, interval = TimerEventDefinition.parse_iso_recurring_interval(text)
        start + interval  # noqa: B018 - the second firing must be a date too
    except OverflowError as err:
        raise TimerValueError(_shown(text), "is out of range: the timer would fall due after the year 9999") from err
    except Exception as err:  # noqa: BLE001
        raise TimerValueError(_shown(text), f"is not an ISO 8601 cycle (such as {_EXAMPLES['cycle']})") from err
    if interval < MIN_CYCLE_INTERVAL:
        raise TimerValueError(_shown(text), f"repeats every {interval.total_seconds():g} s; a cycle's interval "
                                            f"must be at least {MIN_CYCLE_INTERVAL.total_seconds():g} s (PT1S)")


# -- cycle schedules ---------------------------------------------------------------------------------
#
# A cycle fires at its slots `start + k * interval` (k < its repetitions). When slots have passed
# unfired (a start date in the past, or a server that was down), the cycle keeps to its schedule
# from now on instead of catching up in a burst: the next firing is the first slot not before now,
# and the skipped slots count as spent. A cycle armed with all of its slots in the past fires once,
# at once; a firing that was late stands for the slots it missed. That is Camunda's rule for a start
# date in the past (the next due date is the first slot after now, none left means due at once), and
# a daily `R/2020-01-01T08:00:00Z/P1D` fires at 08:00, not at deploy time and then a day later.


def next_cycle_slot(due: datetime, interval: timedelta, remaining: int,
                    now: datetime) -> tuple[datetime, int] | None:
    """The first slot not before `now` of a cycle whose next slot is `due`, with `remaining` slots
    from `due` on (negative: for ever); returns (that slot, slots from it on), None if none is left."""
    if due >= now:
        return due, remaining
    if interval <= timedelta(0):
        return None
    missed = (now - due) // interval + (0 if (now - due) % interval == timedelta(0) else 1)
    if 0 <= remaining <= missed:
        return None
    return due + missed * interval, (remaining - missed if remaining >= 0 else -1)


def armed_cycle(cycles: int, start: datetime, interval: timedelta, now: datetime) -> dict:
    """SpiffWorkflow's `event_value` for a cycle armed at `now`: slots already past are skipped;
    if all of them are, one firing is due at once."""
    start = start if start.tzinfo else start.replace(tzinfo=timezone.utc)
    slot = next_cycle_slot(start, interval, cycles, now)
    due, left = slot if slot is not None else (start, 1)
    return {"cycles": left, "next": due.isoformat(), "duration": interval.total_seconds()}


def skip_missed_slots(value: Any, now: datetime) -> Any:
    """A cycle's `event_value` after a firing: a next slot that has passed already was missed while
    this one was late, and the firing that ran stands for it (no burst). Anything else unchanged."""
    if not isinstance(value, dict) or value.get("cycles", 0) == 0:
        return value
    try:
        due = TimerEventDefinition.get_datetime(value["next"])
        interval = timedelta(seconds=float(value["duration"]))
    except (KeyError, TypeError, ValueError):
        return value
    if due >= now:
        return value
    slot = next_cycle_slot(due, interval, int(value["cycles"]), now)
    if slot is None:
        return {**value, "cycles": 0}
    return {**value, "next": slot[0].isoformat(), "cycles": slot[1]}


# -- run time ----------------------------------------------------------------------------------------

def timer_definition(task, expression: str) -> TimerEventDefinition | None:
    """The timer definition of `task` whose expression is being evaluated, if any (a multiple
    event holds several definitions); None for every other evaluation, cheaply."""
    definition = getattr(getattr(task, "task_spec", None), "event_definition", None)
    if definition is None:
        return None
    for member in getattr(definition, "event_definitions", None) or [definition]:
        if isinstance(member, TimerEventDefinition) and member.expression == expression:
            return member
    return None


def checked_timer_value(task, definition: TimerEventDefinition, value: Any) -> str:
    """The evaluated value of a timer, checked; a bad one is a RunError naming the element.

    The task is left WAITING and without a cached value, so that the next advance (a retry with
    corrected variables) evaluates the timer again; SpiffWorkflow would otherwise keep the bad
    value on the task, and the instance waited for ever for a timer no job would fire."""
    try:
        return check_value(kind_of(definition), value)
    except TimerValueError as err:
        spec = task.task_spec
        task.internal_data.pop("event_value", None)
        if task.state != TaskState.WAITING:
            task._set_state(TaskState.WAITING)
        task.workflow.top_workflow.event_manager.add_task(task)
        raise RunError(err.about(f"timer {spec.bpmn_id!r}:"), element_id=spec.bpmn_id, task_id=str(task.id)) from None


def forget_unreadable_timers(workflow) -> None:
    """Drop a timer's cached value that gives no due time (stored before values were checked),
    so that a retry evaluates the timer again with the corrected variables."""
    for task in list(workflow.event_manager.tasks.values()):
        definition = task.task_spec.event_definition
        if not isinstance(definition, (DurationTimerEventDefinition, TimeDateEventDefinition)):
            continue
        value = task.internal_data.get("event_value")
        try:
            TimerEventDefinition.get_datetime(value)
        except Exception:  # noqa: BLE001 - anything unreadable is evaluated again
            task.internal_data.pop("event_value", None)


# -- deploy time -------------------------------------------------------------------------------------

def check_timer_literals(process: etree._Element, filename: str, dialect: Dialect) -> list[DiagramProblem]:
    """Timer values known before anything runs: every empty one, Camunda's literal text (anything
    without `${`) and, in Python dialects, a string literal such as `"R/PT1H"`. An expression
    reading variables is checked when it is evaluated."""
    from .checks import problem_at

    problems = []
    for element in process.iter(*_KIND_OF_TAG):
        text = (element.text or "").strip()
        literal = _literal(text, dialect)
        if literal is None:
            continue
        try:
            check_value(_KIND_OF_TAG[element.tag], literal)
        except TimerValueError as err:
            problems.append(problem_at(element, filename, err.about("the timer value")))
    return problems


def _literal(text: str, dialect: Dialect) -> str | None:
    if not text:
        return ""
    if dialect == "camunda":  # Dialect.CAMUNDA
        return None if "{" in text else text
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None  # an expression: the compile check and the run-time check deal with it
    return value if isinstance(value, str) else None

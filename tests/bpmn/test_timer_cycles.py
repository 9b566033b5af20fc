"""Cycle schedules (bpmn/timer_values.py): the next slot from now on, never a catch-up burst."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bpmn.timer_values import TimerValueError, armed_cycle, check_value, next_cycle_slot, skip_missed_slots

NOW = datetime(2030, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
TEN = timedelta(seconds=10)


@pytest.mark.parametrize(("due", "remaining", "expected"), [
    (NOW + TEN, 3, (NOW + TEN, 3)),  # not due yet: unchanged
    (NOW, 3, (NOW, 3)),  # due now: fires now
    (NOW - timedelta(seconds=25), -1, (NOW + timedelta(seconds=5), -1)),  # 3 slots missed, for ever
    (NOW - timedelta(seconds=20), 5, (NOW, 3)),  # a slot exactly at now is not missed
    (NOW - timedelta(seconds=25), 4, (NOW + timedelta(seconds=5), 1)),
    (NOW - timedelta(seconds=25), 3, None),  # all three slots passed
    (NOW - timedelta(days=3650), -1, (NOW, -1)),  # ten years of 10 s slots: no loop over them
])
def test_next_cycle_slot(due, remaining, expected):
    assert next_cycle_slot(due, TEN, remaining, NOW) == expected


def test_a_cycle_armed_with_its_start_in_the_past_keeps_to_its_grid():
    value = armed_cycle(-1, datetime(2020, 1, 1, 8, 0, tzinfo=timezone.utc), timedelta(days=1), NOW)
    assert value == {"cycles": -1, "next": "2030-06-02T08:00:00+00:00", "duration": 86400.0}


def test_a_cycle_armed_with_all_slots_past_fires_once_at_once():
    start = datetime(2020, 1, 1, tzinfo=timezone.utc)
    assert armed_cycle(5, start, TEN, NOW) == {"cycles": 1, "next": start.isoformat(), "duration": 10.0}


def test_a_late_firing_stands_for_the_slots_it_missed():
    # SpiffWorkflow after firing the slot 35 s ago: next 25 s ago, 9 left
    value = {"cycles": 9, "next": (NOW - timedelta(seconds=25)).isoformat(), "duration": 10.0}
    assert skip_missed_slots(value, NOW) == {**value, "cycles": 6, "next": (NOW + timedelta(seconds=5)).isoformat()}
    done = {"cycles": 2, "next": (NOW - timedelta(seconds=25)).isoformat(), "duration": 10.0}
    assert skip_missed_slots(done, NOW)["cycles"] == 0
    on_time = {"cycles": 2, "next": (NOW + TEN).isoformat(), "duration": 10.0}
    assert skip_missed_slots(on_time, NOW) is on_time


@pytest.mark.parametrize("text", ["R0/PT10S", "r0/PT1H", "R00/2030-01-01T00:00:00Z/PT1H"])
def test_zero_repetitions_are_refused(text):
    with pytest.raises(TimerValueError, match="zero repetitions"):
        check_value("cycle", text)

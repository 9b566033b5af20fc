"""Limits on multi-instance activities: how many instances one activity may make.

A parallel multi-instance activity creates all its instances at once, from a loop cardinality
(often a number someone typed into a form) or from an input collection (a list variable). Both
are capped at MAX_INSTANCES; beyond that the instance gets an incident instead of filling the
server's memory (10**9 parallel instances did that in minutes).

SpiffWorkflow reads a collection when a parallel activity creates its children and when a
sequential one takes its items; in Camunda diagrams it even sets the spec's collection reference
at that moment. Restored specs of multi-instance activities therefore get a subclass of their own
class (same name, same serializer entry, as the spec is never serialized again) that checks the
collection at those two points (`cap_collections`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sized
from functools import cache
from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import (
    MultiInstanceTask,
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
)

from .errors import RunError

MAX_INSTANCES = 10_000  # of one multi-instance activity, from a cardinality or a collection


def check_cardinality(spec: MultiInstanceTask, value: Any) -> None:
    """A loop cardinality must be a whole number from 0 to MAX_INSTANCES."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INSTANCES:
        raise RunError(f"loop cardinality {spec.cardinality!r} is {str(value)[:40]}; it must be a whole number "
                       f"from 0 to {MAX_INSTANCES}", element_id=getattr(spec, "bpmn_id", None))


def _check_collection(spec: MultiInstanceTask, my_task) -> None:
    collection = spec.data_input.get(my_task) if spec.data_input is not None else None
    if isinstance(collection, Sized) and len(collection) > MAX_INSTANCES:
        raise RunError(f"the input collection {spec.data_input.bpmn_id!r} holds {len(collection)} items; a "
                       f"multi-instance activity makes at most {MAX_INSTANCES}",
                       element_id=spec.bpmn_id, task_id=str(my_task.id))


class _CappedParallel:
    def create_children(self, my_task) -> None:
        _check_collection(self, my_task)
        super().create_children(my_task)


class _CappedSequential:
    def init_remaining_items(self, my_task):
        _check_collection(self, my_task)
        return super().init_remaining_items(my_task)


@cache
def _capped(cls: type) -> type:
    check = _CappedParallel if issubclass(cls, ParallelMultiInstanceTask) else _CappedSequential
    return type(cls.__name__, (check, cls), {"__module__": cls.__module__, "__qualname__": cls.__qualname__})


def cap_collections(specs: Iterable[BpmnProcessSpec]) -> None:
    """Give every multi-instance activity in `specs` its capped class (restored specs only)."""
    for process in specs:
        for task_spec in process.task_specs.values():
            cls = type(task_spec)
            if issubclass(cls, (ParallelMultiInstanceTask, SequentialMultiInstanceTask)) \
                    and not issubclass(cls, (_CappedParallel, _CappedSequential)):
                task_spec.__class__ = _capped(cls)

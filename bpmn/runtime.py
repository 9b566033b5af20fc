"""Advancing one instance: the pure step between "load state" and "save state".

`ProcessRun` wraps a SpiffWorkflow `BpmnWorkflow` and answers what the server needs after each
step: which user tasks are open, what it waits for (timers with due times, messages with their
correlation data), what ran, and whether it failed. It never touches a database or the network.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.specs.event_definitions import (
    MessageEventDefinition as CamundaMessageEventDefinition,
)
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.util.task import TaskState

from .async_continuations import AsyncBoundary, check_before, hold_after
from .catch_events import ENDED_PATHS, catching_element, keep_finished_path, shown_variables
from .conditions import refresh_conditions
from .dialect import Dialect
from .engine import CafeScriptEngine
from .errors import NotWaiting, RunError, failure_message
from .event_subprocesses import trigger_definition, trigger_element
from .messaging import ThrownMessage, take_thrown_messages
from .pruning import prune, run_engine_steps
from .serializer import SpecBundle, serializer_for
from .service_tasks import ParkedStep, ServiceRequest, finish_service_task, parked_step, pending_request, throw_error
from .social import waits_for_people
from .tasks import UserTaskView, describe_parked_task, describe_user_task
from .timer_values import forget_unreadable_timers
from .waits import MessageWait, TimerWait, waiting_definitions, waits_of

DEFAULT_STEP_BUDGET = 200
MAX_CALL_DEPTH = 25  # call activities within call activities: a process calling itself stops here


@dataclass(frozen=True)
class StepRecord:
    """An element that finished while the engine ran (for history and diagram highlighting)."""

    bpmn_id: str
    name: str | None
    type: str
    at: float
    fired_timer: str | None = None  # task id of a timer that was due when reached (no job fired it)


@dataclass(frozen=True)
class Waiting:
    """What an instance waits for, in the terms the server indexes: task ids, timers, messages,
    and the parked service tasks (whose calls the server holds open)."""

    user_task_ids: frozenset[str] = frozenset()
    timers: frozenset[TimerWait] = frozenset()
    messages: frozenset[MessageWait] = frozenset()
    parked: frozenset[ParkedStep] = frozenset()


@dataclass
class Outcome:
    """What one advance left behind."""

    status: str  # "running" (budget spent, more to do), "waiting", "completed" or "error"
    user_tasks: list[UserTaskView] = field(default_factory=list)
    timers: list[TimerWait] = field(default_factory=list)
    messages: list[MessageWait] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    requests: list[ServiceRequest] = field(default_factory=list)  # parked service tasks, new this advance
    parked: list[ParkedStep] = field(default_factory=list)  # every service task parked now
    # parked tasks finished or failed through this run (`finish_service_task`, `throw_error`): they
    # left with their call's answer, so they are not among the steps a boundary or end event took away
    answered: list[str] = field(default_factory=list)
    error: RunError | None = None
    thrown: list[ThrownMessage] = field(default_factory=list)  # messages for other instances


class _BudgetSpent(Exception):
    pass


def _people_steps(parked: list) -> list:
    """The parked steps that wait for people (a review, an image): those are in the task list."""
    return [(task, request) for task, request in parked if waits_for_people(request.operator)]


def _is_recorded(task) -> bool:
    spec = task.task_spec
    return bool(getattr(spec, "bpmn_id", None)) and type(spec).__name__ not in ("BoundaryEventSplit",)


class ProcessRun:
    """One instance in memory, with the operations the server performs on it."""

    def __init__(self, workflow: BpmnWorkflow, dialect: Dialect, async_boundaries: bool = False):
        self.workflow = workflow
        self.dialect = dialect
        self.async_boundaries = async_boundaries  # has camunda:asyncBefore/After (`async_continuations`)
        self._steps: list[StepRecord] = []
        self._requests: list[ServiceRequest] = []
        self._answered: list[str] = []
        self._failure: RunError | None = None  # of a completion, reported by the next advance
        self.baseline = Waiting()  # what the stored state waited for; empty for a new instance

    # -- creation and persistence -------------------------------------------------------------

    @classmethod
    def start(
        cls, specs: SpecBundle, dialect: Dialect, engine: CafeScriptEngine, variables: dict | None = None
    ) -> ProcessRun:
        workflow = BpmnWorkflow(specs.spec, specs.subprocess_specs, script_engine=engine)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(variables or {})
        return cls(workflow, dialect, specs.has_async_boundaries)

    @classmethod
    def load(cls, state: str, specs: SpecBundle, dialect: Dialect, engine: CafeScriptEngine) -> ProcessRun:
        workflow = serializer_for(dialect).load_state(state, specs)
        workflow.script_engine = engine
        run = cls(workflow, dialect, specs.has_async_boundaries)
        run.baseline = run.waiting()
        return run

    def dump(self) -> str:
        return serializer_for(self.dialect).dump_state(self.workflow)

    # -- running ------------------------------------------------------------------------------

    def advance(self, budget: int = DEFAULT_STEP_BUDGET, continuation: bool = False) -> Outcome:
        """Run engine tasks until the instance waits, ends, fails, reaches a Camunda transaction
        boundary, or `budget` tasks have run. A `continuation` (the continue job) passes the
        boundaries an earlier advance stopped at."""
        spent = 0
        boundaries = self.async_boundaries

        def before(task) -> None:
            nonlocal spent
            if spent >= budget:
                raise _BudgetSpent()
            spent += 1
            if getattr(task.workflow, "depth", 0) > MAX_CALL_DEPTH:
                raise RunError(f"call activities nest deeper than {MAX_CALL_DEPTH} levels (does a process call "
                               "itself?)", element_id=getattr(task.task_spec, "bpmn_id", None), task_id=str(task.id))
            if boundaries:
                check_before(task, continuation)

        def after(task) -> None:
            if task.state == TaskState.STARTED:
                request = pending_request(task)
                if request is not None:
                    self._requests.append(request)
            elif task.state == TaskState.COMPLETED:
                if _is_recorded(task):
                    self._record(task)
                keep_finished_path(task)  # a non-interrupting path's data outlives its end
                if boundaries and hold_after(task):
                    raise AsyncBoundary()

        status = "waiting"
        error, self._failure = self._failure, None
        try:
            if error is not None:
                raise error
            self.workflow.refresh_timers()
            refresh_conditions(self.workflow)
            run_engine_steps(self.workflow, will_complete_task=before, did_complete_task=after)
        except (_BudgetSpent, AsyncBoundary):  # the store writes a continue job
            status = "running"
        except RunError as err:
            status, error = "error", err
        except (SpiffWorkflowException, Exception) as err:  # scripts may raise anything
            status, error = "error", self._run_error(err)
        prune(self.workflow)
        if status == "waiting" and self.workflow.completed:
            status = "completed"
        if status != "error" and self.error_tasks():
            failed = self.error_tasks()[0]
            message = failed.internal_data.get("error") or "a task is in error"
            status, error = "error", RunError(message, failed.task_spec.bpmn_id, str(failed.id))
        outcome = Outcome(status=status, error=error, steps=self._steps, requests=self._requests,
                          thrown=take_thrown_messages(self.workflow), answered=self._answered)
        self._steps, self._requests, self._answered = [], [], []
        if status != "completed":
            parked = self._parked_steps()
            outcome.user_tasks = self.user_tasks(parked)
            outcome.parked = [parked_step(task, request) for task, request in parked]
            outcome.timers, outcome.messages = self.waits()
        return outcome

    def _record(self, task) -> None:
        spec = task.task_spec
        fired = None
        if isinstance(getattr(spec, "event_definition", None), TimerEventDefinition) and \
                all(wait.task_id != str(task.id) for wait in self.baseline.timers):
            fired = str(task.id)  # a timer that waited has its `timer_fired` written by its job
        self._steps.append(StepRecord(spec.bpmn_id, spec.bpmn_name, type(spec).__name__, time.time(), fired))

    def _run_error(self, err: Exception) -> RunError:
        element_id, task_id = self._first_error_ids()
        task = getattr(err, "task", None)
        if task is not None:
            element_id = getattr(task.task_spec, "bpmn_id", element_id)
            task_id = str(task.id)
        return RunError(failure_message(err), element_id=element_id, task_id=task_id)

    def _first_error_ids(self) -> tuple[str | None, str | None]:
        tasks = self.error_tasks()
        if not tasks:
            return None, None
        return getattr(tasks[0].task_spec, "bpmn_id", None), str(tasks[0].id)

    def error_tasks(self) -> list:
        return self.workflow.get_tasks(state=TaskState.ERROR)

    def retry(self) -> None:
        """Put tasks in error back to READY, so the next advance runs them again (and a timer
        whose value failed evaluates it again)."""
        for task in self.error_tasks():
            task._set_state(TaskState.READY)
        forget_unreadable_timers(self.workflow)

    # -- what the instance waits for -----------------------------------------------------------

    def user_tasks(self, parked: list | None = None) -> list[UserTaskView]:
        """Ready user and manual tasks, and parked social steps that wait for people (a review to
        vote on, an image to upload), so those reach the task list of whoever is asked.
        `parked` is `_parked_steps()` when the caller has it already (one walk of the tree)."""
        ready = self.workflow.get_tasks(state=TaskState.READY, manual=True)
        views = [describe_user_task(task, self.workflow.script_engine) for task in ready]
        people = _people_steps(self._parked_steps() if parked is None else parked)
        return views + [describe_parked_task(task, request) for task, request in people]

    def _parked_steps(self) -> list:
        """(task, request) of every service task parked for outside work."""
        steps = []
        for task in self.workflow.get_tasks(state=TaskState.STARTED):
            request = pending_request(task)
            if request is not None:
                steps.append((task, request))
        return steps

    def waiting(self) -> Waiting:
        """A cheap summary (no forms or assignment evaluated) to compare before and after a step."""
        timers, messages = self.waits()
        parked = self._parked_steps()
        ids = {str(t.id) for t in self.workflow.get_tasks(state=TaskState.READY, manual=True)}
        ids.update(str(task.id) for task, _ in _people_steps(parked))
        return Waiting(frozenset(ids), frozenset(timers), frozenset(messages),
                       frozenset(parked_step(task, request) for task, request in parked))

    def waits(self) -> tuple[list[TimerWait], list[MessageWait]]:
        return waits_of(self.workflow)

    # -- outside input --------------------------------------------------------------------------

    def find_task(self, task_id: str):
        try:
            return self.workflow.get_task_from_id(UUID(task_id))
        except Exception:
            return None

    def complete_user_task(self, task_id: str, data: dict) -> StepRecord:
        task = self.find_task(task_id)
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise NotWaiting(f"task {task_id} is not open")
        task.data.update(data)
        try:
            task.run()
        except Exception as err:  # what follows the task failed (a timer value, a gateway): an incident
            self._failure = err if isinstance(err, RunError) else self._run_error(err)
        if self.async_boundaries:
            hold_after(task)  # with asyncAfter, the next advance stops before what follows
        spec = task.task_spec
        return StepRecord(spec.bpmn_id, spec.bpmn_name, type(spec).__name__, time.time())

    def finish_service_task(self, task_id: str, result: Any) -> StepRecord:
        """The work of a parked service task is done: store its result and move on."""
        task = self._parked(task_id)
        finish_service_task(task, result)
        self._answered.append(task_id)
        if self.async_boundaries:
            hold_after(task)
        spec = task.task_spec
        return StepRecord(spec.bpmn_id, spec.bpmn_name, type(spec).__name__, time.time())

    def throw_error(self, task_id: str, code: str, message: str) -> bool:
        """Throw a BPMN error at a parked task; False when nothing catches it (the task is in error)."""
        caught = throw_error(self._parked(task_id), code, message)
        self._answered.append(task_id)
        return caught

    def _parked(self, task_id: str):
        task = self.find_task(task_id)
        if task is None or task.state != TaskState.STARTED or pending_request(task) is None:
            raise NotWaiting(f"task {task_id} is not waiting for its service work")
        return task

    def deliver_message(self, name: str, payload: dict | None = None, variables: dict | None = None) -> str | None:
        """Hand a named message to the catch event waiting for it; returns that element's id.

        Variables are merged into the waiting task first, as Camunda does with `processVariables`.
        The catch completes before waiting timers are checked again, so a message delivered
        while a competing timer is overdue wins (`catch_events`).
        """
        task, definition = next(((t, d) for t, d in waiting_definitions(self.workflow)
                                 if isinstance(d, MessageEventDefinition) and d.name == name), (None, None))
        if definition is None:  # no catch event waits; an event sub-process may start with it
            definition = trigger_definition(self.workflow, name)
        if definition is None:
            raise NotWaiting(f"the instance is not waiting for message {name!r}")
        if variables and task is not None:
            task.data.update(variables)
        body = dict(payload or variables or {})
        try:  # diagrams with correlation properties only take messages whose keys match
            correlations = definition.calculate_correlations(
                self.workflow.script_engine, definition.correlation_properties, body)
        except Exception:  # the message lacks a property; the catch reports it below
            correlations = {}
        if isinstance(definition, CamundaMessageEventDefinition):
            # The Camunda catch reads body["payload"]: into its result variable if the diagram
            # names one, else into the data (`catch_events.CamundaMessage`)
            body = {"payload": body, "result_var": definition.result_var}
        try:
            self.workflow.send_event(BpmnEvent(definition, payload=body, correlations=correlations))
        except Exception as err:  # correlation mismatch, or a property missing from the message
            reason = (f"its correlation properties {correlations} do not match the instance's "
                      f"{self.workflow.correlations}" if isinstance(err, WorkflowException)
                      else self._run_error(err).message)
            raise NotWaiting(f"message {name!r} cannot be delivered to this instance: {reason}") from err
        return catching_element(task, definition) if task is not None else trigger_element(self.workflow, name)

    def deliver_signal(self, name: str, variables: dict | None = None) -> list[str]:
        """Hand a named signal to every catch event of this instance waiting for it; returns
        the ids of those elements.

        The event is thrown with the waiting event's own definition (SpiffWorkflow matches a
        signal by definition class and name, and Spiff and plain diagrams use different classes).
        Variables are merged into each catching task first, as Camunda sets them on the instance.
        """
        catching = [(task, d) for task, d in waiting_definitions(self.workflow)
                    if isinstance(d, SignalEventDefinition) and d.name == name]
        if not catching:
            raise NotWaiting(f"the instance is not waiting for signal {name!r}")
        for task, _ in catching:
            task.data.update(variables or {})
        thrown = set()
        for _, definition in catching:
            if type(definition) not in thrown:  # one throw reaches every catch of the same class
                thrown.add(type(definition))
                self.workflow.send_event(BpmnEvent(definition, payload=dict(variables or {})))
        return [catching_element(task, definition) for task, definition in catching]

    # -- variables ------------------------------------------------------------------------------

    def variables(self) -> dict[str, Any]:
        """The data an observer sees: open tasks' data merged over that of the paths that ended,
        or the final data once completed (`catch_events.shown_variables`)."""
        if self.workflow.completed:
            return shown_variables(self.workflow, [])
        open_tasks = self._open_tasks()
        if not any(task.data for task in open_tasks) and self.workflow.last_task is not None:
            open_tasks = [*open_tasks, self.workflow.last_task]
        return shown_variables(self.workflow, open_tasks)

    def set_variables(self, values: dict[str, Any], deletions: list[str] = ()) -> None:
        targets = self._open_tasks() or [self.workflow.last_task]
        for task in targets:
            if task is None:
                continue
            # a waiting event re-copies its parent's data whenever it is checked again (timers,
            # conditions), which would undo the change: the parent gets it too
            holders = [task, task.parent] if task.state == TaskState.WAITING and task.parent else [task]
            for holder in holders:
                holder.data.update(values)
                for name in deletions:
                    holder.data.pop(name, None)
        if deletions:  # nor kept from a path that ended, which the end join merges (`keep_finished_path`)
            ended = self.workflow.data.get(ENDED_PATHS) or {}
            for data in [ended, *(task.data for task in self.workflow.get_tasks())]:
                for name in deletions:
                    data.pop(name, None)

    def _open_tasks(self) -> list:
        mask = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
        return self.workflow.get_tasks(state=mask)

    def cancel(self) -> None:
        self.workflow.cancel()

"""The script engine every instance runs with: sandboxed Python, Camunda `${...}` translated."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.dmn.specs import BusinessRuleTaskMixin

from .dialect import Dialect
from .errors import RunError
from .expressions import translate
from .multi_instance import check_cardinality
from .sandbox import SandboxEnvironment, storable_problem
from .timer_values import checked_timer_value, timer_definition

ServiceCall = Callable[[Any, dict], Any]
"""A service operator: gets the SpiffWorkflow task and evaluated parameters, returns JSON-able data."""


class CafeScriptEngine(PythonScriptEngine):
    """Evaluates expressions in the diagram's dialect inside the sandbox.

    Camunda diagrams write `${approved}` and `Order ${id} shipped`; those are translated to Python
    before evaluation, so gateways and parameters behave as they would in Camunda. Spiff and plain
    diagrams are Python already.
    """

    def __init__(
        self,
        dialect: Dialect,
        time_limit: float = 5.0,
        services: Mapping[str, ServiceCall] | None = None,
    ):
        super().__init__(environment=SandboxEnvironment(time_limit=time_limit))
        self.dialect = dialect
        self.services = dict(services or {})

    def to_python(self, expression: str) -> str:
        return translate(expression) if self.dialect is Dialect.CAMUNDA else expression

    def evaluate(self, task, expression, external_context=None):
        if expression is None:  # e.g. a Camunda message throw without camunda:expression: no payload
            return None
        if isinstance(getattr(task, "task_spec", None), BusinessRuleTaskMixin):
            # a business rule task evaluates only its DMN table's cells, which are (S-)FEEL-like
            # Python in every dialect; read as JUEL templates, `"gold"` would be a literal string
            value = super().evaluate(task, expression, external_context)
            problem = storable_problem(f"decision cell {expression[:60]}", value)
            if problem is not None:  # an output becomes a variable: float('nan') was a 500 on saving
                raise RunError(problem, element_id=task.task_spec.bpmn_id, task_id=str(task.id))
            return value
        value = super().evaluate(task, self.to_python(expression), external_context)
        spec = getattr(task, "task_spec", None)
        if isinstance(spec, MultiInstanceTask) and expression == spec.cardinality:
            check_cardinality(spec, value)
        elif getattr(spec, "event_definition", None) is not None:
            timer = timer_definition(task, expression)
            if timer is not None:  # SpiffWorkflow would loop on R/PT0S or fail in Python's terms
                return checked_timer_value(task, timer, value)
        return value

    def evaluate_in(self, expression: str, context: dict):
        """Evaluate against an explicit scope (Camunda output parameters see the connector result)."""
        return self.environment.evaluate(self.to_python(expression), dict(context))

    def call_service(self, task, operation_name=None, operation_params=None, **_kwargs):
        """Spiff service tasks land here; SpiffWorkflow's own version raises a NameError."""
        service = self.services.get(operation_name or "")
        if service is None:
            raise RunError(
                f"unknown service operator {operation_name!r}",
                element_id=task.task_spec.bpmn_id,
                task_id=str(task.id),
            )
        params = {name: p.get("value") for name, p in (operation_params or {}).items()}
        return json.dumps(service(task, params))


"""Evaluating a decision table as Camunda 7 does: FEEL input entries, every hit policy, result mapping.

SpiffWorkflow's DMNEngine knows UNIQUE (first match, no check) and COLLECT (lists) and treats every
other hit policy as FIRST, so a UNIQUE table with two matches gave an arbitrary answer and a RULE
ORDER table a single value. `DecisionEngine` replaces it in the specs our parsers build (see
`decision_tables`); a table that breaks its own hit policy at run time is an incident naming the
decision and the rules, never a silent answer.

What a business rule task stores:

- with `camunda:resultVariable`, Camunda's `camunda:mapDecisionResult` (default `resultList`):
  `resultList` a list of {output: value} per matched rule, `singleResult` one such dict (None when
  nothing matched), `singleEntry` its only value (None when nothing matched), `collectEntries` the
  list of the only output's values. Only that variable is written.
- without one (SpiffWorkflow's convention, kept for existing diagrams): each output becomes a
  variable of its name; for single-result hit policies its value (None when nothing matched), for
  COLLECT, RULE ORDER and OUTPUT ORDER the list of values in that order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.util.deep_merge import DeepMerge

from .errors import RunError
from .feel_tests import FeelError, UnaryTests, parse_unary_tests

SINGLE_POLICIES = ("UNIQUE", "FIRST", "ANY", "PRIORITY")
MULTI_POLICIES = ("COLLECT", "RULE ORDER", "OUTPUT ORDER")
HIT_POLICIES = SINGLE_POLICIES + MULTI_POLICIES
AGGREGATIONS = ("SUM", "COUNT", "MIN", "MAX")
MAPPINGS = ("resultList", "singleResult", "singleEntry", "collectEntries")


class DecisionError(ValueError):
    """A decision could not be evaluated; the message names the decision (and rules, entries)."""


@dataclass(frozen=True)
class DecisionSettings:
    """What SpiffWorkflow's decision table model does not keep; serialized with the spec."""

    decision_id: str
    decision_name: str = ""
    hit_policy: str = "UNIQUE"
    aggregation: str | None = None
    output_values: tuple[tuple[Any, ...] | None, ...] = ()  # per output, in priority order
    result_variable: str | None = None
    mapping: str = "resultList"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DecisionSettings:
        values = tuple(None if v is None else tuple(v) for v in data.get("output_values", ()))
        return cls(**{**data, "output_values": values})

    @property
    def label(self) -> str:
        named = f" ({self.decision_name})" if self.decision_name and self.decision_name != self.decision_id else ""
        return f"decision {self.decision_id!r}{named}"


class DecisionEngine(DMNEngine):
    """A DMNEngine with FEEL unary tests, Camunda's hit policies and result mapping."""

    def __init__(self, decision_table, settings: DecisionSettings):
        super().__init__(decision_table)
        self.settings = settings
        self._tests: dict[str, UnaryTests] = {}

    # -- SpiffWorkflow's entry point: BusinessRuleTaskMixin merges this dict into the task's data --

    def result(self, task) -> dict:
        entries = self.evaluate_table(task)
        if self.settings.result_variable:
            values = {self.settings.result_variable: self._mapped(entries)}
        else:
            values = self._as_variables(entries)
        for key in values:  # assign, not merge: a list or dict left by an earlier run would be merged
            if key in self._replaced():  # into; dotted outputs ("order.discount") do merge, by design
                task.data.pop(key, None)
        return values

    def _replaced(self) -> set[str]:
        if self.settings.result_variable:
            return {self.settings.result_variable}
        return {name for o in self.decision_table.outputs if "." not in (name := o.name or o.label)}

    def decide(self, task) -> list:
        """The matched rules (SpiffWorkflow's API; hit policy checks are in `evaluate_table`)."""
        inputs = self._inputs(task)
        return [rule for rule in self.decision_table.rules if self._matches(rule, inputs, task)]

    def evaluate_table(self, task) -> list[dict[str, Any]]:
        """Camunda's decision result: one {output name: value} per hit, after the hit policy."""
        policy, table = self.settings.hit_policy, self.decision_table
        inputs = self._inputs(task)
        if policy == "FIRST":
            first = next((rule for rule in table.rules if self._matches(rule, inputs, task)), None)
            return [self._outputs(first, task)] if first is not None else []
        rules = [rule for rule in table.rules if self._matches(rule, inputs, task)]
        hits = [(rule, self._outputs(rule, task)) for rule in rules]
        if policy == "UNIQUE" and len(hits) > 1:
            raise DecisionError(f"{self.settings.label}: hit policy UNIQUE, but rules {_ids(rules)} all match")
        if policy == "ANY" and any(outputs != hits[0][1] for _, outputs in hits):
            raise DecisionError(f"{self.settings.label}: hit policy ANY, but the matching rules {_ids(rules)} "
                                "give different outputs")
        if policy in ("PRIORITY", "OUTPUT ORDER"):
            hits.sort(key=lambda hit: self._priority(*hit))
        entries = [outputs for _, outputs in hits]
        if policy in ("UNIQUE", "ANY", "PRIORITY"):
            return entries[:1]
        if policy == "COLLECT" and self.settings.aggregation:
            return self._aggregate(entries)
        return entries

    # -- inputs and rules ----------------------------------------------------------------------

    def _inputs(self, task) -> list[Any]:
        """Each input expression once per evaluation (SpiffWorkflow evaluated it per cell)."""
        values = []
        engine = task.workflow.script_engine
        for item in self.decision_table.inputs:
            name = item.label or item.id
            try:
                if item.expression:
                    values.append(engine.evaluate(task, item.expression))
                elif item.label in task.data:  # SpiffWorkflow's fallback: the label names a variable
                    values.append(task.data[item.label])
                else:
                    raise DecisionError("the input has no expression")
            except Exception as err:
                raise DecisionError(f"{self.settings.label}: input {name!r} "
                                    f"({item.expression or 'no expression'}) failed: {_reason(err)}") from err
        return values

    def _matches(self, rule, inputs: list[Any], task) -> bool:
        for index, entry in enumerate(rule.inputEntries):
            text = entry.lhs[0] if entry.lhs else None
            tests = self._tests.get(entry.id)
            try:
                if tests is None:
                    tests = self._tests[entry.id] = parse_unary_tests(text)
                if not tests.matches(inputs[index], task.data):
                    return False
            except FeelError as err:
                raise DecisionError(f"{self.settings.label}: rule {rule.id!r} (row {rule.row_number}), "
                                    f"input entry {entry.id!r} {text!r}: {err}") from err
        return True

    def _outputs(self, rule, task) -> dict[str, Any]:
        outputs: dict[str, Any] = {}
        engine = task.workflow.script_engine
        for entry in rule.outputEntries:
            name = entry.output.name or entry.output.label
            try:
                outputs[name] = engine.evaluate(task, entry.text) if (entry.text or "").strip() else None
            except Exception as err:
                raise DecisionError(f"{self.settings.label}: rule {rule.id!r} (row {rule.row_number}), "
                                    f"output entry {entry.id!r} {entry.text!r} failed: {_reason(err)}") from err
        return outputs

    def _priority(self, rule, outputs: dict[str, Any]) -> tuple[int, ...]:
        """Position of each output's value in that output's outputValues: first listed wins."""
        key = []
        for output, allowed in zip(self.decision_table.outputs, self.settings.output_values, strict=False):
            if not allowed:
                continue
            value = outputs.get(output.name or output.label)
            if value not in allowed:
                raise DecisionError(f"{self.settings.label}: rule {rule.id!r} gives {value!r} for output "
                                    f"{output.name or output.label!r}, which is not among its output values "
                                    f"{list(allowed)!r} (hit policy {self.settings.hit_policy} orders by them)")
            key.append(allowed.index(value))
        return tuple(key)

    def _aggregate(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Camunda's COLLECT aggregations over the single output; null values are left out.
        COUNT of nothing is 0; SUM, MIN and MAX of nothing give an empty result."""
        output = self.decision_table.outputs[0]
        name, how = output.name or output.label, self.settings.aggregation
        values = [entry[name] for entry in entries if entry.get(name) is not None]
        if how == "COUNT":
            return [{name: len(values)}]
        if not values:
            return []
        if how == "SUM" and not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            raise DecisionError(f"{self.settings.label}: COLLECT SUM needs numbers, got {values!r}")
        try:
            return [{name: {"SUM": sum, "MIN": min, "MAX": max}[how](values)}]
        except TypeError as err:
            raise DecisionError(f"{self.settings.label}: COLLECT {how} cannot order {values!r}") from err

    # -- what the task stores ------------------------------------------------------------------

    def _mapped(self, entries: list[dict[str, Any]]) -> Any:
        mapping, label = self.settings.mapping, self.settings.label
        if mapping == "resultList":
            return entries
        if mapping == "collectEntries":
            if any(len(entry) != 1 for entry in entries):
                raise DecisionError(f"{label}: mapDecisionResult collectEntries needs exactly one output per result")
            return [next(iter(entry.values())) for entry in entries]
        if len(entries) > 1:
            raise DecisionError(f"{label}: mapDecisionResult {mapping} needs at most one result, "
                                f"but there are {len(entries)}")
        if mapping == "singleResult":
            return entries[0] if entries else None
        if not entries:
            return None
        if len(entries[0]) != 1:
            raise DecisionError(f"{label}: mapDecisionResult singleEntry needs exactly one output, "
                                f"the result has {sorted(entries[0])}")
        return next(iter(entries[0].values()))

    def _as_variables(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        names = [output.name or output.label for output in self.decision_table.outputs]
        if self.settings.hit_policy in MULTI_POLICIES and not self.settings.aggregation:
            flat = {name: [entry.get(name) for entry in entries] for name in names}
        else:
            flat = entries[0] if entries else dict.fromkeys(names)
        values: dict[str, Any] = {}
        for name, value in flat.items():  # SpiffWorkflow's dot notation: "order.discount" nests
            *path, last = name.split(".")
            nested: Any = {last: value}
            for part in reversed(path):
                nested = {part: nested}
            DeepMerge.merge(values, nested)
        return values


def _ids(rules: list) -> str:
    return ", ".join(repr(rule.id) for rule in rules)


def _reason(err: Exception) -> str:
    text = str(err).strip()
    known = isinstance(err, DecisionError | FeelError | RunError)
    return text if known or not text else f"{type(err).__name__}: {text}"

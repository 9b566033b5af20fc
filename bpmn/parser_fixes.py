"""Task parsers that close gaps of SpiffWorkflow 3.2's own, registered by our dialect parsers.

- SpiffArena's modeler offers pre- and post-scripts on script tasks too, but the Spiff parser's
  script task parser drops them (every other Spiff task parser passes them on).
- Plain BPMN has no way to name a decision, and the DMN-aware plain parser has no business rule
  task parser at all, so a business rule task from another tool failed with an AttributeError
  deep in the parser. Like a service task without an implementation, it now documents a step
  and completes at once.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.spiff.parser.task_spec import ScriptTaskParser as _SpiffScriptTaskParser


class SpiffScriptTaskParser(_SpiffScriptTaskParser):
    """Script tasks keep `spiffworkflow:preScript` / `postScript`."""

    def create_task(self):
        task = super().create_task()
        extensions = self.parse_extensions()
        task.prescript = extensions.get("preScript")
        task.postscript = extensions.get("postScript")
        return task


class PlainBusinessRuleTaskParser(TaskParser):
    """A business rule task without a decision reference (plain BPMN): a no-op step."""

    @staticmethod
    def get_decision_ref(node) -> None:  # read by BpmnDmnParser._find_dependencies
        return None


class ImplicitSplitMixin:
    """Several unconditional sequence flows leaving an activity or event are an implicit parallel
    split in BPMN ("uncontrolled flow"); SpiffWorkflow refused them outright, although its task
    specs already start every output. Conditional flows out of activities are refused before
    parsing (see `unsupported`), since SpiffWorkflow would ignore their conditions."""

    def handles_multiple_outgoing(self) -> bool:
        return True


def with_implicit_splits(parser_classes: dict) -> dict:
    """Every (parser, spec) entry with the mixin above, e.g. for OVERRIDE_PARSER_CLASSES."""
    return {tag: (type(parser.__name__, (ImplicitSplitMixin, parser), {}), spec)
            for tag, (parser, spec) in parser_classes.items()}

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

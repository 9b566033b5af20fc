"""Which partial draws the working area of a task page: the extension point for social steps.

The task page (templates/web/tasks/task.html) draws the header, claim/unclaim and the sidebar
itself, and includes one *step* partial for the part where the person works. Today every open
task is a user task with a form, drawn by `web/tasks/steps/form.html`.

The social task types add their own steps here, without touching the page:

- review (votes, comments, likes, live tally, deadline): register a predicate that recognises
  the task and `web/tasks/steps/review.html`; the partial gets `page` (worklist.TaskPage),
  `fields`, `errors` and `csrf_token()` like the form step, and posts to its own view.
- upload (file input with `capture`, preview, progress, thumbnail): the same, with
  `web/tasks/steps/upload.html`.

A predicate sees the OpenTask row (its `type`, `extensions`, `form`); the first that matches
wins, the form step is the fallback. Register at import time of the module that owns the step:

    steps.register("review", lambda task: (task.extensions or {}).get("operator") == "social.collectReview",
                   "web/tasks/steps/review.html")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..models import OpenTask

FORM_STEP = "web/tasks/steps/form.html"


@dataclass(frozen=True)
class Step:
    name: str
    applies: Callable[[OpenTask], bool]
    template: str


_STEPS: list[Step] = []


def register(name: str, applies: Callable[[OpenTask], bool], template: str) -> None:
    global _STEPS
    _STEPS = [s for s in _STEPS if s.name != name] + [Step(name, applies, template)]


def template_for(task: OpenTask) -> str:
    for step in _STEPS:
        if step.applies(task):
            return step.template
    return FORM_STEP

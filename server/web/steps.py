"""Which partial draws the working area of a task page: the extension point for social steps.

The task page (templates/web/tasks/task.html) draws the header, claim/release and the details
itself, and includes one *step* partial, in `{% block step %}`, where the person works. Every
open user task today is a form, drawn by `web/tasks/steps/form.html`.

Where the social steps plug in (their work items are parked service tasks, i.e. ServiceCall rows
handled by server/social/reviews.py and images.py, not OpenTask rows, so nothing shows yet):

- review (votes, comments, likes, live tally, deadline): a partial `web/tasks/steps/review.html`
  posting to the review API's actions (server/api/reviews.py) from a session-authenticated web
  route, refreshed by the feed's event stream;
- upload (file input with `capture="environment"`, preview, progress, thumbnail): a partial
  `web/tasks/steps/upload.html` posting to the image upload (server/api/media.py);
- the list: services/worklist.py gets their rows (a section, or merged into "mine"/"group").

A view for such a step either renders `web/tasks/task.html` with its own `step_template` (and a
`page` with TaskPage's attribute names), or, for items that are OpenTask rows, registers a
predicate here; the first that matches wins, the form step is the fallback:

    steps.register("review", lambda task: task.type == "ReviewTask", "web/tasks/steps/review.html")
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

"""Which partial draws the working area of a task page: the extension point for social steps.

The task page (templates/web/tasks/task.html) draws the header, claim/release and the details
itself, and includes one *step* partial, in `{% block step %}`, where the person works. A plain
user task is a form, drawn by `web/tasks/steps/form.html` (the fallback).

Social steps are open tasks too (type `social.collectReview` / `social.attachImage`, in the task
list of the people they ask), so they register here with a predicate on the task, their partial,
and a `context` function that adds what the partial needs (the review and its tally, the upload's
caption and permission) from the social services:

    steps.register("review", lambda task: task.type == COLLECT_REVIEW, "web/tasks/steps/review.html",
                   context=lambda session, page, principal: {...})

The first step that applies wins. server/web/review_views.py and upload_views.py register theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..access import Principal
from ..models import OpenTask

FORM_STEP = "web/tasks/steps/form.html"


@dataclass(frozen=True)
class Step:
    name: str
    applies: Callable[[OpenTask], bool]
    template: str
    context: Callable[[Session, object, Principal], dict] | None = None


_STEPS: list[Step] = []


def register(name: str, applies: Callable[[OpenTask], bool], template: str,
             context: Callable[[Session, object, Principal], dict] | None = None) -> None:
    global _STEPS
    _STEPS = [s for s in _STEPS if s.name != name] + [Step(name, applies, template, context)]


def step_for(task: OpenTask) -> Step | None:
    return next((step for step in _STEPS if step.applies(task)), None)


def template_for(task: OpenTask) -> str:
    step = step_for(task)
    return step.template if step else FORM_STEP


def context_for(session: Session, page, principal: Principal) -> dict:
    """What the task's step partial needs beyond the page (nothing for the form step)."""
    step = step_for(page.task)
    return step.context(session, page, principal) if step and step.context else {}

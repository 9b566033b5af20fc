"""The task list and the task page: claim, unclaim, fill the form, complete, go on to the next
task of the same instance. Everything goes through services.tasks / services.worklist."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for

from ..context import cafe
from ..services import catalog, tasks, worklist
from ..services.errors import Conflict, Forbidden, Invalid, NotFound
from ..social import images
from . import form_fields, social_steps, steps
from .blueprint import bp
from .form_text import keeps_odd_text, odd_text
from .guards import MAX_PAGE, signed_in, user, whole_number

PAGE_SIZE = 25
POLL_SECONDS = 5


def _query() -> worklist.WorklistQuery:
    sections = worklist.sections_for(user())
    section = request.args.get("section", "mine")
    page = whole_number(request.args.get("page"), MAX_PAGE) or 1
    return worklist.WorklistQuery(
        section=section if section in sections else "mine",
        text=(request.args.get("q") or "").strip()[:200],
        definition_key=(request.args.get("key") or "").strip()[:120],
        limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)


def _list_state(session, q: worklist.WorklistQuery) -> dict:
    counts = worklist.counts(session, user(), q)
    if q.section == "completed":
        rows = worklist.completed(session, user(), q)
    else:
        rows = worklist.open_tasks(session, user(), q)
    labels = {section: worklist.count_label(count) for section, count in counts.items()}
    return {"rows": rows, "counts": counts, "count_labels": labels, "digest": worklist.digest(rows, counts)}


@bp.get("/", endpoint="tasks")
@bp.get("/tasks", endpoint="tasks")
@signed_in
def tasks_list():
    """My tasks, my groups' queue, all (admins), recently completed; `partial=1` answers only
    the results, which the page fetches again when the poll says something changed."""
    q = _query()
    with cafe().db.read() as session:
        state = _list_state(session, q)
        processes = catalog.definition_keys(session)
    page = q.offset // PAGE_SIZE + 1
    context = dict(state, q=q, page=page, page_size=PAGE_SIZE, processes=processes,
                   sections=worklist.sections_for(user()), poll_seconds=POLL_SECONDS)
    if request.args.get("partial"):
        return render_template("web/tasks/_results.html", **context)
    return render_template("web/tasks/list.html", **context)


@bp.get("/tasks/updates.json")
@signed_in
def task_updates():
    """What the list page polls: the counts and a digest of the rows it shows."""
    q = _query()
    with cafe().db.read() as session:
        state = _list_state(session, q)
    return jsonify(counts=state["counts"], count_labels=state["count_labels"], digest=state["digest"])


def _render_task(session, task_id: str, status: int = 200, errors: dict | None = None, posted=None):
    page = worklist.task_page(session, user(), task_id)
    variables = (page.instance.variables if page.instance else {}) or {}
    fields = form_fields.fields_for(page.task.form, page.schema, page.ui_schema, variables)
    if posted is not None:
        form_fields.read_submission(fields, posted, camunda=(page.task.form or {}).get("kind") == "camunda")
    loose = form_fields.attach_errors(fields, errors or {})
    body = render_template("web/tasks/task.html", page=page, fields=fields, loose_errors=loose,
                           step_template=steps.template_for(page.task), variables=variables,
                           media=images.instance_media(session, page.task.instance_id),
                           **steps.context_for(session, page, user()))
    return body, status


def _gone(task_id: str):
    """A task that is no longer open; a review step's task id still leads to the review's outcome."""
    with cafe().db.read() as session:
        target = social_steps.finished_step_url(session, user(), task_id)
    return redirect(target) if target else (render_template("web/tasks/gone.html"), 404)


@bp.get("/tasks/<task_id>")
@signed_in
def task_page(task_id: str):
    with cafe().db.read() as session:
        try:
            return _render_task(session, task_id)
        except NotFound:
            pass
    return _gone(task_id)


@bp.post("/tasks/<task_id>")
@keeps_odd_text
@signed_in
def complete_task(task_id: str):
    """Validate and complete; on errors the form comes back with each message next to its field
    (also for a character no text column can store, which comes back shown as U+FFFD)."""
    with cafe().db.read() as session:
        try:
            page = worklist.task_page(session, user(), task_id)
        except NotFound:
            return _too_late(session, task_id)
        variables = (page.instance.variables if page.instance else {}) or {}
        fields = form_fields.fields_for(page.task.form, page.schema, page.ui_schema, variables)
        camunda = (page.task.form or {}).get("kind") == "camunda"
        values, errors = form_fields.read_submission(fields, request.form, camunda)
        errors.update({name: f"This value holds the character {odd.character} (shown as �), which cannot be stored."
                       for name, odd in odd_text().items()})
        if errors:
            return _render_task(session, task_id, 422, errors, request.form)
    try:
        with cafe().unit_of_work() as session:
            instance, _ = tasks.complete(session, cafe().store, user(), task_id, values)
            following = worklist.next_task_for(session, user(), instance.id)
    except Invalid as err:
        with cafe().db.read() as session:
            return _render_task(session, task_id, 422, err.extra.get("errors") or {"": err.detail}, request.form)
    except (Conflict, NotFound) as err:
        with cafe().db.read() as session:
            if worklist.holder(session, task_id) is not None:  # still open: refused for another reason
                flash(f"The task could not be completed: {err.detail}", "error")
                return redirect(url_for("web.tasks"))
            return _too_late(session, task_id)
    except Forbidden as err:
        flash(f"The task could not be completed: {err.detail}", "error")
        return redirect(url_for("web.tasks"))
    flash(f"Completed “{page.task.name or page.task.bpmn_id}”.", "info")
    if following is not None:
        return redirect(url_for("web.task_page", task_id=following.id))
    return redirect(url_for("web.tasks"))


def _too_late(session, task_id: str):
    """A submission for a task that closed since the page was shown: back to the list, saying
    who completed it (a review step's page shows its outcome instead)."""
    target = social_steps.finished_step_url(session, user(), task_id)
    if target:
        return redirect(target)
    flash(f"Not saved: {worklist.why_not_open(session, user(), task_id)}.", "error")
    return redirect(url_for("web.tasks"))


@bp.post("/tasks/<task_id>/claim")
@signed_in
def claim_task(task_id: str):
    try:
        with cafe().unit_of_work() as session:
            name = tasks.claim(session, user(), task_id).name
    except (Conflict, NotFound) as err:
        with cafe().db.read() as session:
            holder = worklist.holder(session, task_id)
        # someone was quicker (a task held by another is a 404 to whoever is not its candidate)
        if holder is None or (holder not in ("", user().name) and isinstance(err, Conflict)):
            flash("This task was closed meanwhile." if holder is None else "Someone else took this task first.",
                  "error")
            return redirect(url_for("web.tasks", section="group"))
        flash(f"The task could not be claimed: {err.detail}", "error")
        return redirect(url_for("web.task_page", task_id=task_id))
    except Forbidden as err:
        flash(f"The task could not be claimed: {err.detail}", "error")
        return redirect(url_for("web.task_page", task_id=task_id))
    flash(f"You took “{name or 'the task'}”.", "info")
    return redirect(url_for("web.task_page", task_id=task_id))


@bp.post("/tasks/<task_id>/unclaim")
@signed_in
def unclaim_task(task_id: str):
    try:
        with cafe().unit_of_work() as session:
            name = tasks.unclaim(session, user(), task_id).name
        flash(f"“{name or 'The task'}” is back in the group queue.", "info")
    except (Conflict, Forbidden) as err:
        flash(f"The task could not be released: {err.detail}", "error")
        return redirect(url_for("web.task_page", task_id=task_id))
    return redirect(url_for("web.tasks", section="group"))

"""The web task list at `/`: sign-in, tasks and their forms, instances with their diagram,
deployment, and (later) the feed. Server-rendered pages with a little JavaScript; the pages
use the same services as the REST API and never touch SQL themselves.

Modules, one concern each: `security` (session cookie, CSRF, sign-in rate limits, headers),
`guards` (who is signed in), `auth_views`, `task_views`, `form_fields` (task forms to HTML and
back), `steps` (which partial renders a task: extension point for review and upload steps),
`instance_views`, `deploy_views`, `filters` (template helpers), `form_text` (form fields that
hold U+0000), and the social parts: `social_steps` (review and upload steps on the task page),
`review_views`, `upload_views` (uploads and images), `feed_views` (the live feed, items),
`stream_views` (follows, process and stream pages), `social_filters`, `replies` (answers for
scripts and for plain forms).
"""

from __future__ import annotations

from flask import Flask

from . import (
    auth_views,
    deploy_views,
    errors,
    feed_views,
    filters,
    form_text,
    instance_views,
    review_views,
    security,
    social_filters,
    social_steps,
    stream_views,
    task_views,
    upload_views,
)
from .blueprint import bp

__all__ = ["register_web"]
# imported for what they attach to the blueprint: routes, error pages, template helpers, steps
_MODULES = (auth_views, task_views, instance_views, deploy_views, feed_views, errors, filters,
            review_views, upload_views, stream_views, social_filters, social_steps, form_text)


def register_web(app: Flask) -> None:
    """Mount the web pages on `app` and turn on what browser sessions need."""
    security.configure(app)
    app.register_blueprint(bp)
    security.limit_sign_in(app)
    instance_views.register_vendor_assets(app)

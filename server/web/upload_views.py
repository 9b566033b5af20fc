"""Images in the browser: sending the image an attachImage step waits for, and serving images and
thumbnails to the pages.

The upload goes through server/social/images.py's `attach`, exactly as POST /api/v1/tasks/<id>/image
does (the same checks: listed uploaders only; real JPEG/PNG/WebP/GIF, metadata stripped; SVG and
other files refused with the checker's message), but authenticated by the session and its CSRF
token. The page script sends it with XMLHttpRequest for the progress bar and shows the answer in
place; without JavaScript the form posts and comes back with a message.

Images are served here rather than by the API, whose GET /api/v1/media/<id> takes tokens only and
so cannot be an <img> source; the access rule is the same (`images.readable_media`).
"""

from __future__ import annotations

from flask import Response, abort, request, url_for

from ..context import cafe
from ..services import worklist
from ..services.errors import BadRequest, ServiceError
from ..social import images
from . import replies
from .blueprint import bp
from .guards import signed_in, user
from .social_filters import media_url


@bp.post("/tasks/<task_id>/image")
@signed_in
def upload_image(task_id: str):
    default = url_for("web.task_page", task_id=task_id)
    storage = request.files.get("file")
    try:
        if storage is None or not storage.filename:
            raise BadRequest("choose an image first")
        data = storage.read()
        settings = cafe().settings
        with cafe().unit_of_work() as session:
            attached = images.attach(session, cafe().store, cafe().media, settings.public_url, user(), task_id,
                                     data, storage.filename)
            media_id, instance_id = attached.media.id, attached.instance_id
            following = worklist.next_task_for(session, user(), instance_id) if instance_id else None
            next_url = url_for("web.task_page", task_id=following.id) if following else None
    except ServiceError as err:
        return replies.refused(err, default, prefix="The image was not accepted: ")
    instance_url = url_for("web.instance_page", instance_id=instance_id) if instance_id else url_for("web.tasks")
    answer = replies.done("The image was sent; the process goes on.", next_url or instance_url,
                          media_id=media_id, thumbnail_url=media_url(media_id, thumbnail=True),
                          image_url=media_url(media_id), instance_url=instance_url, next_url=next_url)
    if replies.from_script():
        answer.status_code = 201
    return answer


@bp.get("/media/<media_id>")
@signed_in
def media(media_id: str):
    """An image or (`?thumbnail=true`) its thumbnail, to those who sent it or may see an instance it
    is attached to."""
    thumbnail = (request.args.get("thumbnail") or "").lower() in ("true", "1", "yes")
    with cafe().db.read() as session:
        row = images.readable_media(session, user(), media_id)
        mimetype = row.thumbnail_type if thumbnail else row.content_type
        stored_id = row.id
    content = cafe().media.get(stored_id, "thumbnail" if thumbnail else "original")
    if content is None:
        abort(404, "the file of this image is missing")
    response = Response(content, mimetype=mimetype)
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"  # content-addressed
    return response

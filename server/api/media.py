from __future__ import annotations

from flask import Response, request
from flask.views import MethodView

from ..auth import current_principal
from ..context import cafe
from ..services.errors import BadRequest, NotFound
from ..social import images
from .blueprint import Blueprint
from .social_schemas import MediaQuery, MediaSchema

blp = Blueprint("media", __name__, url_prefix="/api/v1", description="Images: checked, stripped, content-addressed.")

UPLOAD_DOC = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]}}}}}


def _uploaded() -> tuple[bytes, str]:
    storage = request.files.get("file") or next(iter(request.files.values()), None)
    if storage is None:
        raise BadRequest("send the image as a multipart/form-data part named 'file'")
    return storage.read(), storage.filename or "image"


@blp.route("/media")
class Upload(MethodView):
    @blp.doc(**UPLOAD_DOC)
    @blp.response(201, MediaSchema)
    def post(self):
        """Upload an image for later use (e.g. as `media` of a status post)."""
        principal = current_principal()
        data, filename = _uploaded()
        with cafe().unit_of_work() as session:
            row = images.store_image(session, cafe().media, data, filename, principal.name)
            return images.image_variable(row, cafe().settings.public_url)


@blp.route("/media/<media_id>")
class OneMedia(MethodView):
    @blp.arguments(MediaQuery, location="query")
    @blp.response(200, {"type": "string", "format": "binary"}, content_type="image/*")
    def get(self, query, media_id):
        """The image (or its thumbnail), to those who sent it or may see an instance it is attached to."""
        principal = current_principal()
        with cafe().db.read() as session:
            row = images.readable_media(session, principal, media_id)
        variant = "thumbnail" if query["thumbnail"] else "original"
        content = cafe().media.get(row.id, variant)
        if content is None:
            raise NotFound(f"the file of media {media_id!r} is missing")
        response = Response(content, mimetype=row.thumbnail_type if query["thumbnail"] else row.content_type)
        response.headers["Cache-Control"] = "private, max-age=86400, immutable"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


@blp.route("/tasks/<task_id>/image")
class AttachImage(MethodView):
    @blp.doc(**UPLOAD_DOC)
    @blp.response(201, MediaSchema)
    def post(self, task_id):
        """Send the image a social.attachImage step waits for (listed uploaders only); 409 when the
        step has its image already or is over, 404 for a task id that never was an image step."""
        principal = current_principal()
        data, filename = _uploaded()
        with cafe().unit_of_work() as session:
            attached = images.attach(session, cafe().store, cafe().media, cafe().settings.public_url, principal,
                                     task_id, data, filename)
            return images.image_variable(attached.media, cafe().settings.public_url)

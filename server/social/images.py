"""Images: checking and storing uploads, serving them, and the social.attachImage step.

An upload is checked by `connectors.media` (real image, size and pixel limits, orientation
applied, GPS and other metadata stripped), stored content-addressed, and recorded as a Media row.
An attachImage step waits until a listed uploader sends one; then the image is shared to the
step's `share_to` channels and the feed, and the step moves on with the `image` variable.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpmn.social import ATTACH_IMAGE, as_list, people_asked
from connectors.media import ImageRejected, check_image

from .. import access
from ..access import Principal
from ..models import Media, ProcessInstance, ServiceCall
from ..services import service_calls
from ..services.errors import Conflict, Forbidden, Invalid, NotFound
from ..services.store import InstanceStore
from . import feed
from .media_store import MediaStore
from .outbox import queue_post


def store_image(session: Session, media: MediaStore, data: bytes, filename: str, user: str | None,
                instance_id: str | None = None) -> Media:
    try:
        checked = check_image(data, filename or "image")
    except ImageRejected as err:
        raise Invalid(f"the file was refused: {err}") from None
    media.put(checked.sha256, checked.content)
    media.put(checked.sha256, checked.thumbnail, "thumbnail")
    row = session.get(Media, checked.sha256)
    if row is None:
        row = Media(id=checked.sha256, content_type=checked.content_type, width=checked.width,
                    height=checked.height, size=len(checked.content), filename=checked.filename,
                    thumbnail_type=checked.thumbnail_type, instance_id=instance_id, uploaded_by=user)
        session.add(row)
        session.flush()
    return row


def get_media(session: Session, media_id: str) -> Media:
    row = session.get(Media, media_id)
    if row is None:
        raise NotFound(f"no media {media_id!r}")
    return row


def readable_media(session: Session, principal: Principal, media_id: str) -> Media:
    """The image if the caller may see it (the rule of GET /api/v1/media/<id>); 404 otherwise, so
    nobody learns which images exist."""
    row = session.get(Media, media_id)
    if row is None or not access.media_readable(session, principal, row):
        raise NotFound(f"no media {media_id!r}")
    return row


def instance_media(session: Session, instance_id: str, limit: int = 100) -> list[Media]:
    """The images uploaded to an instance, oldest first (for its page's Media section)."""
    return list(session.scalars(select(Media).where(Media.instance_id == instance_id)
                                .order_by(Media.created_at, Media.id).limit(limit)))


def image_variable(row: Media, public_url: str) -> dict:
    return {"media_id": row.id, "url": f"{public_url}/api/v1/media/{row.id}", "content_type": row.content_type,
            "width": row.width, "height": row.height, "size": row.size}


def pending_call(session: Session, task_id: str) -> ServiceCall:
    call = session.scalars(select(ServiceCall).where(ServiceCall.task_id == task_id,
                                                     ServiceCall.operator == ATTACH_IMAGE,
                                                     ServiceCall.status == "pending")).first()
    if call is None:
        raise NotFound(f"no image step waiting with task id {task_id!r}")
    return call


def may_upload(call: ServiceCall, principal: Principal) -> bool:
    return access.may_upload_image(principal, people_asked(ATTACH_IMAGE, call.params))


def attach(session: Session, store: InstanceStore, media: MediaStore, public_url: str, principal: Principal,
           task_id: str, data: bytes, filename: str) -> Media:
    """A listed uploader sends the image the step waits for."""
    call = pending_call(session, task_id)
    if not access.is_visible(session, principal, call.instance_id):
        raise NotFound(f"no image step waiting with task id {task_id!r}")
    if not may_upload(call, principal):
        raise Forbidden(f"{principal.name} is not asked to upload an image in this step")
    if call.status != "pending":
        raise Conflict("the step has its image already")
    row = store_image(session, media, data, filename, principal.name, call.instance_id)
    instance = session.get(ProcessInstance, call.instance_id)
    caption = str(call.params.get("caption") or "")
    feed.post_to_instance_streams(session, instance, "image", caption or "An image was attached",
                                  actor=principal.name, media_ids=[row.id])
    for channel in as_list(call.params.get("share_to")):
        if channel != "feed":
            queue_post(session, call, channel, caption, [row.id], purpose="share")
    service_calls.finish(session, store, call, image_variable(row, public_url), user=principal.name)
    return row

"""Images: checking and storing uploads, serving them, and the social.attachImage step.

An upload is checked by `connectors.media` (real image, size and pixel limits, orientation
applied, GPS and other metadata stripped), stored content-addressed, and recorded as a Media row.
An attachImage step waits until a listed uploader sends one; then the image is shared to the
step's `share_to` channels and the feed, and the step moves on with the `image` variable.

Content addressing makes the same bytes one row however often and wherever they are sent, so
every sending adds links instead: its sender (`MediaUploader`) and, for an attachment, its
instance (`MediaInstance`). Reading follows the links (`access.media_readable`) and an instance's
Media section lists its own; the first sender or instance decides nothing for the others.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpmn.social import ATTACH_IMAGE, channel_list, people_asked
from connectors.media import CheckedImage, ImageRejected, check_image

from .. import access
from ..access import Principal
from ..db import dialect_insert
from ..models import Media, MediaInstance, MediaUploader, ProcessInstance, ServiceCall
from ..services import service_calls
from ..services.errors import Conflict, Forbidden, Invalid, NotFound
from ..services.store import InstanceStore
from . import feed
from .media_store import MediaStore
from .outbox import queue_post


def store_image(session: Session, media: MediaStore, data: bytes, filename: str, user: str | None,
                instance_id: str | None = None) -> Media:
    return store_checked(session, media, checked_image(media, data, filename), user, instance_id)


def checked_image(media: MediaStore, data: bytes, filename: str) -> CheckedImage:
    """`data` checked and cleaned for `media` (its pixel limit); Invalid naming why it is refused.
    Apart from `store_checked` so that the decoding can run before a write transaction starts."""
    try:
        return check_image(data, filename or "image", max_pixels=media.max_pixels)
    except ImageRejected as err:
        raise Invalid(f"the file was refused: {err}") from None


def store_checked(session: Session, media: MediaStore, checked: CheckedImage, user: str | None,
                  instance_id: str | None = None) -> Media:
    media.put(checked.sha256, checked.content)
    media.put(checked.sha256, checked.thumbnail, "thumbnail")
    row = session.get(Media, checked.sha256)
    if row is None:  # the same bytes sent twice at once: the second INSERT does nothing, and both find the row
        session.execute(_insert_new(session, Media).values(
            id=checked.sha256, content_type=checked.content_type, width=checked.width, height=checked.height,
            size=len(checked.content), filename=checked.filename, thumbnail_type=checked.thumbnail_type))
        row = session.get(Media, checked.sha256)
    link(session, row.id, user=user, instance_id=instance_id)
    return row


def _insert_new(session: Session, model):
    """INSERT ... ON CONFLICT DO NOTHING: sending the same bytes again to the same place, even at
    the same moment, adds nothing and fails nothing."""
    return dialect_insert(session, model).on_conflict_do_nothing()


def link(session: Session, media_id: str, user: str | None = None, instance_id: str | None = None) -> None:
    """`user` sent the image `media_id` (they may read it from now on) and, with `instance_id`,
    attached it to that instance (its people may read it, its page lists it)."""
    if user:
        session.execute(_insert_new(session, MediaUploader).values(media_id=media_id, username=user))
    if instance_id:
        session.execute(_insert_new(session, MediaInstance).values(instance_id=instance_id, media_id=media_id,
                                                                   attached_by=user))


def readable_media(session: Session, principal: Principal, media_id: str) -> Media:
    """The image if the caller may see it (the rule of GET /api/v1/media/<id>); 404 otherwise, so
    nobody learns which images exist."""
    row = session.get(Media, media_id)
    if row is None or not access.media_readable(session, principal, row):
        raise NotFound(f"no media {media_id!r}")
    return row


def instance_media(session: Session, instance_id: str, limit: int = 100) -> list[Media]:
    """The images attached to an instance, oldest attachment first (for its page's Media section),
    also those that were sent elsewhere before."""
    return list(session.scalars(select(Media).join(MediaInstance, MediaInstance.media_id == Media.id)
                                .where(MediaInstance.instance_id == instance_id)
                                .order_by(MediaInstance.created_at, Media.id).limit(limit)))


def image_variable(row: Media, public_url: str) -> dict:
    return {"media_id": row.id, "url": f"{public_url}/api/v1/media/{row.id}", "content_type": row.content_type,
            "width": row.width, "height": row.height, "size": row.size}


def _image_calls(task_id: str):
    return select(ServiceCall).where(ServiceCall.task_id == task_id, ServiceCall.operator == ATTACH_IMAGE)


def pending_call(session: Session, task_id: str) -> ServiceCall:
    call = session.scalars(_image_calls(task_id).where(ServiceCall.status == "pending")).first()
    if call is None:
        raise NotFound(f"no image step waiting with task id {task_id!r}")
    return call


def image_call(session: Session, task_id: str) -> ServiceCall:
    """The image step of `task_id`: the one waiting, else its latest call in any status, so that a
    step that has its image (or ended otherwise) answers 409 and only an id that never was an
    image step 404 (both found through `ix_service_calls_task`)."""
    try:
        return pending_call(session, task_id)
    except NotFound:
        call = session.scalars(_image_calls(task_id).order_by(ServiceCall.created_at.desc())).first()
        if call is None:
            raise
        return call


def may_upload(call: ServiceCall, principal: Principal) -> bool:
    return access.may_upload_image(principal, people_asked(ATTACH_IMAGE, call.params))


class Attached(NamedTuple):
    """An image sent to a step, and the step's instance (the image's row names no instance: the same
    bytes may be attached elsewhere too)."""

    media: Media
    instance_id: str


def attach(session: Session, store: InstanceStore, media: MediaStore, public_url: str, principal: Principal,
           task_id: str, data: bytes, filename: str) -> Attached:
    """A listed uploader sends the image the step waits for."""
    call = image_call(session, task_id)
    if not access.is_visible(session, principal, call.instance_id):
        raise NotFound(f"no image step waiting with task id {task_id!r}")
    if not may_upload(call, principal):
        raise Forbidden(f"{principal.name} is not asked to upload an image in this step")
    if call.status == "done":
        raise Conflict("the step has its image already")
    if call.status != "pending":
        raise Conflict(f"the step is over ({call.status}) and takes no image")
    row = store_image(session, media, data, filename, principal.name, call.instance_id)
    instance = session.get(ProcessInstance, call.instance_id)
    caption = str(call.params.get("caption") or "")
    feed.post_to_instance_streams(session, instance, "image", caption or "An image was attached",
                                  actor=principal.name, media_ids=[row.id])
    for channel in channel_list(call.params.get("share_to")):  # each once: one post key per channel
        if channel != "feed":
            queue_post(session, call, channel, caption, [row.id], purpose="share")
    service_calls.finish(session, store, call, image_variable(row, public_url), user=principal.name)
    return Attached(row, call.instance_id)

from __future__ import annotations

from flask.views import MethodView

from .. import access
from ..auth import current_principal
from ..context import cafe
from ..social import channels, inbound
from .blueprint import Blueprint
from .social_schemas import ChannelList, ChannelPatch, ChannelSchema, NewChannel, NewWatch, WatchSchema

blp = Blueprint("channels", __name__, url_prefix="/api/v1/channels",
                description="Named accounts on social networks. Credentials are write-only.")


def _admin() -> None:
    access.require_admin(current_principal(), "configure channels")


@blp.route("")
class Channels(MethodView):
    @blp.response(200, ChannelList)
    def get(self):
        """Every channel, the built-in feed first; credentials are never shown."""
        current_principal()
        with cafe().db.read() as session:
            return {"items": channels.list_channels(session)}

    @blp.arguments(NewChannel)
    @blp.response(201, ChannelSchema)
    def post(self, body):
        """Configure a channel (admins); its settings are checked by building its connector."""
        _admin()
        with cafe().unit_of_work() as session:
            row = channels.create(session, cafe().vault, body["name"], body["kind"], body["settings"],
                                  body.get("credentials"), body["allow_private"])
            return channels.view(row)


@blp.route("/<name>")
class OneChannel(MethodView):
    @blp.response(200, ChannelSchema)
    def get(self, name):
        current_principal()
        with cafe().db.read() as session:
            return channels.FEED_VIEW if name == channels.FEED else channels.view(channels.get(session, name))

    @blp.arguments(ChannelPatch)
    @blp.response(200, ChannelSchema)
    def patch(self, body, name):
        """Change settings, replace credentials, enable or disable (admins)."""
        _admin()
        with cafe().unit_of_work() as session:
            return channels.view(channels.update(session, cafe().vault, name, **body))

    @blp.response(204)
    def delete(self, name):
        _admin()
        with cafe().unit_of_work() as session:
            channels.delete(session, name)


@blp.route("/<name>/watches")
class Watches(MethodView):
    @blp.arguments(NewWatch)
    @blp.response(201, WatchSchema)
    def post(self, body, name):
        """Start an instance (through message `message`) for each new mention or hashtag post (admins)."""
        _admin()
        with cafe().unit_of_work() as session:
            return inbound.watch(session, name, body["message"], body.get("hashtag"))

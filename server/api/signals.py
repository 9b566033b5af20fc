from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from ..auth import current_principal
from ..context import cafe
from ..services import signals
from .blueprint import Blueprint
from .fields import Variables
from .schemas import MessageResults, Strict

blp = Blueprint("signals", __name__, url_prefix="/api/v1/signals",
                description="Broadcast a signal to every waiting instance and to signal start events.")


class SignalBody(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    variables = Variables()
    instance_id = fields.String(allow_none=True, validate=validate.Length(max=255))


@blp.route("")
class Signals(MethodView):
    @blp.arguments(SignalBody)
    @blp.response(200, MessageResults)
    def post(self, body):
        """Broadcast a signal: every instance waiting for it continues (with `variables` set), every
        process with a start event for it starts. Reaching nobody is not an error (an empty list);
        `instance_id` limits the signal to one instance and starts nothing. A user's signal
        reaches only instances they may see; an admin's, every instance."""
        principal = current_principal()
        signal = signals.Signal(name=body["name"], variables=body["variables"], instance_id=body.get("instance_id"))
        with cafe().unit_of_work() as session:
            deliveries = signals.broadcast(session, cafe().store, signal, principal.name, visible_to=principal)
            return {"items": [{"instance_id": d.instance.id, "started": d.started, "status": d.instance.status}
                              for d in deliveries]}

from __future__ import annotations

from flask.views import MethodView

from ..auth import current_principal
from ..context import cafe
from ..services import messages
from .blueprint import Blueprint
from .schemas import MessageBody, MessageResults

blp = Blueprint("messages", __name__, url_prefix="/api/v1/messages",
                description="Correlate a message to a waiting instance or start one at a message start event.")


@blp.route("")
class Messages(MethodView):
    @blp.arguments(MessageBody)
    @blp.response(200, MessageResults)
    def post(self, body):
        """Deliver a message by name plus business key, instance id or correlation keys.

        404 when nothing waits for it and no process starts with it; 409 when it matches several
        instances and `all` is not set. A user's message reaches only instances they may see
        (those they took part in: started, held or were asked to do a task in, or worked on) and
        message start events; admins' messages reach every instance.
        """
        principal = current_principal()
        correlation = messages.Correlation(
            name=body["name"], business_key=body.get("business_key"), instance_id=body.get("instance_id"),
            correlation_keys=body["correlation_keys"], variables=body["variables"], all=body["all"])
        deliveries = messages.deliver(cafe().optimistic, cafe().store, correlation, principal)
        return {"items": [{"instance_id": d.instance.id, "started": d.started, "status": d.instance.status}
                          for d in deliveries]}

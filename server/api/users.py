from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from .. import access
from ..auth import current_principal
from ..context import cafe
from ..models import User
from ..services import identity
from .blueprint import Blueprint
from .schemas import NewToken, NewUser, TokenSchema, UserList, UserSchema

blp = Blueprint("users", __name__, url_prefix="/api/v1", description="Users, groups and API tokens.")


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, UserSchema)
    def get(self):
        """The signed-in user."""
        principal = current_principal()
        with cafe().db.read() as session:
            return identity.get_user(session, principal.name)


@blp.route("/users")
class Users(MethodView):
    @blp.response(200, UserList)
    def get(self):
        access.require_admin(current_principal(), "list users")
        with cafe().db.read() as session:
            return {"items": session.scalars(select(User).order_by(User.username)).all()}

    @blp.arguments(NewUser)
    @blp.response(201, UserSchema)
    def post(self, body):
        """Create a user (admins)."""
        access.require_admin(current_principal(), "create users")
        with cafe().unit_of_work() as session:
            return identity.create_user(session, body["username"], body.get("password"),
                                        is_admin=body["is_admin"], groups=body["groups"],
                                        display_name=body.get("display_name"), email=body.get("email"))


@blp.route("/tokens")
class Tokens(MethodView):
    @blp.arguments(NewToken)
    @blp.response(201, TokenSchema)
    def post(self, body):
        """Create an API token for yourself (or, as admin, for a named user). Shown once."""
        principal = current_principal()
        username = body.get("username") or principal.name
        access.check_token_for(principal, username)
        with cafe().unit_of_work() as session:
            user = identity.get_user(session, username)
            token = identity.create_token(session, user, body["name"])
            return {"token": token, "name": body["name"], "username": username}

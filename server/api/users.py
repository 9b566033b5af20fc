"""Users, groups and API tokens. A change that locks someone out or changes what they may do
(deactivation, a new password, a revoked token, a group) also makes this server process forget
the logins it remembers for that user, so it holds from the next request on; other processes
forget theirs within the half minute or minute they keep them (server/auth.py)."""

from __future__ import annotations

from flask.views import MethodView

from .. import access
from ..auth import check_current_password, current_principal, forget_logins_of
from ..context import cafe
from ..services import identity
from ..services.errors import Forbidden, Invalid
from .blueprint import Blueprint
from .schemas import NoFields
from .user_schemas import GroupList, NewPassword, NewToken, NewUser, TokenList, TokenSchema, UserList, UserSchema

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
        """Every user, deactivated ones included (admins)."""
        access.require_admin(current_principal(), "list users")
        with cafe().db.read() as session:
            return {"items": identity.list_users(session)}

    @blp.arguments(NewUser)
    @blp.response(201, UserSchema)
    def post(self, body):
        """Create a user (admins)."""
        access.require_admin(current_principal(), "create users")
        with cafe().unit_of_work() as session:
            return identity.create_user(session, body["username"], body.get("password"),
                                        is_admin=body["is_admin"], groups=body["groups"],
                                        display_name=body.get("display_name"), email=body.get("email"))


@blp.route("/users/<username>")
class OneUser(MethodView):
    @blp.response(200, UserSchema)
    def get(self, username):
        """A user (admins, or the user themselves)."""
        access.require_self_or_admin(current_principal(), username, "read the accounts")
        with cafe().db.read() as session:
            return identity.get_user(session, username)


def _set_active(username: str, active: bool) -> object:
    principal = current_principal()
    access.require_admin(principal, "activate or deactivate users")
    with cafe().unit_of_work() as session:
        user = identity.set_active(session, username, active, by=principal.name)
    forget_logins_of(username)
    return user


@blp.route("/users/<username>/deactivate")
class Deactivate(MethodView):
    @blp.arguments(NoFields, required=False)
    @blp.response(200, UserSchema)
    def post(self, _body, username):
        """Lock a user out (admins): their password and tokens stop working, nothing is deleted.
        409 for yourself or the last active admin."""
        return _set_active(username, False)


@blp.route("/users/<username>/activate")
class Activate(MethodView):
    @blp.arguments(NoFields, required=False)
    @blp.response(200, UserSchema)
    def post(self, _body, username):
        """Let a deactivated user sign in again (admins); their tokens work again too."""
        return _set_active(username, True)


@blp.route("/users/<username>/password")
class Password(MethodView):
    @blp.arguments(NewPassword)
    @blp.response(204)
    def put(self, body, username):
        """Set a password: your own with `current_password`, anyone's as an admin. The user's
        browser sessions end; their API tokens stay (revoke them apart). A wrong
        `current_password` is 403 and counts against the sign-in limits (429 past them)."""
        principal = current_principal()
        access.require_self_or_admin(principal, username, "change the passwords")
        identity.check_new_password(body["password"], username)
        with cafe().db.read() as session:
            identity.get_user(session, username)
        current = body.get("current_password")
        if current is None and username == principal.name:
            raise Invalid("current_password is required to change your own password")
        if current is not None and not check_current_password(username, current):
            raise Forbidden(f"current_password is not the password of {username!r}")
        with cafe().unit_of_work() as session:
            identity.set_password(session, username, body["password"])
        forget_logins_of(username)


@blp.route("/users/<username>/tokens")
class UserTokens(MethodView):
    @blp.response(200, TokenList)
    def get(self, username):
        """A user's API tokens, newest first (admins, or the user): ids, names and expiry, never
        the tokens themselves."""
        access.require_self_or_admin(current_principal(), username, "list the tokens")
        with cafe().db.read() as session:
            return {"items": identity.tokens_of(session, username)}


@blp.route("/users/<username>/tokens/<token_id>")
class OneToken(MethodView):
    @blp.response(204)
    def delete(self, username, token_id):
        """Revoke a token (admins, or its user): it stops working at once."""
        access.require_self_or_admin(current_principal(), username, "revoke the tokens")
        with cafe().unit_of_work() as session:
            identity.revoke_token(session, token_id, owner=username)
        forget_logins_of(username)


@blp.route("/tokens")
class Tokens(MethodView):
    @blp.arguments(NewToken)
    @blp.response(201, TokenSchema)
    def post(self, body):
        """Create an API token for yourself (or, as admin, for a named user). Shown once."""
        principal = current_principal()
        username = body.get("username") or principal.name
        access.check_token_for(principal, username)
        settings = cafe().settings
        days = body.get("expires_in_days", settings.token_days or None)  # a given null: never
        expires_at = identity.token_expiry(days, settings.token_max_days)
        with cafe().unit_of_work() as session:
            user = identity.get_user(session, username)
            row, token = identity.issue_token(session, user, body["name"], expires_at)
            return {"token": token, "username": username, "id": row.id, "name": row.name,
                    "created_at": row.created_at, "expires_at": row.expires_at}


@blp.route("/groups")
class Groups(MethodView):
    @blp.response(200, GroupList)
    def get(self):
        """Every group with its members (admins)."""
        access.require_admin(current_principal(), "list groups")
        with cafe().db.read() as session:
            return {"items": identity.list_groups(session)}


@blp.route("/groups/<group>/members/<username>")
class GroupMember(MethodView):
    @blp.arguments(NoFields, required=False)
    @blp.response(200, UserSchema)
    def put(self, _body, group, username):
        """Add a user to a group, made when it does not exist yet (admins)."""
        access.require_admin(current_principal(), "change group members")
        with cafe().unit_of_work() as session:
            user = identity.add_to_group(session, username, group)
        forget_logins_of(username)
        return user

    @blp.response(204)
    def delete(self, group, username):
        """Take a user out of a group (admins); one who is not in it stays as they are."""
        access.require_admin(current_principal(), "change group members")
        with cafe().unit_of_work() as session:
            identity.remove_from_group(session, username, group)
        forget_logins_of(username)

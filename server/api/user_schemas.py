"""Request and response shapes of users, groups and API tokens. A token's secret appears in one
answer only, the one that creates it; listings show what identifies a token, never the token."""

from __future__ import annotations

from marshmallow import fields, utils, validate

from ..config import MAX_TOKEN_DAYS
from ..models.base import utcnow
from ..services.identity import MAX_PASSWORD
from .schemas import Lenient, Strict

NAME = validate.Length(1, 120)


class UserSchema(Lenient):
    username = fields.String()
    display_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    is_admin = fields.Boolean()
    active = fields.Boolean(metadata={"description": "false: deactivated, neither password nor tokens work"})
    groups = fields.List(fields.String(), attribute="group_names")
    created_at = fields.DateTime()


class NewUser(Strict):
    username = fields.String(required=True, validate=NAME)
    password = fields.String(load_default=None, allow_none=True, load_only=True,
                             validate=validate.Length(1, MAX_PASSWORD))
    display_name = fields.String(allow_none=True, validate=validate.Length(max=200))
    email = fields.Email(allow_none=True, validate=validate.Length(max=320))
    is_admin = fields.Boolean(load_default=False)
    groups = fields.List(fields.String(validate=NAME), load_default=list, validate=validate.Length(max=100))


class UserList(Lenient):
    items = fields.List(fields.Nested(UserSchema))


class NewPassword(Strict):
    password = fields.String(required=True, validate=validate.Length(max=MAX_PASSWORD), metadata={
        "description": "the new password: at least 8 characters, not the user name"})
    current_password = fields.String(validate=validate.Length(max=MAX_PASSWORD), metadata={
        "description": "required to change your own password; an admin changing another's may leave it out"})


class GroupSchema(Lenient):
    name = fields.String()
    members = fields.Method("member_names", metadata={"type": "array", "items": {"type": "string"}})

    @staticmethod
    def member_names(group) -> list[str]:
        return sorted(user.username for user in group.members)


class GroupList(Lenient):
    items = fields.List(fields.Nested(GroupSchema))


class NewToken(Strict):
    name = fields.String(load_default="api", validate=NAME)
    username = fields.String(load_default=None, allow_none=True, validate=NAME)
    expires_in_days = fields.Integer(allow_none=True, validate=validate.Range(1, MAX_TOKEN_DAYS), metadata={
        "description": "days until the token stops working; left out: the server's default "
                       "(PROCESSCAFE_TOKEN_DAYS); null: never, unless the server sets a maximum"})


class TokenInfo(Lenient):
    """What identifies a token, without the token."""

    id = fields.Integer()
    name = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True, metadata={"description": "null: never expires"})
    expired = fields.Method("is_expired", metadata={"type": "boolean"})

    @staticmethod
    def is_expired(token) -> bool:
        expires_at = utils.get_value(token, "expires_at")
        return expires_at is not None and expires_at <= utcnow()


class TokenList(Lenient):
    items = fields.List(fields.Nested(TokenInfo))


class TokenSchema(TokenInfo):
    """A new token: shown in this answer only (the server keeps its hash)."""

    token = fields.String()
    username = fields.String()

"""Users, groups and API tokens. Passwords are hashed with Argon2; tokens are stored as SHA-256."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Principal
from ..models import ApiToken, Group, User, group_members
from .errors import BadRequest, Conflict, NotFound

_hasher = PasswordHasher()
TOKEN_PREFIX = "pc_"
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,120}$")
# A hash to verify against when the user does not exist, so timing does not reveal user names.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def use_hasher(hasher: PasswordHasher) -> None:
    """Swap the Argon2 parameters (tests use cheap ones; production keeps the library defaults)."""
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = hasher.hash("not-a-real-password")


def principal_of(user: User) -> Principal:
    return Principal(name=user.username, groups=tuple(user.group_names), is_admin=user.is_admin)


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise BadRequest("a password needs at least 8 characters")
    return _hasher.hash(password)


def find_user(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def get_user(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def create_user(session: Session, username: str, password: str | None = None, *, is_admin: bool = False,
                groups: list[str] = (), display_name: str | None = None, email: str | None = None) -> User:
    if not USERNAME.match(username or ""):
        raise BadRequest("a user name has 1-120 letters, digits or _ . @ -")
    if find_user(session, username) is not None:
        raise Conflict(f"user {username!r} exists already")
    user = User(username=username, is_admin=is_admin, display_name=display_name, email=email,
                password_hash=hash_password(password) if password else None)
    user.groups = [ensure_group(session, g) for g in groups]
    session.add(user)
    session.flush()
    return user


def ensure_group(session: Session, name: str) -> Group:
    if not USERNAME.match(name or ""):
        raise BadRequest("a group name has 1-120 letters, digits or _ . @ -")
    group = session.scalars(select(Group).where(Group.name == name)).first()
    if group is None:
        group = Group(name=name)
        session.add(group)
        session.flush()
    return group


def set_groups(session: Session, user: User, groups: list[str]) -> None:
    user.groups = [ensure_group(session, g) for g in groups]


def check_password(session: Session, username: str, password: str) -> User | None:
    user = find_user(session, username)
    try:
        if user is None or not user.active or not user.password_hash:
            _hasher.verify(_DUMMY_HASH, password or "")
            return None
        _hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User, name: str = "api", expires_at: datetime | None = None) -> str:
    """Make a token and return it; only its hash is kept, so it cannot be shown again."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name, token_hash=_token_hash(token), expires_at=expires_at))
    session.flush()
    return token


def principal_for_token(session: Session, token: str) -> Principal | None:
    """The caller behind a token, in one query (this runs on every API request)."""
    now = datetime.now(timezone.utc)
    rows = session.execute(
        select(User.username, User.is_admin, Group.name)
        .join(ApiToken, ApiToken.user_id == User.id)
        .outerjoin(group_members, group_members.c.user_id == User.id)
        .outerjoin(Group, Group.id == group_members.c.group_id)
        .where(ApiToken.token_hash == _token_hash(token), User.active.is_(True),
               (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now))
    ).all()
    if not rows:
        return None
    groups = tuple(sorted({r[2] for r in rows if r[2]}))
    return Principal(name=rows[0][0], groups=groups, is_admin=bool(rows[0][1]))


def user_for_token(session: Session, token: str) -> User | None:
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == _token_hash(token))).first()
    if row is None:
        return None
    now = datetime.now(timezone.utc)
    if row.expires_at is not None and row.expires_at < now:
        return None
    if not row.user.active:
        return None
    return row.user


def ensure_admin(session: Session, password: str | None) -> tuple[User, str | None]:
    """Create the first administrator if there is none; returns a generated password once."""
    existing = session.scalars(select(User).where(User.is_admin.is_(True))).first()
    if existing is not None:
        return existing, None
    generated = None
    if not password:
        generated = password = secrets.token_urlsafe(12)
    return create_user(session, "admin", password, is_admin=True, groups=["admins"]), generated

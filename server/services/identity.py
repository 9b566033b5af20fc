"""Users, groups and API tokens. Passwords are hashed with Argon2; tokens are stored as SHA-256."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..access import Principal
from ..config import MAX_TOKEN_DAYS
from ..models import ApiToken, Group, User, group_members
from .errors import BadRequest, Conflict, Invalid, NotFound

_hasher = PasswordHasher()
TOKEN_PREFIX = "pc_"
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,120}$")
MIN_PASSWORD, MAX_PASSWORD = 8, 1024
TOKEN_ID = re.compile(r"[0-9]{1,10}")
MAX_TOKEN_ID = 2**31 - 1  # api_tokens.id is a 32-bit integer: a larger number names no token
# A hash to verify against when the user does not exist, so timing does not reveal user names.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def use_hasher(hasher: PasswordHasher) -> None:
    """Swap the Argon2 parameters (tests use cheap ones; production keeps the library defaults)."""
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = hasher.hash("not-a-real-password")


def principal_of(user: User) -> Principal:
    return Principal(name=user.username, groups=tuple(user.group_names), is_admin=user.is_admin)


def check_new_password(password: str, username: str = "") -> None:
    """The rules every new password follows (422 naming the one it breaks): long enough to resist
    guessing, short enough to hash, not the user name."""
    if len(password or "") < MIN_PASSWORD:
        raise Invalid(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise Invalid(f"a password has at most {MAX_PASSWORD} characters")
    if username and password.casefold() == username.casefold():
        raise Invalid("a password must not be the user name")


def hash_password(password: str, username: str = "") -> str:
    """The Argon2 hash of a new password that follows the rules."""
    check_new_password(password, username)
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
                password_hash=hash_password(password, username) if password else None)
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


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def set_active(session: Session, username: str, active: bool, *, by: str | None = None) -> User:
    """Let a user sign in again, or lock them out: a deactivated user's password and tokens stop
    working (nothing is deleted, so activating them again gives both back). `by` is the admin
    asking, who may not lock themselves out; nobody may lock out the last active admin, or the
    server would have no one left to manage it."""
    user = get_user(session, username)
    if active or not user.active:
        user.active = active
        return user
    if username == by:
        raise Conflict("an administrator cannot deactivate themselves")
    if user.is_admin:
        # locks the active admins' rows on PostgreSQL: of two admins deactivating each other at
        # once, the second sees the first's change (SQLite writes one transaction at a time)
        others = session.scalars(select(User.id).where(User.is_admin.is_(True), User.active.is_(True),
                                                       User.id != user.id).with_for_update()).all()
        if not others:
            raise Conflict(f"{username!r} is the last active administrator; activate or create another first")
    user.active = False
    return user


def set_password(session: Session, username: str, password: str) -> User:
    """Replace a user's password. Their browser sessions end with it (server/auth.py compares a
    fingerprint of the stored hash); their API tokens go on working until revoked."""
    user = get_user(session, username)
    user.password_hash = hash_password(password, username)
    return user


def list_groups(session: Session) -> list[Group]:
    return list(session.scalars(select(Group).options(selectinload(Group.members)).order_by(Group.name)))


def add_to_group(session: Session, username: str, group: str) -> User:
    """Make `username` a member of `group` (created when it does not exist yet, as on user creation)."""
    user = get_user(session, username)
    found = ensure_group(session, group)
    if found not in user.groups:
        user.groups.append(found)
    return user


def remove_from_group(session: Session, username: str, group: str) -> User:
    """Take `username` out of `group`; a user who is not a member stays as they are."""
    user = get_user(session, username)
    found = session.scalars(select(Group).where(Group.name == group)).first()
    if found is None:
        raise NotFound(f"no group {group!r}")
    if found in user.groups:
        user.groups.remove(found)
    return user


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


def token_expiry(days: int | None, max_days: int = 0) -> datetime | None:
    """When a token asked for `days` (None: never) expires, within the server's maximum (0: none)."""
    if days is not None and not 1 <= days <= MAX_TOKEN_DAYS:
        raise Invalid(f"expires_in_days is 1 to {MAX_TOKEN_DAYS} days")
    if max_days and (days is None or days > max_days):
        raise Invalid(f"tokens on this server expire within {max_days} days at most "
                      f"(PROCESSCAFE_TOKEN_MAX_DAYS): ask for expires_in_days up to {max_days}")
    return None if days is None else datetime.now(timezone.utc) + timedelta(days=days)


def create_token(session: Session, user: User, name: str = "api", expires_at: datetime | None = None) -> str:
    """Make a token and return it; only its hash is kept, so it cannot be shown again."""
    return issue_token(session, user, name, expires_at)[1]


def issue_token(session: Session, user: User, name: str = "api",
                expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Make a token: its row (id, expiry) and the token itself, which is never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=_token_hash(token), expires_at=expires_at)
    session.add(row)
    session.flush()
    return row, token


def tokens_of(session: Session, username: str) -> list[ApiToken]:
    """A user's tokens, newest first, expired ones included (until revoked)."""
    user = get_user(session, username)
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.id.desc())))


def revoke_token(session: Session, token_id: str | int, owner: str | None = None) -> ApiToken:
    """Delete a token, so it stops working; `owner` limits this to that user's tokens (another's
    is answered as not found). Returns the deleted row (its user tells whose logins to forget)."""
    if owner is not None:
        get_user(session, owner)  # an unknown user is named as such
    number = int(token_id) if TOKEN_ID.fullmatch(str(token_id)) else None
    row = session.get(ApiToken, number) if number is not None and number <= MAX_TOKEN_ID else None
    if row is None or (owner is not None and row.user.username != owner):
        whose = f" of {owner!r}" if owner is not None else ""
        raise NotFound(f"no token {str(token_id)[:40]!r}{whose}")
    session.delete(row)
    session.flush()
    return row


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

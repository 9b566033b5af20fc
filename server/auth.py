"""Request authentication: `Authorization: Bearer <token>` or HTTP Basic, for every API call;
a signed-in browser session for the web pages.

The two never mix: API views call `current_principal()`, which reads only the Authorization
header, so an API request that carries the session cookie but no token is not authenticated and
a forged cross-site request cannot act through the API. Web views call `session_principal()`
and are protected by CSRF tokens instead (server/web/security.py).

Argon2 is slow on purpose, so a successful Basic login is remembered for a minute (keyed by a
hash of the credentials) to keep clients that send Basic on every request fast. Failed Basic
logins are limited like the web's sign-in form (`PROCESSCAFE_LOGIN_LIMIT` per user name and
address, `PROCESSCAFE_LOGIN_ADDRESS_LIMIT` per address, counted in `PROCESSCAFE_RATE_LIMIT_STORAGE`):
past a limit the API and /engine-rest answer 429 with Retry-After before any password is hashed,
so Basic auth is no way around the sign-in limits for guessing passwords, nor a way to make the
server spend Argon2 time without end. Tokens are
remembered for half a minute for the same reason: a changed group membership or a disabled
user takes effect within that time in every server process. The process that makes such a change
forgets what it remembers of that user at once (`forget_logins_of`), also a lookup still under way.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from functools import wraps

from flask import current_app, g, request, session
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from werkzeug.exceptions import Forbidden, TooManyRequests, Unauthorized

from .access import Principal
from .context import cafe
from .services import identity

_BASIC_CACHE_SECONDS = 60
_TOKEN_CACHE_SECONDS = 30
_CACHE_LIMIT = 10_000
_basic_cache: dict[str, tuple[float, Principal]] = {}
_token_cache: dict[str, tuple[float, Principal]] = {}
_session_cache: dict[str, tuple[float, Principal]] = {}
_SESSION_CACHE_SECONDS = 30
SESSION_USER = "user"
SESSION_FINGERPRINT = "pw"
_basic_lock = threading.Lock()
_forgotten = [0]  # how often remembered logins were forgotten; a lookup begun before is not remembered


def _lookup_started() -> int:
    return _forgotten[0]


def _cached(cache: dict, key: str) -> Principal | None:
    with _basic_lock:
        hit = cache.get(key)
        return hit[1] if hit and hit[0] > time.monotonic() else None


def _remember(cache: dict, key: str, principal: Principal, seconds: float, started: int) -> None:
    """Keep a login for `seconds`, unless logins were forgotten since its lookup `started`: what it
    read may be what was just changed (a token revoked, a user deactivated)."""
    with _basic_lock:
        if started != _forgotten[0]:
            return
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        cache[key] = (time.monotonic() + seconds, principal)


class _FailedLogins:
    """Counts failed Basic logins per (address, user name) and per address, one set per app."""

    def __init__(self, storage_uri: str, account_limit: str, address_limit: str):
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self.account, self.address = parse(account_limit), parse(address_limit)

    @staticmethod
    def _keys(username: str) -> tuple[tuple[str, str], tuple[str, str]]:
        address = request.remote_addr or "-"
        return ("basic-account", f"{address}|{username.strip().lower()[:120]}"), ("basic-address", address)

    def check(self, username: str) -> None:
        """429 when the caller's address, or the address with this user name, failed too often."""
        for limit, key in zip((self.account, self.address), self._keys(username), strict=True):
            if not self.limiter.test(limit, *key):
                reset = self.limiter.get_window_stats(limit, *key).reset_time
                wait = max(1, int(reset - time.time()) + 1)
                raise TooManyRequests(f"too many failed sign-ins; try again in {wait} s",
                                      retry_after=wait)

    def failed(self, username: str) -> None:
        for limit, key in zip((self.account, self.address), self._keys(username), strict=True):
            self.limiter.hit(limit, *key)


def _failed_logins() -> _FailedLogins:
    counters = current_app.extensions.get("processcafe_failed_logins")
    if counters is None:
        settings = cafe().settings
        counters = current_app.extensions.setdefault("processcafe_failed_logins", _FailedLogins(
            settings.rate_limit_storage, settings.login_limit, settings.login_address_limit))
    return counters


def _from_basic(value: str) -> Principal | None:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
        username, password = decoded.split(":", 1)
    except (ValueError, UnicodeDecodeError):
        return None
    key = hashlib.sha256(decoded.encode()).hexdigest()
    principal = _cached(_basic_cache, key)
    if principal is not None:
        return principal
    failed_logins = _failed_logins()
    failed_logins.check(username)  # before Argon2: a blocked guesser costs no hashing
    started = _lookup_started()
    with cafe().db.read() as session:
        user = identity.check_password(session, username, password)
        principal = identity.principal_of(user) if user else None
    if principal:
        _remember(_basic_cache, key, principal, _BASIC_CACHE_SECONDS, started)
    else:
        failed_logins.failed(username)
    return principal


def _from_bearer(token: str) -> Principal | None:
    key = hashlib.sha256(token.strip().encode()).hexdigest()
    principal = _cached(_token_cache, key)
    if principal is not None:
        return principal
    started = _lookup_started()
    with cafe().db.read() as session:
        principal = identity.principal_for_token(session, token.strip())
    if principal:
        _remember(_token_cache, key, principal, _TOKEN_CACHE_SECONDS, started)
    return principal


def authenticate() -> Principal | None:
    """The caller of this API request, from its Authorization header only (never the session)."""
    if "principal" in g:
        return g.principal
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    principal = None
    if scheme.lower() == "bearer" and value:
        principal = _from_bearer(value)
    elif scheme.lower() == "basic" and value:
        principal = _from_basic(value.strip())
    g.principal = principal
    return principal


def current_principal() -> Principal:
    principal = authenticate()
    if principal is None:
        raise Unauthorized("sign in: send a bearer token or basic credentials")
    return principal


def forget_cached_logins() -> None:
    with _basic_lock:
        _forgotten[0] += 1
        _basic_cache.clear()
        _token_cache.clear()
        _session_cache.clear()


def forget_logins_of(username: str) -> None:
    """Forget this process's remembered tokens, Basic logins and browser sessions of `username`,
    after a change to them has committed (deactivated, password or groups changed, a token
    revoked), so it holds at once here; other processes see it when theirs expire."""
    with _basic_lock:
        _forgotten[0] += 1
        for cache in (_basic_cache, _token_cache, _session_cache):
            for key in [key for key, (_, principal) in cache.items() if principal.name == username]:
                del cache[key]


def check_current_password(username: str, password: str) -> bool:
    """Whether `password` is `username`'s, counted like a Basic login: a wrong one counts against
    the sign-in limits and past them this raises 429, so a stolen token cannot be used to guess
    its owner's password without end."""
    failed_logins = _failed_logins()
    failed_logins.check(username)
    with cafe().db.read() as session:
        right = identity.check_password(session, username, password) is not None
    if not right:
        failed_logins.failed(username)
    return right


def _password_fingerprint(password_hash: str | None) -> str:
    """A short digest of the stored hash: changing the password ends every browser session."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def start_session(user) -> Principal:
    """Sign a browser in as `user` (already checked). The old session is dropped first, so a
    session id planted before sign-in is never promoted (session fixation)."""
    session.clear()
    session[SESSION_USER] = user.username
    session[SESSION_FINGERPRINT] = _password_fingerprint(user.password_hash)
    session.permanent = True
    return identity.principal_of(user)


def end_session() -> None:
    session.clear()


def session_principal() -> Principal | None:
    """The signed-in browser user, for web views. The user row is re-read at most every half
    minute, so disabling a user or changing their password or groups reaches open sessions."""
    if "web_principal" in g:
        return g.web_principal
    username, fingerprint = session.get(SESSION_USER), session.get(SESSION_FINGERPRINT)
    principal = None
    if isinstance(username, str) and isinstance(fingerprint, str):
        key = f"{username}|{fingerprint}"
        principal = _cached(_session_cache, key)
        if principal is None:
            started = _lookup_started()
            with cafe().db.read() as db_session:
                user = identity.find_user(db_session, username)
                if user and user.active and _password_fingerprint(user.password_hash) == fingerprint:
                    principal = identity.principal_of(user)
            if principal:
                _remember(_session_cache, key, principal, _SESSION_CACHE_SECONDS, started)
    g.web_principal = principal
    return principal


def admin_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_principal().is_admin:
            raise Forbidden("only administrators may do this")
        return view(*args, **kwargs)

    return wrapper

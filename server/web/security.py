"""What browser sessions need and token APIs must not have: the session cookie's flags, CSRF
tokens on every form, sign-in rate limits, and protective response headers.

CSRF: Flask-WTF's CSRFProtect checks every unsafe request *except* those to the token APIs
(`/api/...`, `/engine-rest...`). Those are exempted by path rather than by blueprint name so
that an API blueprint added later is exempt without touching this file; they stay safe because
they never read the session cookie (server.auth).

Rate limits: Flask-Limiter counts *failed* sign-ins (a 401 answer) per user name and address
and per address alone; the check runs before the password is hashed, so a blocked address also
costs no Argon2 time. The default storage is memory (per server process); name a shared store
in PROCESSCAFE_RATE_LIMIT_STORAGE when several processes serve.
"""

from __future__ import annotations

from functools import wraps

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

TOKEN_API_PREFIXES = ("/api/", "/engine-rest")
SESSION_HOURS = 12
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class _SessionInterface(SecureCookieSessionInterface):
    """Marks the session cookie Secure whenever the request came over https (or always, when
    configured), so the same deployment works on plain http in development."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def _is_token_api(path: str) -> bool:
    return path.startswith(TOKEN_API_PREFIXES)


def configure(app: Flask) -> None:
    settings = app.extensions["processcafe"].settings
    app.config.update(
        SESSION_COOKIE_NAME="processcafe_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=SESSION_HOURS * 3600,
        WTF_CSRF_CHECK_DEFAULT=False,  # checked below, for everything but the token APIs
        WTF_CSRF_TIME_LIMIT=None,  # a token lives as long as the session it belongs to
    )
    app.session_interface = _SessionInterface()
    csrf = CSRFProtect(app)

    @app.before_request
    def _check_csrf():
        if not _is_token_api(request.path):
            csrf.protect()

    @app.after_request
    def _headers(response: Response) -> Response:
        if request.blueprint == "web":
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            response.headers.setdefault("X-Frame-Options", "DENY")
            if response.mimetype == "text/html":
                response.headers.setdefault("Cache-Control", "no-store")
        return response


def _failed_sign_in(response: Response) -> bool:
    return response.status_code == 401


def _account_key() -> str:
    name = (request.form.get("username") or "").strip().lower()[:120]
    return f"{get_remote_address()}|{name}"


def limit_sign_in(app: Flask) -> Limiter:
    """Wrap the sign-in view with its limits (after the blueprint is registered, so each app
    gets its own limiter and counters).

    `auto_check=False` keeps Flask-Limiter out of every other request (the API's hot path): the
    limits are checked explicitly, only when a sign-in form is posted.
    """
    settings = app.extensions["processcafe"].settings
    limiter = Limiter(get_remote_address, app=app, storage_uri=settings.rate_limit_storage,
                      strategy="moving-window", headers_enabled=False, auto_check=False)
    view = app.view_functions["web.login"]
    limited = limiter.limit(settings.login_limit, key_func=_account_key, methods=["POST"],
                            deduct_when=_failed_sign_in, scope="sign-in-account")(view)
    limited = limiter.limit(settings.login_address_limit, methods=["POST"],
                            deduct_when=_failed_sign_in, scope="sign-in-address")(limited)

    @wraps(view)
    def checked(*args, **kwargs):
        if request.method == "POST":
            limiter.check()  # raises RateLimitExceeded before the password is even hashed
        return limited(*args, **kwargs)

    app.view_functions["web.login"] = checked
    return limiter

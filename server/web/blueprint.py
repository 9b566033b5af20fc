"""The one blueprint every web module adds its pages to (so they share templates, static files,
error pages and the sign-in guard)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/assets")

"""Error pages for people: the API answers problem documents, the web pages answer HTML that
says what went wrong and where to go next."""

from __future__ import annotations

import logging

from flask import render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..services.errors import ServiceError
from .blueprint import bp

log = logging.getLogger(__name__)


def error_page(status: int, title: str, detail: str):
    return render_template("web/error.html", status=status, title=title, detail=detail), status


@bp.errorhandler(ServiceError)
def _service_error(err: ServiceError):
    return error_page(err.status, err.title, err.detail)


@bp.errorhandler(CSRFError)
def _csrf_error(err: CSRFError):
    return error_page(400, "Form refused",
                      "This form's security token is missing or has expired, so it was not accepted. "
                      "Go back, reload the page and send the form again.")


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException):
    return error_page(err.code or 500, err.name, err.description or "")


@bp.errorhandler(Exception)
def _unexpected(err: Exception):
    log.exception("unhandled error on a web page")
    return error_page(500, "Something went wrong", "The server failed on this page; the error was logged.")

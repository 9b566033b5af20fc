"""Errors services raise; the API turns each into a problem document with its status."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(ServiceError):
    status = 404
    title = "Not found"


class Conflict(ServiceError):
    status = 409
    title = "Conflict"


class Forbidden(ServiceError):
    status = 403
    title = "Forbidden"


class Invalid(ServiceError):
    status = 422
    title = "Unprocessable entity"


class BadRequest(ServiceError):
    status = 400
    title = "Bad request"


class TooLarge(ServiceError):
    status = 413
    title = "Content too large"


class Stale(Conflict):
    """What a request computed outside its write transaction is out of date: another writer
    changed the instance in between. The request plans again (server.context.Cafe.optimistic)."""

"""Reading Camunda query parameters: booleans as `true`/`false`, lists comma-separated or as
repeated keys (pycamunda repeats them), paging with `firstResult`/`maxResults`, sorting with
`sortBy`/`sortOrder`."""

from __future__ import annotations

from datetime import datetime

from flask import request

from .dto import INT_RANGE, bad_request, parse_date
from .unsupported import refused

MAX_RESULTS = 10_000  # one page at most; Camunda's default is unlimited


class Params:
    """The query string of the current request (or any mapping with `getlist`)."""

    def __init__(self, args=None):
        self.args = request.args if args is None else args

    def text(self, name: str) -> str | None:
        value = self.args.get(name)
        return value if value not in (None, "") else None

    def flag(self, name: str) -> bool:
        value = self.text(name)
        if value is None:
            return False
        if value.lower() not in ("true", "false"):
            raise bad_request(f"Cannot set query parameter '{name}' to value '{value}': expected true or false")
        return value.lower() == "true"

    def names(self, name: str) -> list[str]:
        values = []
        for raw in self.args.getlist(name):
            values.extend(part.strip() for part in raw.split(",") if part.strip())
        return values

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.text(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError as err:
            raise bad_request(f"Cannot set query parameter '{name}' to value '{value}': not a number") from err
        if not INT_RANGE[0] <= number <= INT_RANGE[1]:  # Camunda's are Java ints; SQLite takes 64 bits at most
            raise bad_request(f"Cannot set query parameter '{name}' to value '{value}': out of range")
        return number

    def date(self, name: str) -> datetime | None:
        value = self.text(name)
        return parse_date(value, name) if value is not None else None

    def page(self) -> tuple[int, int]:
        """(offset, limit); `maxResults=0` is a valid, empty page (Camunda Modeler's probe)."""
        first = max(self.integer("firstResult", 0) or 0, 0)
        limit = self.integer("maxResults", MAX_RESULTS)
        return first, min(max(limit if limit is not None else MAX_RESULTS, 0), MAX_RESULTS)

    def sorting(self, allowed: dict[str, str], default: str) -> tuple[str, bool]:
        """(field, descending) from `sortBy`/`sortOrder`, mapped through `allowed`. As in Camunda,
        the two come together (one alone is a 400), and an unknown value is a 400."""
        sort_by, order = self.text("sortBy"), self.text("sortOrder")
        if (sort_by is None) != (order is None):
            raise bad_request("Only a single sorting parameter specified. sortBy and sortOrder required")
        if sort_by is not None and sort_by not in allowed:
            raise bad_request(f"Cannot set query parameter 'sortBy' to value '{sort_by}'")
        if order is not None and order.lower() not in ("asc", "desc"):
            raise bad_request(f"Cannot set query parameter 'sortOrder' to value '{order}'")
        return allowed[sort_by] if sort_by else default, (order or "").lower() == "desc"

    def refuse(self, endpoint: str) -> None:
        """400 for a documented parameter `endpoint` does not support (camunda/unsupported.py)."""
        names = refused(endpoint, self.args.keys())
        if names:
            raise bad_request(f"Query parameter '{names[0]}' is not supported by this server")

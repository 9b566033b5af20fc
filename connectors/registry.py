"""Channel kinds by name. A kind named K lives in the module `connectors.K` and registers its class
with `@register`; adding a channel kind touches that one file plus its test and fake."""

from __future__ import annotations

import importlib
import re

from .base import Connector

KINDS: dict[str, type[Connector]] = {}
_KIND_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


def register(cls: type[Connector]) -> type[Connector]:
    KINDS[cls.kind] = cls
    return cls


def connector_class(kind: str) -> type[Connector]:
    if kind not in KINDS and _KIND_NAME.match(kind or ""):
        try:
            importlib.import_module(f"{__package__}.{kind}")
        except ModuleNotFoundError as err:
            if err.name != f"{__package__}.{kind}":
                raise
    try:
        return KINDS[kind]
    except KeyError:
        raise KeyError(f"unknown channel kind {kind!r}") from None

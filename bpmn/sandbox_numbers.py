"""Number guards of the script sandbox: the operations on Decimals and ints whose cost a single
C call decides, so the deadline (bpmn/sandbox.py) cannot stop them.

A script that turns a user's text into a number (`int(Decimal(amount))`, `round(price, places)`)
must not let that user stall the server: `int(Decimal("1e1000000"))` takes 40 s and
`round(5, -10**7)` 8 s inside CPython's C code, holding the interpreter lock, so every thread
of the process stops with it. `f"{Decimal('1e700000000'):f}"` builds a 700 MB string in one call.
So scripts get:

- `Decimal` that refuses values beyond `MAX_DIGITS` (exponent or digits) when it makes them,
  and a decimal context for the script's run whose `Emax`/`Emin` keep arithmetic within the same
  range (a larger result raises `decimal.Overflow`, as any overflow does);
- `round` that refuses more than `MAX_DIGITS` places either way.

`isinstance(x, Decimal)` and `Decimal.from_float(...)` keep working: the name stands for the real
class in both.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

MAX_DIGITS = 30_000  # about the 100,000 bits an int may have in scripts (sandbox_guards.MAX_INT_BITS)
MAX_DECIMAL_TEXT = 100_000  # characters of the text a Decimal is made from


class DecimalLimitExceeded(ArithmeticError):
    """A Decimal or a rounding beyond what scripts may compute (raised like a decimal error)."""


def _check_decimal(value: Decimal) -> Decimal:
    if not value.is_finite():
        return value
    sign, digits, exponent = value.as_tuple()
    if value.adjusted() > MAX_DIGITS or exponent < -MAX_DIGITS or len(digits) > MAX_DIGITS:
        raise DecimalLimitExceeded(f"a Decimal of {len(digits):,} digits with exponent {exponent:,} is larger "
                                   f"than scripts may use (at most {MAX_DIGITS:,} digits either side of the point)")
    return value


class _DecimalName(type):
    """The metaclass of the `Decimal` that scripts see: calling it makes a checked real Decimal;
    instance and subclass checks and class attributes are those of the real class."""

    def __call__(cls, value: Any = "0") -> Decimal:
        if isinstance(value, str) and len(value) > MAX_DECIMAL_TEXT:
            raise DecimalLimitExceeded(f"a Decimal made from {len(value):,} characters of text is larger than "
                                       "scripts may use")
        return _check_decimal(Decimal(value))

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, Decimal)

    def __subclasscheck__(cls, subclass: Any) -> bool:
        return isinstance(subclass, type) and issubclass(subclass, Decimal)

    def __getattr__(cls, name: str) -> Any:
        return getattr(Decimal, name)


class ScriptDecimal(metaclass=_DecimalName):
    """`Decimal` in scripts (see the module's docstring)."""


def script_round(number: Any, ndigits: Any = None) -> Any:
    """`round` in scripts: `round(5, -10**7)` computes 10**10,000,000 in one C call."""
    if isinstance(ndigits, int) and not isinstance(ndigits, bool) and abs(ndigits) > MAX_DIGITS:
        raise DecimalLimitExceeded(f"rounding to {ndigits:,} places is beyond what scripts may compute "
                                   f"(at most {MAX_DIGITS:,} either way)")
    if isinstance(number, Decimal):
        _check_decimal(number)
    return round(number) if ndigits is None else round(number, ndigits)


@contextmanager
def bounded_decimals() -> Iterator[None]:
    """The decimal context a script runs in: the thread's own, with exponents bounded by MAX_DIGITS."""
    with decimal.localcontext() as context:
        context.Emax = min(context.Emax, MAX_DIGITS)
        context.Emin = max(context.Emin, -MAX_DIGITS)
        yield

"""Path parameters: `{id:int}` matches only numbers a database column can hold.

Starlette's own `int` convertor takes any run of digits, and a number past 64 bits then fails deep in
the database driver (`OverflowError`, a 500). This one matches at most 18 digits (below 2**63 - 1),
so a longer number is a page that does not exist (404). It replaces `int` once, when `bouquet` is
imported: before any route of the core or of a plugin is built, as routes compile their pattern then.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

MAX_DIGITS = 18


class BoundedIntConvertor(Convertor[int]):
    """A non-negative integer of at most `MAX_DIGITS` digits."""

    regex = "[0-9]{1,%d}" % MAX_DIGITS

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        value = int(value)
        if not 0 <= value < 10**MAX_DIGITS:
            raise ValueError(f"{value} is not an id of at most {MAX_DIGITS} digits")
        return str(value)


def register() -> None:
    """Make `{name:int}` in every route pattern the bounded convertor (idempotent)."""
    register_url_convertor("int", BoundedIntConvertor())

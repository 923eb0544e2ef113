"""Path parameters: `{id:int}` matches only numbers an id column can hold.

Starlette's own `int` convertor takes any run of digits, and a number past the column's range then
fails deep in the database (`OverflowError` past 64 bits in the driver; PostgreSQL's "integer out of
range" past 2**31 - 1 for an INTEGER id, which every table's id is): a 500. This one matches 0 to
2**31 - 1 only, so a larger number is a page that does not exist (404). It replaces `int` once, when
`bouquet` is imported: before any route of the core or of a plugin is built, as routes compile their
pattern then.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

#: The largest id of an INTEGER column (PostgreSQL's and SQLite's ids alike stay within it here).
MAX_ID = 2**31 - 1


def _at_most(limit: str) -> str:
    """A regular expression matching the decimal numbers from 0 to `limit` (no leading zeros needed)."""
    shorter = f"[0-9]{{1,{len(limit) - 1}}}" if len(limit) > 1 else ""
    same_length = []
    for i, digit in enumerate(limit):
        if digit != "0":
            low = "0" if i else "1"
            if int(digit) - 1 >= int(low):
                rest = len(limit) - i - 1
                same_length.append(limit[:i] + f"[{low}-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    same_length.append(limit)
    return "(?:" + "|".join([p for p in [shorter, *same_length] if p]) + ")"


class BoundedIntConvertor(Convertor[int]):
    """A non-negative integer from 0 to `MAX_ID`."""

    regex = _at_most(str(MAX_ID))

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        value = int(value)
        if not 0 <= value <= MAX_ID:
            raise ValueError(f"{value} is not an id (0 to {MAX_ID})")
        return str(value)


def register() -> None:
    """Make `{name:int}` in every route pattern the bounded convertor (idempotent)."""
    register_url_convertor("int", BoundedIntConvertor())

"""The error raised for a rule or catalogue file that cannot be used, naming where the problem is."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

__all__ = ["RuleFileError", "field_path", "from_validation"]


class RuleFileError(ValueError):
    """A rule (or catalogue) definition was refused.

    ``source`` is the file (or "plugin NAME") it came from, ``rule`` the rule id when known,
    ``field`` the dotted path of the offending field when known, ``problem`` what is wrong.
    """

    def __init__(self, source: str, problem: str, *, rule: str | None = None, field: str | None = None) -> None:
        self.source, self.problem, self.rule, self.field = source, problem, rule, field
        where = source
        if rule:
            where += f", rule {rule!r}"
        if field:
            where += f", field {field!r}"
        super().__init__(f"{where}: {problem}")


def field_path(location: Iterable[Any]) -> str:
    """A pydantic error location as a readable path: ("schedule", "ages", 1) → "schedule.ages[1]"."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def from_validation(source: str, error: ValidationError, *, rule: str | None = None,
                    ignore: frozenset[str] = frozenset()) -> RuleFileError:
    """The first problem of a pydantic ValidationError as a RuleFileError (a few others follow in the message).

    Location parts in `ignore` (the tags of discriminated unions) are left out of field paths.
    """
    def path(location: Iterable[Any]) -> str:
        return field_path(part for part in location if part not in ignore)

    problems = error.errors(include_url=False)
    first = problems[0]
    message = first["msg"].removeprefix("Value error, ")
    if len(problems) > 1:
        others = "; ".join(f"{path(p['loc']) or '(rule)'}: {p['msg'].removeprefix('Value error, ')}"
                           for p in problems[1:4])
        message += f" (also: {others})"
    return RuleFileError(source, message, rule=rule, field=path(first["loc"]) or None)

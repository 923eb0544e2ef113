"""The shapes plugins hand to the portal through hooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["info", "warning", "error", "success"]


@dataclass(frozen=True)
class NavEntry:
    """A menu entry. Lower `order` comes first; the core's own entries use 0-99."""

    label: str
    href: str
    order: int = 500


@dataclass(frozen=True)
class Panel:
    """A panel of the patient page, loaded by the browser from `url` (an HTML fragment)."""

    title: str
    url: str
    order: int = 500


@dataclass(frozen=True)
class Alert:
    """Something about the current patient that deserves attention now."""

    title: str
    severity: Severity = "warning"
    description: str = ""
    href: str | None = None
    order: int = 500


@dataclass(frozen=True)
class Launchable:
    """An application that can be opened with the current patient in context.

    `method="post"` when opening it does something (e.g. creates a SMART launch for the patient): the page
    then posts a form with the CSRF token to `href`, which answers with a redirect to the application.
    """

    name: str
    href: str
    description: str = ""
    order: int = 500
    method: str = "get"


@dataclass(frozen=True)
class Action:
    """A permission a plugin defines, with who gets it by default.

    `roles` are account kinds (professional, secretary, vendor, admin); `professions` narrows the
    professionals to those profession codes (empty: every profession). A secretary gets an action
    only if `secretary` is true, and only while acting for a principal who has it.
    """

    name: str
    label: str
    roles: frozenset[str] = field(default_factory=lambda: frozenset({"professional"}))
    professions: frozenset[str] = frozenset()
    secretary: bool = False


@dataclass(frozen=True)
class Scope:
    """An OAuth scope a plugin's API checks (`authenticate_bearer(request, scope=name)`).

    `name` is namespaced by the plugin (`<plugin>.<something>`); `description` is the French
    sentence the consent page shows a person asked to grant it.
    """

    name: str
    description: str

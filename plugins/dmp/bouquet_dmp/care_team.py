"""Care teams other plugins know of (`hookspecs.dmp_care_team`), as the access rules ask for them.

`source_of(plugins)` is what `access.standings_of` calls: patients → why `idnat_ps` is in their care
team. It is given to the service when it is made (`service.create_service`), never kept elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from bouquet_dmp.hookspecs import HOOK, ensure_hookspecs

#: (session, patients, idnat_ps) → {patient: why, in French} for the patients whose team includes idnat_ps.
CareTeamSource = Callable[[Session, list[str], str], dict[str, str]]


def source_of(plugins: Any) -> CareTeamSource | None:
    """The care teams the installed plugins answer for (None without a plugin manager)."""
    if plugins is None:
        return None
    ensure_hookspecs(plugins.pm)

    def ask(session: Session, patients: list[str], idnat_ps: str) -> dict[str, str]:
        found: dict[str, str] = {}
        for result in plugins.call(HOOK, session=session, patients=list(patients), idnat_ps=idnat_ps):
            if not isinstance(result.value, dict):
                plugins.report_failure(result.plugin, HOOK, TypeError("dmp_care_team must return a dict"))
                continue
            for patient, why in result.value.items():
                if patient in patients and isinstance(why, str) and why.strip():
                    found.setdefault(patient, f"{why.strip()[:200]}")
        return found

    return ask

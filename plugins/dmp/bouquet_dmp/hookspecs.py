"""The hook the DMP plugin declares for other packages: `dmp_care_team(session, patients, idnat_ps)`.

The DMP lets a member of the patient's care team read once the patient was informed and gave the
initial consent (CSP L. 1110-12, L. 1111-17 III, R. 1111-46). Besides the médecin traitant, the team
recorded on the DMP and a practice software's launch attesting a consultation, any installed package
can say that a professional belongs to a patient's care team, and why. e-parcours does, from the care
teams of its active plans::

    from sqlmodel import select
    from bouquet import hookimpl

    @hookimpl
    def dmp_care_team(session, patients, idnat_ps):
        # patients: ['<oid>|<matricule>', …]; answer only for those where idnat_ps is in the team
        return {ins: "équipe de soins du réseau X : infirmière référente" for ins in my_lookup(session, patients, idnat_ps)}

`session` is the DMP service's own database session (read with it; never commit). The answer (one
French sentence per patient) is shown as the reason in the patient's access history. A package that
fails is logged and ignored: the professional then simply has no care relationship from it.
Registered at the portal's start (`bouquet_startup`) and by the DMP service on first use.
"""

from __future__ import annotations

import sys
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("bouquet")
HOOK = "dmp_care_team"


@hookspec
def dmp_care_team(session: Any, patients: list[str], idnat_ps: str) -> dict[str, str]:  # type: ignore[empty-body]
    """For each patient ('<oid>|<matricule>') whose care team includes `idnat_ps`: why, in French."""


def ensure_hookspecs(pm: pluggy.PluginManager) -> None:
    """Make `dmp_care_team` a specified hook of `pm` (idempotent)."""
    caller = getattr(pm.hook, HOOK, None)
    if caller is None or not caller.has_spec():
        pm.add_hookspecs(sys.modules[__name__])

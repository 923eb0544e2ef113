"""The hooks bouquet-prevention declares for other plugins (a region's campaign, the DMP plugin).

They live in the portal's own plugin manager (project name "bouquet"), so another plugin
implements them with the same `from bouquet import hookimpl` as any core hook, without importing
this package. `bouquet_prevention.hooks` adds these specifications to the manager; the plugin's
README documents each with an example. Like the core's hooks, they may be sync or async
(`prevention_rules` must be sync), take any subset of their arguments, and only ever gain new ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from bouquet.api.patient import PatientContext
    from bouquet.api.web import RequestContext
    from bouquet_prevention.engine import Act

hookspec = pluggy.HookspecMarker("bouquet")


@hookspec
def prevention_rules() -> Any:
    """Extra prevention rules, replacements by id, or withdrawals (`{"withdraw": id, "reason": …}`):
    a list of rule mappings, or the path of a YAML rule file or folder. Sync; read once per app."""


@hookspec
def prevention_external_acts(ctx: RequestContext, patient: PatientContext) -> list[Act]:
    """Acts of `patient` held elsewhere (e.g. the DMP vaccination record), as `Act(code, performed_on)`
    or `{"code": …, "performed_on": "YYYY-MM-DD"}` mappings; may be async, is cut off after a timeout."""


@hookspec
def prevention_external_acts_bulk(ctx: RequestContext, patients: list[PatientContext]) -> dict[str, list[Act]]:
    """Acts held elsewhere for many patients at once (the population view « Prévention — mes
    patients »), called once per evaluation: `{"<oid>|<matricule>": [acts as prevention_external_acts
    returns them]}`, a patient without acts may be left out. The implementation applies the same
    access rules as for one patient. May be async, is cut off after a timeout; raising (or timing out)
    makes the view show the portal's acts only, with a notice."""


@hookspec
def prevention_conditions(ctx: RequestContext, patient: PatientContext) -> list[str | dict]:
    """Condition codes of the catalogue that `patient` has (e.g. "diabete" from a problem list);
    may be async, is cut off after a timeout. A pregnancy may carry its term as a mapping instead
    of the bare code: `{"code": "grossesse", "start": "YYYY-MM-DD"}` (« date de début de
    grossesse ») or `{"code": "grossesse", "expected_delivery": "YYYY-MM-DD"}` (41 SA)."""


@hookspec
def prevention_share_vaccination(ctx: RequestContext, patient: PatientContext, vaccination: dict) -> dict:
    """Send a vaccination recorded in Bouquet to where the patient's record lives (the DMP plugin:
    a vaccination note, MHD provide, under the DMP's own rules). `vaccination` is `{"act": code,
    "label": French label, "cvx": a CVX code or None, "performed_on": "YYYY-MM-DD"}`. Return
    `{"sent": True, "reference": …}` or `{"sent": False, "message": a French sentence}`; may be
    async; cut off after a timeout. The first implementation that answers is used."""


@hookspec
def prevention_conditions_bulk(ctx: RequestContext, patients: list[PatientContext]) -> dict[str, list[str | dict]]:
    """Condition codes of the catalogue for many patients at once (the population view):
    `{"<oid>|<matricule>": ["diabete", …]}` (a pregnancy with its term as for one patient),
    same access rules as for one patient. May be async,
    is cut off after a timeout; raising or timing out leaves those conditions out (logged)."""

"""Putting this plugin's hook specifications into the portal's plugin manager, and calling them.

The core builds one pluggy manager per app (`app.state.plugins.pm`, also `ctx.plugins.pm`) and
no core hook hands it to plugins at registration time. Pluggy accepts implementations of hooks it
has no specification for yet and checks them when the specification is added, so the order does
not matter: `register_hookspecs` runs in `bouquet_startup` (a worker checks every plugin's
implementations as it starts) and again, as a no-op, before each call (a CLI command or an app
without lifespan gets them too). Specs are added one at a time so that one plugin implementing a
hook with unknown arguments is logged and ignored without hiding the other hooks.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

import pluggy

from bouquet_prevention import hookspecs
from bouquet_prevention.catalogue import default_catalogue
from bouquet_prevention.conditions import full_day
from bouquet_prevention.engine import Act, Engine
from bouquet_prevention.pregnancy import GROSSESSE, Reported, start_from_due
from bouquet_prevention.rulesets import RuleSet, merge, with_rule_sets
from bouquet_prevention.settings import PreventionSettings
from bouquet_prevention.seasons import campaign_dates, default_seasons

if TYPE_CHECKING:
    from bouquet.api.patient import PatientContext
    from bouquet.api.plugins import Plugins
    from bouquet.api.web import RequestContext

__all__ = ["HOOK_NAMES", "UNREAD_NOTICE", "WITHHELD_NOTICE", "external_conditions_bulk", "may_share", "share_vaccination", "withheld_from", "engine_for", "external_acts", "external_acts_bulk", "external_conditions", "has_bulk_acts", "register_hookspecs", "rules_for"]

log = logging.getLogger("bouquet.prevention")

HOOK_NAMES = ("prevention_rules", "prevention_external_acts", "prevention_external_acts_bulk",
              "prevention_conditions", "prevention_share_vaccination", "prevention_conditions_bulk")
#: How long the plugin that sends a vaccination elsewhere (the DMP) gets to answer.
SHARE_TIMEOUT_SECONDS = 15.0
#: How long other plugins get to answer `prevention_external_acts` / `prevention_conditions`.
EXTERNAL_TIMEOUT_SECONDS = 2.0
#: How long other plugins get to answer `prevention_external_acts_bulk` (a whole list at once).
EXTERNAL_BULK_TIMEOUT_SECONDS = 5.0

# Derived from code and the loaded plugins only (never from requests): safe to keep per process.
_RULESETS: WeakKeyDictionary[Any, RuleSet] = WeakKeyDictionary()
_ENGINES: WeakKeyDictionary[Any, Engine] = WeakKeyDictionary()


def register_hookspecs(pm: pluggy.PluginManager) -> None:
    """Add the `prevention_*` specifications to `pm` (idempotent)."""
    for name in HOOK_NAMES:
        caller = getattr(pm.hook, name, None)
        if caller is not None and caller.spec is not None:
            continue
        # One hook per namespace: a bad implementation stops only its own hook's verification.
        namespace = type(f"PreventionSpec_{name}", (), {name: getattr(hookspecs, name)})
        try:
            pm.add_hookspecs(namespace)
        except pluggy.PluginValidationError as exc:
            log.error("plugin %s implements %s with arguments the hook does not have; it is ignored: %s",
                      getattr(exc, "plugin_name", "?") or "?", name, exc)


def rules_for(plugins: Plugins) -> RuleSet:
    """The rule set in force for these plugins: the shipped rules and every `prevention_rules` contribution."""
    ruleset = _RULESETS.get(plugins)
    if ruleset is None:
        register_hookspecs(plugins.pm)
        contributions = [(result.plugin, result.value) for result in plugins.call("prevention_rules")]
        enabled = tuple(PreventionSettings().enabled_rule_sets)
        ruleset = merge(with_rule_sets(enabled), contributions, default_catalogue())
        _RULESETS[plugins] = ruleset
    return ruleset


def engine_for(plugins: Plugins) -> Engine:
    """An engine compiled for `rules_for(plugins)`, built once per app."""
    engine = _ENGINES.get(plugins)
    if engine is None:
        engine = _ENGINES[plugins] = Engine(rules_for(plugins), campaigns=campaign_dates(default_seasons()))
    return engine


async def external_acts(ctx: RequestContext, patient: PatientContext) -> tuple[list[Act], list[str]]:
    """The acts other plugins hold for `patient` (`prevention_external_acts`), and the names of the
    plugins that failed, were too slow or answered something other than a list: their acts are
    missing and the caller must say so (`UNREAD_NOTICE`), as the bulk variant does. Unknown codes
    and malformed items are dropped and logged."""
    register_hookspecs(ctx.plugins.pm)
    failures: list[str] = []
    results = await ctx.plugins.acall("prevention_external_acts", ctx=ctx, patient=patient,
                                      timeout=EXTERNAL_TIMEOUT_SECONDS, failures=failures)
    known = default_catalogue().acts
    acts: list[Act] = []
    for result in results:
        if not isinstance(result.value, list | tuple):
            log.warning("plugin %s returned prevention acts Bouquet cannot use; ignored", result.plugin)
            failures.append(result.plugin)
            continue
        for item in result.value:
            act = _as_act(item)
            if act is None or act.code not in known:
                log.warning("plugin %s returned a prevention act Bouquet cannot use; ignored", result.plugin)
                continue
            acts.append(act)
    return acts, failures


#: Said on each vaccination line (panel, alert, patient.json) computed while another plugin's acts
#: (the DMP's vaccinations) could not be read for this patient: failed or missed its budget.
UNREAD_NOTICE = "Vaccinations du DMP non lues : statut à vérifier."


#: Said on each line computed without the acts other plugins hold for the professional (a secretary's view).
WITHHELD_NOTICE = ("Calculé sans les vaccinations du DMP, que votre compte ne peut pas lire : "
                   "le médecin peut en voir d'autres. Vérifiez avec lui avant de relancer le patient.")


def withheld_from(ctx: RequestContext) -> str | None:
    """Why the acts other plugins hold may be fewer for this caller than for the professional they
    act for (a secretary: the DMP's rules let her read no vaccination), or None when nothing is
    withheld. Each vaccination status computed for her then says so, on its own line."""
    if getattr(ctx, "acting_for", None) is None:
        return None
    register_hookspecs(ctx.plugins.pm)
    callers = [getattr(ctx.plugins.pm.hook, name, None)
               for name in ("prevention_external_acts", "prevention_external_acts_bulk")]
    return WITHHELD_NOTICE if any(c is not None and c.get_hookimpls() for c in callers) else None


def may_share(plugins: Plugins) -> bool:
    """Whether a plugin can send a recorded vaccination elsewhere (`prevention_share_vaccination`)."""
    register_hookspecs(plugins.pm)
    caller = getattr(plugins.pm.hook, "prevention_share_vaccination", None)
    return caller is not None and bool(caller.get_hookimpls())


async def share_vaccination(ctx: RequestContext, patient: PatientContext, vaccination: dict[str, Any]) -> dict[str, Any]:
    """The first answer of `prevention_share_vaccination`: `{"sent": bool, …}`; a plugin that fails,
    is too slow or answers nonsense gives `{"sent": False, "message": …}`."""
    register_hookspecs(ctx.plugins.pm)
    failures: list[str] = []
    results = await ctx.plugins.acall("prevention_share_vaccination", ctx=ctx, patient=patient,
                                      vaccination=vaccination, timeout=SHARE_TIMEOUT_SECONDS, failures=failures)
    for result in results:
        value = result.value
        if isinstance(value, Mapping) and isinstance(value.get("sent"), bool):
            message = value.get("message")
            return {"sent": value["sent"], "plugin": result.plugin,
                    "message": message if isinstance(message, str) else None,
                    "reference": str(value.get("reference") or "")[:200] or None}
    return {"sent": False, "plugin": ",".join(failures) or None,
            "message": "Le service n'a pas répondu : la vaccination n'a pas été envoyée. Réessayez plus tard."}


async def external_conditions_bulk(ctx: RequestContext,
                                   patients: list[PatientContext]) -> tuple[dict[str, Reported], list[str]]:
    """The catalogue conditions other plugins know for `patients` (`prevention_conditions_bulk`, one
    call), with a pregnancy's term when they give one, by '<oid>|<matricule>', and the plugins that
    failed or were too slow."""
    register_hookspecs(ctx.plugins.pm)
    caller = getattr(ctx.plugins.pm.hook, "prevention_conditions_bulk", None)
    if caller is None or not caller.get_hookimpls() or not patients:
        return {}, []
    failures: list[str] = []
    results = await ctx.plugins.acall("prevention_conditions_bulk", ctx=ctx, patients=patients,
                                      timeout=EXTERNAL_BULK_TIMEOUT_SECONDS, failures=failures)
    wanted = {f"{p.ins.oid}|{p.ins.matricule}" for p in patients}
    found: dict[str, Reported] = {}
    for result in results:
        if not isinstance(result.value, Mapping):
            log.warning("plugin %s returned prevention conditions Bouquet cannot use; ignored", result.plugin)
            failures.append(result.plugin)
            continue
        for key, items in result.value.items():
            if key in wanted and isinstance(items, list | tuple | set | frozenset):
                reported = _as_conditions(items, result.plugin)
                found[key] = found[key] | reported if key in found else reported
    return found, failures


def has_bulk_acts(plugins: Plugins) -> bool:
    """Whether any plugin implements `prevention_external_acts_bulk` (else the list is not built)."""
    register_hookspecs(plugins.pm)
    caller = getattr(plugins.pm.hook, "prevention_external_acts_bulk", None)
    return caller is not None and bool(caller.get_hookimpls())


async def external_acts_bulk(ctx: RequestContext, patients: list[PatientContext]) -> tuple[dict[str, list[Act]], list[str]]:
    """The acts other plugins hold for `patients` (`prevention_external_acts_bulk`, one call for the
    whole list), by '<oid>|<matricule>', and the names of the plugins that failed or were too slow
    (their acts are missing: the caller says so). Unknown codes and malformed items are dropped."""
    register_hookspecs(ctx.plugins.pm)
    failures: list[str] = []
    results = await ctx.plugins.acall("prevention_external_acts_bulk", ctx=ctx, patients=patients,
                                      timeout=EXTERNAL_BULK_TIMEOUT_SECONDS, failures=failures)
    known = default_catalogue().acts
    wanted = {f"{p.ins.oid}|{p.ins.matricule}" for p in patients}
    acts: dict[str, list[Act]] = {}
    for result in results:
        if not isinstance(result.value, Mapping):
            log.warning("plugin %s returned prevention acts Bouquet cannot use; ignored", result.plugin)
            failures.append(result.plugin)
            continue
        dropped = 0
        for key, items in result.value.items():
            if key not in wanted or not isinstance(items, list | tuple):
                dropped += 1
                continue
            for item in items:
                act = _as_act(item)
                if act is None or act.code not in known:
                    dropped += 1
                    continue
                acts.setdefault(key, []).append(act)
        if dropped:
            log.warning("plugin %s returned %d prevention act(s) Bouquet cannot use; ignored", result.plugin, dropped)
    return acts, failures


async def external_conditions(ctx: RequestContext, patient: PatientContext) -> Reported:
    """The catalogue conditions other plugins know `patient` has (`prevention_conditions`), with a
    pregnancy's start when one gives its term (`Reported.codes`, `Reported.starts`)."""
    register_hookspecs(ctx.plugins.pm)
    results = await ctx.plugins.acall("prevention_conditions", ctx=ctx, patient=patient,
                                      timeout=EXTERNAL_TIMEOUT_SECONDS)
    found = Reported()
    for result in results:
        if isinstance(result.value, list | tuple | set | frozenset):
            found = found | _as_conditions(result.value, result.plugin)
    return found


def _as_conditions(items: Any, plugin: str) -> Reported:
    """A plugin's answer: condition codes (strings) or mappings `{"code": "grossesse", "start":
    "YYYY-MM-DD"}` / `{"code": "grossesse", "expected_delivery": "YYYY-MM-DD"}` (the pregnancy's
    start, « date de début de grossesse », or its expected delivery date at 41 SA). Unknown codes and
    unreadable dates are dropped and logged (a pregnancy with an unreadable date has no term)."""
    known = default_catalogue().conditions
    codes: set[str] = set()
    starts: list[date] = []
    unknown: set[str] = set()
    for item in items:
        code = item.get("code") if isinstance(item, Mapping) else item
        if not isinstance(code, str) or code not in known:
            unknown.add(str(code)[:64])
            continue
        codes.add(code)
        if isinstance(item, Mapping) and code == GROSSESSE:
            start, due = item.get("start"), item.get("expected_delivery")
            day = full_day(start) if start is not None else None
            if day is None and due is not None and (due_day := full_day(due)) is not None:
                day = start_from_due(due_day)
            if day is not None:
                starts.append(day)
            elif start is not None or due is not None:
                log.warning("plugin %s gave a pregnancy date Bouquet cannot read; ignored", plugin)
    if unknown:
        log.warning("unknown prevention condition codes ignored: %s", ", ".join(sorted(unknown)))
    return Reported.of(codes, starts)


def _as_act(item: Any) -> Act | None:
    if isinstance(item, Act):
        return item
    if isinstance(item, Mapping):
        code, performed = item.get("code"), item.get("performed_on")
        if isinstance(performed, str):
            try:
                performed = date.fromisoformat(performed)
            except ValueError:
                return None
        if isinstance(performed, datetime):
            performed = performed.date()
        if isinstance(code, str) and isinstance(performed, date):
            return Act(code, performed)
    return None

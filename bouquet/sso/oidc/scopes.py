"""The scopes the provider knows, and how the consent page describes each to a person (in French).

`openid` and `profile`, `email` are OpenID Connect's; `scope_all` is Pro Santé Connect's name for
"every claim about the professional" (`SubjectRefPro`, `SubjectRole`…), kept so that software
written for PSC asks for the same thing here; `launch` is SMART App Launch's: used by the practice
software's backend (client credentials) to hand over a patient context, and by an app opened from
Bouquet (code flow with a `launch` handle) to receive the patient in context. `fhirUser` and
`patient/Patient.read` (SMART v1 spelling; `patient/Patient.rs` in v2) are SMART's too.
`offline_access` (OpenID Connect Core §11) asks for a refresh token: none is issued without it.

Those are the core's scopes (`SUPPORTED`, `DESCRIPTIONS`, `CORE`). Plugins declare their own with the
`bouquet_scopes` hook (`catalog.submit` is the catalogue's): `collect(plugins)` validates them at
start-up and `create_app` keeps the result, core and plugin scopes together, as `app.state.scopes`
(`known_scopes(app)`), which discovery, client registration, the token endpoint, the admin form and
the consent page read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from bouquet.plugins.contributions import Scope

if TYPE_CHECKING:
    from bouquet.plugins.manager import Plugins

HOOK = "bouquet_scopes"

OPENID, PROFILE, EMAIL, SCOPE_ALL, LAUNCH = "openid", "profile", "email", "scope_all", "launch"
FHIR_USER, PATIENT_READ, PATIENT_RS = "fhirUser", "patient/Patient.read", "patient/Patient.rs"
OFFLINE_ACCESS = "offline_access"  # OIDC Core §11: a refresh token only when asked for (and consented)

SUPPORTED = (OPENID, PROFILE, EMAIL, SCOPE_ALL, LAUNCH, FHIR_USER, PATIENT_READ, PATIENT_RS, OFFLINE_ACCESS)

DESCRIPTIONS = {
    OPENID: "Vous reconnaître quand vous vous connectez (un identifiant qui vous est propre)",
    PROFILE: "Vos nom et prénom",
    EMAIL: "Votre adresse électronique",
    SCOPE_ALL: "Votre identité professionnelle : numéro RPPS, profession, spécialité et lieux d'exercice "
               "(et, pour un secrétariat, le professionnel pour qui vous agissez)",
    LAUNCH: "Savoir quel patient vous avez ouvert dans Bouquet quand vous lancez l'application depuis Bouquet",
    FHIR_USER: "Vous reconnaître comme professionnel de santé (lien vers votre fiche professionnelle)",
    PATIENT_READ: "Lire l'identité INS de ce patient : matricule, nom de naissance, prénoms, sexe, date et lieu de naissance",
    PATIENT_RS: "Lire l'identité INS de ce patient : matricule, nom de naissance, prénoms, sexe, date et lieu de naissance",
    OFFLINE_ACCESS: "Garder l'accès à ces informations quand vous n'utilisez pas l'application, jusqu'à la fin "
                    "de votre connexion ou jusqu'à ce que vous le retiriez",
}


def scope_list(scope: str | None) -> list[str]:
    """The distinct values of a space-separated scope string, in order."""
    return list(dict.fromkeys((scope or "").split()))


def describe(scope: str) -> list[str]:
    """What a person is asked to share, one French sentence per core scope (each sentence once)."""
    return CORE.describe(scope)


class KnownScopes:
    """The scopes one app's provider knows: the core's, then the loaded plugins' by name (immutable).

    `name in known`, `iter(known)`, `known.supported` (in order), `known.descriptions`
    (name → French sentence), `known.plugin_of(name)` (None for a core scope), `known.describe(scope)`.
    """

    __slots__ = ("_descriptions", "_owners")

    def __init__(self, plugin_scopes: Mapping[str, tuple[str, str]] | None = None) -> None:
        """`plugin_scopes`: name → (plugin, description), already validated (`collect`)."""
        plugin_scopes = dict(sorted((plugin_scopes or {}).items()))  # the same order whatever loads first
        self._descriptions = MappingProxyType(
            {**DESCRIPTIONS, **{name: description for name, (_, description) in plugin_scopes.items()}})
        self._owners = MappingProxyType({name: plugin for name, (plugin, _) in plugin_scopes.items()})

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(self, "_owners"):
            raise AttributeError("KnownScopes is immutable")
        object.__setattr__(self, name, value)

    def __contains__(self, name: object) -> bool:
        return name in self._descriptions

    def __iter__(self) -> Iterator[str]:
        return iter(self._descriptions)

    def __len__(self) -> int:
        return len(self._descriptions)

    def __repr__(self) -> str:
        return f"KnownScopes({list(self._owners)!r})"

    @property
    def supported(self) -> tuple[str, ...]:
        return tuple(self._descriptions)

    @property
    def descriptions(self) -> Mapping[str, str]:
        return self._descriptions

    def plugin_of(self, name: str) -> str | None:
        return self._owners.get(name)

    def describe(self, scope: str | None) -> list[str]:
        """What a person is asked to share, one French sentence per known scope (each sentence once)."""
        known = self._descriptions
        return list(dict.fromkeys(known[value] for value in scope_list(scope) if value in known))


CORE = KnownScopes()

# After the plugin's name and a dot: RFC 6749's scope-token characters, minus the ones that would
# need quoting in a header or a URL.
_SUFFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}")


class ScopeDeclarationError(ValueError):
    """A plugin declared a scope it may not: reported as its failure in `bouquet_scopes`, and ignored."""


def _declarations(value: Any) -> list[tuple[Any, Any]]:
    if isinstance(value, Mapping):
        return list(value.items())
    items = value if isinstance(value, list | tuple) else [value]
    return [(item.name, item.description) if isinstance(item, Scope) else (item, None) for item in items]


def _problem(plugin: str, name: Any, description: Any, taken: Mapping[str, tuple[str, str]]) -> str | None:
    if not isinstance(name, str):
        return f"a scope must be a bouquet.Scope(name, description) or a name → description dict, not {name!r}"
    if name in DESCRIPTIONS:
        return f"scope {name!r} is a core scope: a plugin may not redefine it"
    prefix = f"{plugin}."
    if not name.startswith(prefix) or not _SUFFIX.fullmatch(name[len(prefix):]):
        return (f"scope {name!r} must be named {prefix}<something> (letters, digits and . _ : / -, "
                f"after the plugin's name {plugin!r})")
    if not isinstance(description, str) or not description.strip():
        return f"scope {name!r} needs a French description for the consent page"
    if name in taken:
        return f"scope {name!r} is declared twice"
    return None


def collect(plugins: Plugins) -> KnownScopes:
    """Call every plugin's `bouquet_scopes` (sync, at start-up) and return the core's scopes and
    theirs. A declaration that is not namespaced by its plugin, shadows a core scope or lacks a
    description is reported as that plugin's failure in the hook (log, `/metrics`, `/-/plugins`)
    and ignored; the plugin's other scopes still count."""
    declared: dict[str, tuple[str, str]] = {}
    for result in plugins.call(HOOK):
        try:
            declarations = _declarations(result.value)
        except Exception as exc:
            plugins.report_failure(result.plugin, HOOK, exc)
            continue
        for name, description in declarations:
            problem = _problem(result.plugin, name, description, declared)
            if problem is not None:
                plugins.report_failure(result.plugin, HOOK, ScopeDeclarationError(problem))
                continue
            declared[name] = (result.plugin, description.strip())
    return KnownScopes(declared)


def known_scopes(app: Any) -> KnownScopes:
    """The scopes `app`'s provider knows (`app.state.scopes`, set by `create_app`); the core's alone
    for an app built without plugins."""
    known = getattr(app.state, "scopes", None)
    return known if isinstance(known, KnownScopes) else CORE

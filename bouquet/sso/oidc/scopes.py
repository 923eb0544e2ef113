"""The scopes the provider knows, and how the consent page describes each to a person (in French).

`openid` and `profile`, `email` are OpenID Connect's; `scope_all` is Pro Santé Connect's name for
"every claim about the professional" (`SubjectRefPro`, `SubjectRole`…), kept so that software
written for PSC asks for the same thing here; `launch` is SMART App Launch's, used by the practice
software's backend (client credentials) to hand over a patient context.
"""

from __future__ import annotations

OPENID, PROFILE, EMAIL, SCOPE_ALL, LAUNCH = "openid", "profile", "email", "scope_all", "launch"

SUPPORTED = (OPENID, PROFILE, EMAIL, SCOPE_ALL, LAUNCH)

DESCRIPTIONS = {
    OPENID: "Vous reconnaître quand vous vous connectez (un identifiant qui vous est propre)",
    PROFILE: "Vos nom et prénom",
    EMAIL: "Votre adresse électronique",
    SCOPE_ALL: "Votre identité professionnelle : numéro RPPS, profession, spécialité et lieux d'exercice "
               "(et, pour un secrétariat, le professionnel pour qui vous agissez)",
    LAUNCH: "Recevoir le contexte patient transmis par votre logiciel métier",
}


def scope_list(scope: str | None) -> list[str]:
    """The distinct values of a space-separated scope string, in order."""
    return list(dict.fromkeys((scope or "").split()))


def describe(scope: str) -> list[str]:
    """What a person is asked to share, one French sentence per known scope."""
    return [DESCRIPTIONS[value] for value in scope_list(scope) if value in DESCRIPTIONS]

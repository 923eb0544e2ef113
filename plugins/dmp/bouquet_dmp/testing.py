"""Constants and helpers for tests of the DMP plugin (and of plugins that work with it)."""

from __future__ import annotations

from typing import Any

from bouquet.api.patient import DEMO_PATIENTS, audit_ins
from bouquet_dmp.identity import HEADER, Caller, key_for, sign

MARTIN, LEFEBVRE, SANTONI = DEMO_PATIENTS[0], DEMO_PATIENTS[2], DEMO_PATIENTS[3]
MARTIN_INS = audit_ins(MARTIN)


def identity_header(account: Any, secret: str, patient: Any = MARTIN, acting_for: Any = None) -> dict[str, str]:
    """The signed identity header a portal with `secret` sends for `account` about `patient`."""
    caller = Caller(sub=account.label, name=account.display_name, kind=str(account.kind), patient=audit_ins(patient),
                    idnat=account.idnat_ps, profession=account.profession_code,
                    for_idnat=acting_for.idnat_ps if acting_for else None,
                    for_name=acting_for.display_name if acting_for else None)
    return {HEADER: sign(caller, key_for(secret))}

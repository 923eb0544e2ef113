"""Helpers for tests of this plugin and of plugins that extend it (a region's campaign rules).

    from bouquet_prevention.testing import ON, MARTIN, open_patient, cds_jwt

The fixtures that use them live in the plugin's `tests/conftest.py`.
"""

from __future__ import annotations

import time
import uuid
from datetime import date
from typing import Any

from bouquet.api.patient import DEMO_PATIENTS

__all__ = ["CDS_ENDPOINT", "CDS_ISS", "MARTIN", "MARTIN_INS", "ON", "cds_jwt", "open_patient", "synthetic_patients"]

#: The evaluation date the tests pin: during the 2026-2027 influenza campaign. MARTIN (demo
#: patient, a woman born on 2 October 1960) is 66 on that day.
ON = date(2026, 11, 28)
MARTIN = DEMO_PATIENTS[0]
MARTIN_INS = f"{MARTIN.ins.oid}|{MARTIN.ins.matricule}"
CDS_ISS = "https://lgc.example.fr/cds-client"
#: The service URL when the portal's base URL is the test settings' http://testserver.
CDS_ENDPOINT = "http://testserver/p/prevention/cds-services/bouquet-prevention"


def open_patient(client: Any, patient: Any = MARTIN) -> None:
    """Open a demo patient in the browser session, as the patient page's form does."""
    response = client.submit("/patient", {"demo": patient.ins.matricule})
    assert response.status_code == 303, response.text


def cds_jwt(key: Any, aud: Any = CDS_ENDPOINT, *, exp_in: int = 120, iat_in: int = 0, jti: str | None = None,
            alg: str = "ES384", iss: str = CDS_ISS, **claims: Any) -> str:
    """A CDS client's JWT signed with `key` (a joserfc key with a kid), expiring `exp_in` seconds from now."""
    from joserfc import jwt

    now = int(time.time())
    payload = {"iss": iss, "aud": aud, "exp": now + exp_in, "iat": now + iat_in,
               "jti": str(uuid.uuid4()) if jti is None else jti,
               **claims}
    return jwt.encode({"alg": alg, "typ": "JWT", "kid": key.kid}, payload, key, algorithms=[alg])


def _letters(n: int) -> str:
    word = ""
    while True:
        n, rest = divmod(n, 26)
        word = chr(ord("A") + rest) + word
        if n == 0:
            return word


def synthetic_patients(count: int, *, first_year: int = 1930, years: int = 90) -> list[Any]:
    """`count` fictitious patients (PatientContext) with distinct, valid test INS: both sexes, birth
    years from `first_year` over `years` years; deterministic (the same list every time)."""
    from bouquet.api.patient import (
        OID_NIR_TEST,
        Ins,
        PatientContext,
        PatientTraits,
        with_key,
    )

    patients = []
    for n in range(count):
        born = date(first_year + n % years, 1 + (n // years) % 12, 1 + (n // (years * 12)) % 28)
        sex = "F" if n % 2 else "M"
        first13 = f"{'2' if sex == 'F' else '1'}{born.year % 100:02d}{born.month:02d}69{n % 1000:03d}{n // 1000 + 1:03d}"
        traits = PatientTraits(f"ESSAI {_letters(n)}", ("CAMILLE",), born, sex, "69123")  # type: ignore[arg-type]
        patients.append(PatientContext(Ins(with_key(first13), OID_NIR_TEST), traits, source="test"))
    return patients

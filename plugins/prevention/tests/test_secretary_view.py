"""Issue 14 item 3: the secretary and the doctor on the same five patients. The DMP's vaccinations
are read with the caller's rights (a secretary reads none), so her statuses may be computed from
less than the doctor sees: every such line says so, on the list, the panel and patient.json."""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from typing import Any

from bouquet_prevention import population
from bouquet_prevention.testing import open_patient

from bouquet import hookimpl
from bouquet.api.patient import DEMO_PATIENTS
from bouquet.testing.fixtures import BouquetClient

HX = {"HX-Request": "true"}
PAGE = "/p/prevention/mes-patients"


class DmpLike:
    """As the DMP plugin: vaccinations read with the caller's rights; a secretary gets none."""

    @staticmethod
    def _acts(ctx: Any) -> list[dict[str, str]]:
        if ctx.account is None or ctx.account.kind == "secretary":
            return []
        return [{"code": "dTP", "performed_on": "2025-03-01"}, {"code": "grippe", "performed_on": "2026-10-20"}]

    @hookimpl
    def prevention_external_acts(self, ctx: Any, patient: Any) -> list[dict[str, str]]:
        return self._acts(ctx)

    @hookimpl
    def prevention_external_acts_bulk(self, ctx: Any, patients: list[Any]) -> dict[str, list[dict[str, str]]]:
        return {f"{p.ins.oid}|{p.ins.matricule}": self._acts(ctx) for p in patients}


def rows(client: Any) -> dict[tuple[str, str], str]:
    response = client.get(PAGE, params={"status": ""})
    assert response.status_code == 200, response.text
    text = unescape(response.text)
    found = re.findall(r'<tr data-rule="([^"]+)">.*?title="Ouvrir le dossier de ([^"]+)".*?fr-badge[^>]*>([^<]+)</p>',
                       text, re.S)
    return {(rule, name): state for rule, name, state in found}


def test_the_secretary_s_statuses_say_when_they_lack_what_the_doctor_sees(make_app: Any, doctor: Any,
                                                                         make_account: Any, today: date) -> None:
    app = make_app(plugins="prevention", extra_plugins=[("dmp_like", DmpLike())])
    secretary = make_account(kind="secretary")
    with app.state.db.write() as session:
        population.declare(session, doctor.id, DEMO_PATIENTS[:5])
    with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as as_doctor, \
            BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as as_secretary:
        as_doctor.login(doctor)
        as_secretary.login(secretary, acting_for=doctor)
        doctors, secretarys = rows(as_doctor), rows(as_secretary)
        assert doctors and secretarys
        # Every line where they differ, or that the doctor does not have, is marked for her.
        for key, state in secretarys.items():
            if doctors.get(key) != state.split(" — sans les vaccinations du DMP")[0]:
                assert "sans les vaccinations du DMP" in state, (key, state, doctors.get(key))
        assert not any("sans les vaccinations du DMP" in s for s in doctors.values())
        # Lines about screening are computed from the same data: identical, unmarked.
        screening = {k: v for k, v in secretarys.items() if k[0].startswith("depistage")}
        assert screening and all(doctors[k] == v for k, v in screening.items())
        assert len(secretarys) > len(doctors)  # she sees more « to do » — and each says why

        # The patient page: each vaccination line of her panel says so; the doctor's does not.
        for client in (as_doctor, as_secretary):
            open_patient(client)
        panel = unescape(as_secretary.get("/p/prevention/panel", headers=HX).text)
        items = re.findall(r'<li class="fr-mb-2w" data-rule="([^"]+)">(.*?)</li>', panel, re.S)
        for rule, html in items:
            vaccination = not rule.startswith(("depistage", "mon-bilan"))
            assert ('data-testid="withheld"' in html) == vaccination, rule
        assert 'data-testid="withheld"' not in as_doctor.get("/p/prevention/panel", headers=HX).text
        mine = as_secretary.get("/p/prevention/patient.json").json()["outcomes"]
        assert all(("withheld" in o) == (o["rule"] not in {"depistage-cancer-sein", "depistage-cancer-colorectal",
                                                            "depistage-col-uterus-cytologie",
                                                            "depistage-col-uterus-test-hpv", "mon-bilan-prevention"})
                   for o in mine)
        assert all("withheld" not in o for o in as_doctor.get("/p/prevention/patient.json").json()["outcomes"])

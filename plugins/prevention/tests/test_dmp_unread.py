"""Issue 20, « degrade visibly, never silently »: when the DMP's vaccinations cannot be read for the
patient in context (the `prevention_external_acts` hook fails or misses its budget), the panel, the
alerts and patient.json say so on each vaccination line, and a vaccination that is only due because
of the missing record is « à vérifier », never a confirmed thing to do (no warning, no one click).

The patient: SANTONI, 41 on the pinned day; her DMP holds a dTP booster of 1 March 2025, so with the
DMP the adult dTP booster is up to date until her 45th birthday, without it overdue since 2011."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date
from html import unescape
from typing import Any

import pytest
from bouquet_prevention import hooks
from bouquet_prevention.testing import open_patient
from sqlmodel import select

from bouquet import hookimpl
from bouquet.api.audit import AuditEvent
from bouquet.api.patient import DEMO_PATIENTS
from bouquet.testing.fixtures import BouquetClient

SANTONI = DEMO_PATIENTS[3]
HX = {"HX-Request": "true"}
NOTICE = "Vaccinations du DMP non lues : statut à vérifier."
DTP = "dtp-rappel-adulte"


class Dmp:
    @hookimpl
    def prevention_external_acts(self) -> list[dict[str, str]]:
        return [{"code": "dTP", "performed_on": "2025-03-01"}]


class FailingDmp:
    @hookimpl
    def prevention_external_acts(self) -> list[Any]:
        raise RuntimeError("DMP indisponible")


class SlowDmp:
    """The DMP answering with the booster, but after its budget (cut to 0.2 s below)."""

    @hookimpl
    async def prevention_external_acts(self) -> list[dict[str, str]]:
        await asyncio.sleep(3)
        return [{"code": "dTP", "performed_on": "2025-03-01"}]


class NonsenseDmp:
    @hookimpl
    def prevention_external_acts(self) -> dict[str, str]:
        return {"code": "dTP"}  # not a list: unusable, counted as not read


@pytest.fixture
def portal(make_app: Any, doctor: Any, today: date, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(hooks, "EXTERNAL_TIMEOUT_SECONDS", 0.2)
    with ExitStack() as stack:
        def make(name: str, plugin: object) -> BouquetClient:
            app = make_app(plugins="prevention", extra_plugins=[(name, plugin)])
            client = stack.enter_context(BouquetClient(app, base_url="http://testserver.local",
                                                       follow_redirects=False))
            client.login(doctor)
            open_patient(client, SANTONI)
            return client

        yield make


def statuses(client: Any) -> dict[str, Any]:
    response = client.get("/p/prevention/patient.json")
    assert response.status_code == 200, response.text
    return response.json()


def line(panel: str, rule: str) -> str:
    found = re.search(rf'<li class="fr-mb-2w" data-rule="{rule}">.*?</li>', panel, re.S)
    assert found is not None, rule
    return unescape(found.group(0))


def test_with_the_dmp_read_the_booster_is_up_to_date_and_nothing_is_said(portal: Any) -> None:
    client = portal("dmp", Dmp())
    body = statuses(client)
    dtp = next(o for o in body["outcomes"] if o["rule"] == DTP)
    assert dtp["status"] == "done" and dtp["last"] == "2025-03-01" and "unread" not in dtp
    assert "external_failed" not in body
    assert NOTICE not in unescape(client.get("/p/prevention/panel", headers=HX).text)
    assert NOTICE not in unescape(client.get("/patient/alerts", headers=HX).text)


@pytest.mark.parametrize("name, plugin", [("failing", FailingDmp()), ("slow", SlowDmp()),
                                          ("nonsense", NonsenseDmp())])
def test_an_unread_dmp_is_said_on_each_vaccination_line_and_nothing_looks_confirmed(
        portal: Any, name: str, plugin: object) -> None:
    client = portal(name, plugin)
    body = statuses(client)
    assert body["external_failed"] == [name]
    by_rule = {o["rule"]: o for o in body["outcomes"]}
    dtp = by_rule[DTP]
    assert dtp["status"] == "overdue" and dtp["unread"] == NOTICE and dtp["unverified"] is True
    vaccinations = [o for o in body["outcomes"] if o["category"] == "vaccination"]
    assert vaccinations and all(o["unread"] == NOTICE for o in vaccinations)
    screenings = [o for o in body["outcomes"] if o["category"] != "vaccination"]
    assert screenings and not any("unread" in o for o in screenings)  # the DMP's acts cannot change them

    panel = client.get("/p/prevention/panel", headers=HX).text
    dtp_line = line(panel, DTP)
    assert NOTICE in dtp_line and "À vérifier — jamais réalisé" in dtp_line
    assert "fr-badge--warning" not in dtp_line            # not shown as a confirmed "overdue"
    assert "Fait aujourd'hui" not in dtp_line             # nor recorded in one click (the DMP may hold it)
    assert "Enregistrer l'acte" in dtp_line and "résultat reçu" not in dtp_line   # a vaccine the GP gives, with its date
    assert "/p/prevention/acts/new?rule=dtp-rappel-adulte" in dtp_line  # recording at a date stays possible
    cervical = line(panel, "depistage-col-uterus-test-hpv")
    assert NOTICE not in cervical

    alerts = unescape(client.get("/patient/alerts", headers=HX).text)
    assert "Prévention (à vérifier) : Rappel diphtérie-tétanos-poliomyélite (dTP)" in alerts
    assert NOTICE in alerts
    with client.app.state.db.session() as session:
        reads = session.exec(select(AuditEvent).where(AuditEvent.action == "prevention.read")).all()
    assert reads and all((event.details or {}).get("external_failed") == [name] for event in reads)


def test_the_unverified_lines_come_after_the_confirmed_ones(portal: Any) -> None:
    client = portal("failing", FailingDmp())
    panel = client.get("/p/prevention/panel", headers=HX).text
    to_do = panel.split("À venir")[0]
    rules = re.findall(r'data-rule="([^"]+)"', to_do)
    unverified = [rule for rule in rules if NOTICE in line(panel, rule) and "À vérifier" in line(panel, rule)]
    assert DTP in unverified and unverified == rules[len(rules) - len(unverified):], rules

"""The prevention panel's fragment (GET /p/prevention/panel) for the patient in context."""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from typing import Any

import pytest

from bouquet_prevention.testing import MARTIN_INS, open_patient
from sqlmodel import select

from bouquet.api.audit import AuditEvent

HX = {"HX-Request": "true"}


@pytest.fixture
def app(make_app: Any) -> Any:
    """The portal with prevention alone: the statuses here come from the acts recorded in Bouquet. With
    the DMP plugin, a doctor outside the patient's care team is refused her DMP, and every vaccination
    line says « à vérifier » instead (tests/test_dmp_unread.py, the DMP plugin's test_prevention.py)."""
    return make_app(plugins="prevention")


def test_the_panel_lists_what_is_overdue_due_upcoming_and_up_to_date(client: Any, doctor: Any, today: date) -> None:
    client.login(doctor)
    open_patient(client)
    assert client.submit("/p/prevention/acts", {"act_code": "grippe", "performed_on": "2026-11-02",
                                                 "decision": "confirm"}).status_code == 303
    response = client.get("/p/prevention/panel", headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    text = unescape(response.text)
    sections = re.findall(r'<h3 class="fr-h6 fr-mb-1w">(.*?)</h3>', text)
    assert sections == ["À faire", "À jour"]
    rules = re.findall(r'data-rule="([^"]+)"', text)
    # What is actionable first: nothing is known of her screenings, so they are « jamais réalisé »
    # (not « en retard depuis le 02/04/2011 », her 50th birthday); then what is due; then what is up to date.
    assert rules[:4] == ["depistage-cancer-sein", "depistage-cancer-colorectal", "dtp-rappel-adulte",
                         "covid-automne-65-ans"]
    assert set(rules[4:]) == {"pneumocoque-65-ans", "zona-65-ans", "grippe-65-ans"}
    assert "02/04/2011" not in text and "Jamais réalisé — en retard" in text
    assert "À jour jusqu'au 15/10/2027" in text
    # The breast-screening reference shown to a woman of 66 is about her risk level, not « before 50 ».
    breast = re.search(r'<li class="fr-mb-2w" data-rule="depistage-cancer-sein">.*?</li>', text, re.S).group(0)
    assert "avant 50 ans" not in breast and "adaptées à votre niveau de risque" in breast
    # A GP does not perform a mammography: no « Fait aujourd'hui », a result received is recorded with its date.
    assert "Fait aujourd'hui" not in breast and "Enregistrer le résultat reçu" in breast
    flu = re.search(r'<li class="fr-mb-2w" data-rule="grippe-65-ans">.*?</li>', text, re.S)
    dtp = re.search(r'<li class="fr-mb-2w" data-rule="dtp-rappel-adulte">.*?</li>', text, re.S).group(0)
    assert flu is not None and "Fait aujourd'hui" in dtp
    assert 'href="/p/prevention/acts/new?rule=zona-65-ans"' in text
    with client.app.state.db.session() as session:
        [event] = session.exec(select(AuditEvent).where(AuditEvent.resource == "prevention/panel")).all()
    assert (event.action, event.patient_ins) == ("prevention.read", MARTIN_INS)


def test_a_secretary_sees_the_panel_without_the_links_to_record(client: Any, doctor: Any, make_account: Any,
                                                                today: date) -> None:
    client.login(make_account(kind="secretary"), acting_for=doctor)
    open_patient(client)
    response = client.get("/p/prevention/panel", headers=HX)
    assert response.status_code == 200 and "data-rule=" in response.text and "Enregistrer l'acte" not in unescape(response.text)


def test_without_a_patient_the_panel_says_so(client: Any, doctor: Any) -> None:
    client.login(doctor)
    response = client.get("/p/prevention/panel", headers=HX)
    assert response.status_code == 409 and "Aucun dossier patient" in response.text


def test_the_patient_page_shows_the_panel_and_the_flu_alert_until_the_vaccine_is_recorded(
        make_app: Any, doctor: Any, today: date) -> None:
    """The demo patient of 66, no influenza vaccine recorded: the alert, then one click clears it."""
    from bouquet.testing.fixtures import BouquetClient

    app = make_app(plugins="prevention")  # this plugin's panel and alerts only, whatever else is installed
    with BouquetClient(app, base_url="http://testserver", follow_redirects=False) as client:
        client.login(doctor)
        open_patient(client)
        page = client.get("/patient")
        assert 'hx-get="/p/prevention/panel"' in page.text and ">Prévention</h3>" in page.text

        alerts = unescape(client.get("/patient/alerts", headers=HX).text)
        # Boxes above the panels, and the alerts the prevention panel shows, named in one line each.
        titles = (re.findall(r'<h3 class="fr-alert__title">(.*?)</h3>', alerts)
                  + [unescape(re.sub(r"<[^>]+>", "", line)).split(" — ")[0]
                     for line in re.findall(r'<span data-testid="alert"[^>]*>(.*?)</span>(?: · |\s*</p>)', alerts)])
        severities = re.findall(r'(?:fr-alert|bq-alert-line)--(\w+)(?: fr-mb-2w|")', alerts)
        flu = "Prévention : Vaccination contre la grippe saisonnière"
        assert any(title.startswith(flu) for title in titles), titles
        assert severities == sorted(severities, key=lambda s: s != "warning")  # overdue (warning) first
        assert severities[0] == "warning" and "info" in severities
        assert "À faire depuis le 15/10/2026" in alerts

        panel = client.get("/p/prevention/panel", headers=HX).text
        form = re.search(r'<li class="fr-mb-2w" data-rule="grippe-65-ans">.*?</li>', panel, re.S).group(0)
        fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
        assert fields["act_code"] == "grippe" and fields["performed_on"] == "2026-11-28" and fields["then"] == "patient"
        assert fields["csrf_token"] and fields["patient_context_id"]
        assert "hx-post" not in form and 'action="/p/prevention/acts"' in form  # a plain form: no JavaScript needed

        # « Fait aujourd'hui » records nothing yet: it shows what would be recorded, for whom, when.
        asked = client.submit("/p/prevention/acts", {k: v for k, v in fields.items() if k != "csrf_token"})
        assert asked.status_code == 200 and "Confirmer l'enregistrement" in unescape(asked.text)
        assert "20/11/2026" not in asked.text and "28/11/2026 (aujourd'hui)" in unescape(asked.text)
        assert flu in unescape(client.get("/patient/alerts", headers=HX).text)  # nothing recorded

        recorded = client.submit("/p/prevention/acts", {k: v for k, v in fields.items() if k != "csrf_token"}
                                 | {"decision": "confirm"})
        assert recorded.status_code == 303 and recorded.headers["location"] == "/patient"
        again = unescape(client.get("/patient").text)
        assert "Vaccination contre la grippe saisonnière du 28/11/2026 enregistrée." in again  # the flash
        after = unescape(client.get("/patient/alerts", headers=HX).text)
        assert flu not in after and "Prévention : " in after  # the other alerts stay
        assert 'data-rule="grippe-65-ans"' in client.get("/p/prevention/panel", headers=HX).text.split("À jour")[1]

        stale = client.submit("/p/prevention/acts", {**fields, "patient_context_id": "ailleurs", "csrf_token": "",
                                                     "decision": "confirm"})
        assert stale.status_code == 303 and stale.headers["location"] == "/patient"
        assert "Le dossier patient a changé" in unescape(client.get("/patient").text)
    with app.state.db.session() as session:
        reads = session.exec(select(AuditEvent).where(AuditEvent.resource == "prevention/alerts")).all()
    assert len(reads) == 3 and {event.patient_ins for event in reads} == {MARTIN_INS}


def test_the_panel_and_alerts_are_for_those_allowed(make_app: Any, make_account: Any, today: date) -> None:
    from bouquet.testing.fixtures import BouquetClient

    app = make_app(plugins="prevention")
    with BouquetClient(app, base_url="http://testserver", follow_redirects=False) as client:
        nurse = make_account(profession_code="60", profession_label="Infirmier")
        client.login(nurse)
        open_patient(client)
        assert "Prévention : " in unescape(client.get("/patient/alerts", headers=HX).text)
        client.login(make_account(kind="vendor"))
        assert client.get("/patient/alerts", headers=HX).status_code == 403

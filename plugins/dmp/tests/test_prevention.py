"""With the prevention plugin loaded too, the DMP's vaccination records feed its rules through
`prevention_external_acts` (implemented by name: bouquet_dmp never imports bouquet_prevention)."""

from __future__ import annotations

from datetime import date
from html import unescape

import pytest
from sqlmodel import select

from bouquet.audit import AuditEvent

from bouquet_dmp.testing import LEFEBVRE, MARTIN

ON = date(2026, 11, 28)   # in the 2026-2027 influenza campaign


@pytest.fixture(autouse=True)
def pinned_prevention_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    from bouquet_prevention import clock

    monkeypatch.setattr(clock, "today", lambda: ON)


def test_both_plugins_are_loaded(client):
    plugins = {plugin["name"]: plugin for plugin in client.get("/-/plugins.json").json()}
    assert {"dmp", "prevention"} <= plugins.keys()
    assert "prevention_external_acts" in plugins["dmp"]["hooks"]


def test_flu_alert_follows_the_dmp_vaccination_record(client, doctor, open_patient, app):
    client.login(doctor)
    open_patient(client, MARTIN)                 # 66, vaccination record without influenza
    martin = unescape(client.get("/patient/alerts").text)
    assert "grippe" in martin.lower()
    # The first Shingrix dose of her DMP record (05/11/2024) counts: the second is due two months later.
    assert "vaccination contre le zona (shingrix, 2 doses)" in martin.lower() and "à faire depuis le 05/01/2025" in martin.lower()
    open_patient(client, LEFEBVRE)               # 84, vaccinated on 20/10/2026 according to his DMP
    lefebvre = unescape(client.get("/patient/alerts").text)
    assert "grippe" not in lefebvre.lower()
    with app.state.db.session() as session:
        reads = session.exec(select(AuditEvent).where(AuditEvent.resource == "dmp/vaccinations")).all()
    assert [event.details["via"] for event in reads] == ["prevention", "prevention"]


def test_a_dmp_that_is_down_gives_no_acts_and_no_error(client, doctor, open_patient, monkeypatch):
    from bouquet.testing.fixtures import free_port

    monkeypatch.setenv("BOUQUET_DMP_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("BOUQUET_DMP_RETRIES", "0")
    client.login(doctor)
    open_patient(client, LEFEBVRE)
    alerts = client.get("/patient/alerts")
    assert alerts.status_code == 200 and "grippe" in unescape(alerts.text).lower()   # the DMP's vaccine is unknown now

"""The hooks this plugin offers other plugins, exercised by small plugins registered like a region's
or the DMP's would be: `prevention_rules` (add, replace, withdraw rules), `prevention_external_acts`
and `prevention_conditions`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date
from typing import Any

import pytest
from bouquet_prevention import hooks
from bouquet_prevention.engine import Act
from bouquet_prevention.hooks import HOOK_NAMES, register_hookspecs, rules_for
from bouquet_prevention.testing import open_patient

from bouquet import hookimpl
from bouquet.api.patient import DEMO_PATIENTS
from bouquet.testing.fixtures import BouquetClient

SANTONI = DEMO_PATIENTS[3]  # a woman born on 8 July 1985: 41 on the pinned day

SEASON_FROM_OCTOBER_1 = {
    "id": "grippe-65-ans", "version": "2026.1", "title": "Grippe : campagne régionale avancée au 1er octobre",
    "category": "vaccination", "population": {"age": {"min": 65}},
    "schedule": {"kind": "seasonal", "season_start": "08-01", "campaign_start": "10-01", "campaign_end": "02-28"},
    "satisfied_by": ["grippe"], "wording": {"summary": "Vaccination contre la grippe (campagne régionale)"},
    "sources": [{"title": "Campagne régionale de vaccination 2026-2027", "publisher": "ARS (exemple)", "year": 2026,
                 "url": "https://ars.example.fr/campagne-grippe"}],
    "verified": "Test data.",
}
NEW_RULE = SEASON_FROM_OCTOBER_1 | {
    "id": "campagne-grippe-60-64", "title": "Grippe des 60-64 ans (campagne régionale)",
    "population": {"age": {"min": 60, "max": 65}},
}


class Campaign:
    """A region's campaign: one rule replaced, one added, one withdrawn."""

    @hookimpl
    def prevention_rules(self) -> list[Any]:
        return [SEASON_FROM_OCTOBER_1, NEW_RULE, {"withdraw": "mon-bilan-prevention", "reason": "démonstration"}]


class BrokenCampaign:
    @hookimpl
    def prevention_rules(self) -> list[Any]:
        return [NEW_RULE | {"satisfied_by": ["vaccin-inconnu"]}]


class FakeDmp:
    """What the DMP plugin will do: give the vaccinations and the conditions it knows."""

    @hookimpl
    async def prevention_external_acts(self, ctx: Any, patient: Any) -> list[Any]:
        await asyncio.sleep(0)
        assert patient.ins == SANTONI.ins and ctx.account is not None
        return [{"code": "grippe", "performed_on": "2026-10-20"}, Act("zona-Shingrix", date(2026, 1, 5)),
                {"code": "vaccin-inconnu", "performed_on": "2026-01-01"}, {"code": "dTP", "performed_on": "hier"}]

    @hookimpl
    def prevention_conditions(self, patient: Any) -> list[str]:
        return ["diabete", "pas-une-condition"]


class FailingDmp:
    @hookimpl
    def prevention_external_acts(self) -> list[Any]:
        raise RuntimeError("DMP indisponible")


class SlowDmp:
    @hookimpl
    async def prevention_external_acts(self) -> list[Any]:
        await asyncio.sleep(5)
        return [{"code": "grippe", "performed_on": "2026-10-20"}]


class WrongSignature:
    @hookimpl
    def prevention_conditions(self, ctx: Any, patient: Any, colour: str) -> list[str]:
        return []


@pytest.fixture
def portal(make_app: Any, doctor: Any, today: date) -> Iterator[Any]:
    """`portal(*plugins)`: a signed-in client of an app with these extra plugins, a patient open."""
    with ExitStack() as stack:
        def make(*extra: tuple[str, object], patient: Any = SANTONI) -> BouquetClient:
            # Entering the client runs the lifespan: bouquet_startup registers the prevention_* specs.
            client = stack.enter_context(BouquetClient(make_app(extra_plugins=list(extra)),
                                                       base_url="http://testserver.local", follow_redirects=False))
            client.login(doctor)
            open_patient(client, patient)
            return client

        yield make


def outcomes(client: Any) -> dict[str, dict[str, Any]]:
    response = client.get("/p/prevention/patient.json?all=1")
    assert response.status_code == 200, response.text
    return {outcome["rule"]: outcome for outcome in response.json()["outcomes"]}


def test_a_campaign_plugin_replaces_adds_and_withdraws_rules(portal: Any) -> None:
    client = portal(("campaign", Campaign()), patient=DEMO_PATIENTS[0])  # MARTIN, 66
    ruleset = rules_for(client.app.state.plugins)
    assert ruleset.get("grippe-65-ans").version == "2026.1"
    assert ruleset.origins["grippe-65-ans"] == "plugin campaign" and ruleset.origins["hpv"] == "vaccinations.yaml"
    assert ruleset.get("campagne-grippe-60-64") is not None and ruleset.get("mon-bilan-prevention") is None
    assert ruleset.withdrawn == {"mon-bilan-prevention": "plugin campaign: démonstration"}
    found = outcomes(client)
    assert (found["grippe-65-ans"]["status"], found["grippe-65-ans"]["since"]) == ("due", "2026-10-01")
    assert found["campagne-grippe-60-64"]["status"] == "not_applicable"
    assert "mon-bilan-prevention" not in found


def test_a_broken_contribution_is_refused_and_logged_and_the_shipped_rules_still_apply(
        portal: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="bouquet.prevention"):
        client = portal(("broken", BrokenCampaign()))
    ruleset = rules_for(client.app.state.plugins)
    [refused] = ruleset.refused
    assert (refused.source, refused.rule, refused.field) == ("plugin broken", "campagne-grippe-60-64", "satisfied_by[0]")
    assert "prevention rules from plugin broken refused" in caplog.text
    assert ruleset.get("campagne-grippe-60-64") is None and ruleset.get("grippe-65-ans").version == "2025.1"


def test_acts_and_conditions_from_another_plugin_count(portal: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bouquet.prevention"):
        client = portal(("fake_dmp", FakeDmp()))
        found = outcomes(client)
        panel = client.get("/p/prevention/panel", headers={"HX-Request": "true"}).text
        conditions = client.get("/p/prevention/conditions").text
    assert "Facteurs de risque pris en compte : Diabète" in panel
    assert "transmis par un autre service" in conditions
    assert found["grippe-risque"]["status"] == "done" and found["grippe-risque"]["last"] == "2026-10-20"
    assert found["pneumocoque-risque"]["status"] == "due"          # diabete, from prevention_conditions
    assert found["zona-immunodepression"]["status"] == "not_applicable"
    assert "plugin fake_dmp returned a prevention act Bouquet cannot use" in caplog.text
    assert "pas-une-condition" in caplog.text


def test_a_failing_or_slow_plugin_is_skipped(portal: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hooks, "EXTERNAL_TIMEOUT_SECONDS", 0.2)
    client = portal(("failing", FailingDmp()), ("slow", SlowDmp()))
    found = outcomes(client)
    assert found["grippe-risque"]["status"] == "not_applicable"  # no condition known, no act known
    info = client.app.state.plugins.info
    assert info["failing"].failures == {"prevention_external_acts": 1}
    assert info["slow"].failures == {"prevention_external_acts": 1}


def test_the_specifications_are_registered_at_startup_and_a_wrong_signature_is_ignored(
        portal: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="bouquet.prevention"):
        client = portal(("wrong", WrongSignature()))
    pm = client.app.state.plugins.pm
    assert all(getattr(pm.hook, name).spec is not None for name in HOOK_NAMES)
    assert "implements prevention_conditions with arguments the hook does not have" in caplog.text
    register_hookspecs(pm)  # again: a no-op
    assert outcomes(client)["hpv"]["status"] == "not_applicable"  # the page still works

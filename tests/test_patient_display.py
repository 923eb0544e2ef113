"""The banner's French words for a patient."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from bouquet.patient.demo import DEMO_PATIENTS
from bouquet.patient.display import age_label, group_matricule, patient_display
from bouquet.patient.ins import OID_NIR_DEMO, Ins

MARTIN, CHILD, ELDER, SANTONI, NDIAYE = DEMO_PATIENTS


def test_a_woman_with_a_test_ins():
    shown = patient_display(replace(MARTIN, source="Logiciel X", established_at=datetime(2026, 7, 1, 12, 5, tzinfo=UTC)),
                            today=date(2026, 11, 28))
    assert (shown.birth_name, shown.given_names, shown.short_name) == ("MARTIN", "Marie Claire", "MARTIN Marie")
    assert (shown.sex_label, shown.born_label, shown.age_label) == ("Féminin", "Née le 02/10/1960", "66 ans")
    assert shown.ins == "2 60 10 69 123 045 58"
    assert (shown.ins_kind, shown.oid_label) == ("NIR", "NIR de test")
    assert shown.fictitious_label == "Patient fictif : INS de test"
    assert shown.birthplace_label == "Commune de naissance : code INSEE 69123"
    assert shown.source_label == "Logiciel X"
    assert shown.established_label == "le 01/07/2026 à 14:05"  # Paris summer time
    assert "MARTIN" not in repr(shown)  # reprs reach logs


def test_born_abroad_demo_ins_and_manual_source():
    demo = replace(NDIAYE, ins=Ins(NDIAYE.ins.matricule, OID_NIR_DEMO), source="manual")
    shown = patient_display(demo, today=date(2026, 11, 28))
    assert shown.birthplace_label == "Née à l'étranger (pays, code INSEE 99341)"
    assert shown.fictitious_label == "Patient fictif : INS de démonstration"
    assert shown.source_label == "saisie manuelle" and shown.established_label is None
    assert shown.given_names == "Aminata Fatou" and shown.short_name == "N'DIAYE Aminata"


def test_a_man():
    shown = patient_display(ELDER, today=date(2026, 11, 28))
    assert (shown.sex_label, shown.born_label, shown.given_names) == ("Masculin", "Né le 25/01/1942", "Jean Pierre Andre")


@pytest.mark.parametrize(("born", "today", "label"), [
    (date(2019, 4, 17), date(2026, 11, 28), "7 ans"),
    (date(2024, 11, 28), date(2026, 11, 28), "2 ans"),
    (date(2024, 11, 29), date(2026, 11, 28), "23 mois"),
    (date(2026, 10, 28), date(2026, 11, 28), "1 mois"),
    (date(2026, 11, 1), date(2026, 11, 28), "moins d'un mois"),
])
def test_age_label(born, today, label):
    assert age_label(born, today) == label


def test_group_matricule_keeps_corsica():
    assert group_matricule("285072A00411249") == "2 85 07 2A 004 112 49"


@pytest.mark.parametrize(("status", "label", "shared"), [
    ("qualifiee", "Identité qualifiée", True),
    ("validee", "Identité validée", False),
    ("recuperee", "Identité récupérée", False),
    ("provisoire", "Identité provisoire", False),
    (None, "Statut de l'identité non transmis", False),
])
def test_the_banner_shows_the_identity_status(status, label, shared):
    shown = patient_display(replace(DEMO_PATIENTS[0], identity_status=status), today=date(2026, 11, 28))
    assert (shown.identity_status_label, shown.ins_shared) == (label, shared)

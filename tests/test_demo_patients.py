"""The demonstration patients: valid test INS whose traits agree with the matricule, varied ages."""

from __future__ import annotations

from datetime import date

from bouquet.patient.demo import DEMO_PATIENTS, by_matricule
from bouquet.patient.ins import OID_NIR_TEST, Ins, nir_key
from bouquet.patient.model import PatientContext


def test_every_demo_patient_is_a_valid_test_patient():
    assert len(DEMO_PATIENTS) == 5
    for patient in DEMO_PATIENTS:
        assert patient.ins.oid == OID_NIR_TEST and patient.ins.is_test
        assert int(patient.ins.matricule[13:]) == nir_key(patient.ins.matricule[:13])
        assert PatientContext.from_dict(patient.to_dict()) == patient  # the launch API accepts them as they are
        assert patient.traits.birthplace and patient.ins.department == patient.traits.birthplace[:2]


def test_their_insee_never_change():
    # Plugins key their own demonstration data on these: changing one orphans that data.
    assert [p.ins.matricule for p in DEMO_PATIENTS] == [
        "260106912304558", "119044410923120", "142017511408739", "285072A00411249", "293039934101926"]


def test_ages_are_varied_with_a_child_and_a_66_year_old():
    ages = sorted(p.age(date(2026, 11, 28)) for p in DEMO_PATIENTS)
    assert ages == [7, 33, 41, 66, 84]


def test_by_matricule():
    assert by_matricule(DEMO_PATIENTS[3].ins.matricule) is DEMO_PATIENTS[3]
    assert by_matricule("nope") is None
    assert Ins.parse("2 85 07 2A 004 112 49", OID_NIR_TEST) == DEMO_PATIENTS[3].ins

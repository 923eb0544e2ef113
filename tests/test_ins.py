"""The INS matricule: structure, key, OIDs, normalisation; table-driven and property-based."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bouquet.patient.ins import (
    OID_LABELS,
    OID_NIA,
    OID_NIR,
    OID_NIR_DEMO,
    OID_NIR_TEST,
    Ins,
    InsError,
    nir_key,
    with_key,
)

# Keys written out by hand (not computed) so the key rule itself is under test.
VALID = [
    # matricule, oid, kind, department, what it shows
    ("269054958815780", OID_NIR, "NIR", "49", "the public service-public/INSEE example"),
    ("185057800608491", OID_NIR, "NIR", "78", "man born in Yvelines"),
    ("290112A00412351", OID_NIR, "NIR", "2A", "Corse-du-Sud: 2A read as 19"),
    ("175032B03301273", OID_NIR, "NIR", "2B", "Haute-Corse: 2B read as 18"),
    ("192079935000134", OID_NIA, "NIA", "99", "NIA, born in Morocco (99 350)"),
    ("288029910900551", OID_NIR, "NIR", "99", "born abroad, Germany (99 109)"),
    ("180019741100111", OID_NIR, "NIR", "97", "born in La Réunion (974 11)"),
    ("255062003301722", OID_NIR, "NIR", "20", "born in Corsica before 1976"),
    ("896059910912365", OID_NIA, "NIA", "99", "provisional number, sex digit 8"),
    ("701019935204516", OID_NIA, "NIA", "99", "provisional number, sex digit 7"),
    ("399059921300774", OID_NIR, "NIR", "99", "foreigner being registered, sex digit 3"),
    ("100625699900114", OID_NIR_TEST, "NIR", "56", "conventional month 62, test NIR"),
    ("215401234567893", OID_NIR_DEMO, "NIR", "12", "conventional month 40, demo NIR"),
]


@pytest.mark.parametrize(("matricule", "oid", "kind", "department", "_why"), VALID)
def test_valid_matricules_parse(matricule: str, oid: str, kind: str, department: str, _why: str) -> None:
    ins = Ins.parse(matricule, oid)
    assert str(ins) == ins.matricule == matricule
    assert ins.kind == kind
    assert ins.department == department
    assert ins.key == int(matricule[13:])
    assert ins.system == f"urn:oid:{oid}"
    assert ins.is_test is (oid in (OID_NIR_TEST, OID_NIR_DEMO))
    assert ins.label == OID_LABELS[oid]


@pytest.mark.parametrize(("matricule", "_oid", "_kind", "_department", "_why"), VALID)
def test_with_key_agrees_with_the_written_keys(matricule: str, _oid: str, _kind: str, _department: str, _why: str) -> None:
    assert with_key(matricule[:13]) == matricule
    assert nir_key(matricule[:13]) == int(matricule[13:])


def test_corsica_is_keyed_as_19_and_18() -> None:
    assert nir_key("290112A004123") == nir_key("2901119004123")
    assert nir_key("175032B033012") == nir_key("1750318033012")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2 69 05 49 588 157 80", "269054958815780"),
        ("  2 90 11 2a 004 123 51 ", "290112A00412351"),
        ("1 75 03 2b 033 012\t73", "175032B03301273"),
    ],
)
def test_parse_normalises_spaces_and_corsica_case(raw: str, expected: str) -> None:
    assert Ins.parse(raw, OID_NIR).matricule == expected


def test_parse_accepts_the_urn_form_of_the_oid() -> None:
    assert Ins.parse("269054958815780", "urn:oid:1.2.250.1.213.1.4.8").oid == OID_NIR


@pytest.mark.parametrize(
    ("oid", "kind", "is_test"),
    [(OID_NIR, "NIR", False), (OID_NIA, "NIA", False), (OID_NIR_TEST, "NIR", True), (OID_NIR_DEMO, "NIR", True)],
)
def test_oids(oid: str, kind: str, is_test: bool) -> None:
    ins = Ins.parse("269054958815780", oid)
    assert (ins.kind, ins.is_test) == (kind, is_test)


def test_oid_constants_and_labels() -> None:
    assert OID_NIR == "1.2.250.1.213.1.4.8"
    assert OID_NIA == "1.2.250.1.213.1.4.9"
    assert OID_NIR_TEST == "1.2.250.1.213.1.4.10"
    assert OID_NIR_DEMO == "1.2.250.1.213.1.4.11"
    assert set(OID_LABELS) == {OID_NIR, OID_NIA, OID_NIR_TEST, OID_NIR_DEMO}
    assert OID_LABELS[OID_NIR_DEMO] == "NIR de démonstration"


@pytest.mark.parametrize(
    ("matricule", "sex", "year", "month"),
    [
        ("269054958815780", "F", 69, 5),
        ("185057800608491", "M", 85, 5),
        ("701019935204516", "M", 1, 1),
        ("896059910912365", "F", 96, 5),
        ("100625699900114", "M", 0, None),
        ("215401234567893", "F", 15, None),
    ],
)
def test_traits_encoded_in_the_matricule(matricule: str, sex: str, year: int, month: int | None) -> None:
    ins = Ins.parse(matricule, OID_NIR)
    assert (ins.sex_code, ins.birth_year_2d, ins.birth_month) == (sex, year, month)


ERRORS = [
    # matricule, oid, field, code, words expected in the French message
    ("269054958815781", OID_NIR, "ins", "bad_key", "attendue 80"),
    ("290112A00412350", OID_NIR, "ins", "bad_key", "attendue 51"),
    ("269054958815780", "1.2.250.1.213.1.4.2", "oid", "unknown_oid", "1.2.250.1.213.1.4.2"),
    ("269054958815780", "urn:oid:1.2.3", "oid", "unknown_oid", "1.2.3"),
    ("269054958815780", "", "oid", "missing", "OID"),
    ("269054958815780", None, "oid", "missing", "OID"),
    ("269054958815780", 12, "oid", "wrong_type", "chaîne"),
    ("", OID_NIR, "ins", "missing", "manquant"),
    (None, OID_NIR, "ins", "missing", "manquant"),
    (269054958815780, OID_NIR, "ins", "wrong_type", "chaîne"),
    ("2690549588157", OID_NIR, "ins", "bad_format", "15 caractères"),
    ("2690549588157800", OID_NIR, "ins", "bad_format", "15 caractères"),
    ("26905495881578X", OID_NIR, "ins", "bad_format", "chiffres"),
    ("569054958815780", OID_NIR, "ins", "bad_format", "sexe"),
    ("069054958815780", OID_NIR, "ins", "bad_format", "sexe"),
    ("969054958815780", OID_NIR, "ins", "bad_format", "sexe"),
    ("2690049588157" + "00", OID_NIR, "ins", "bad_format", "mois"),
    ("2691349588157" + "00", OID_NIR, "ins", "bad_format", "mois"),
    ("2694549588157" + "00", OID_NIR, "ins", "bad_format", "mois"),
    ("2690500588157" + "00", OID_NIR, "ins", "bad_format", "département"),
    ("26905A1588157" + "00", OID_NIR, "ins", "bad_format", "département"),
    ("2690549A88157" + "00", OID_NIR, "ins", "bad_format", "commune"),
    ("2690549588B57" + "00", OID_NIR, "ins", "bad_format", "ordre"),
    ("2690549588157A0", OID_NIR, "ins", "bad_format", "clé"),
]


@pytest.mark.parametrize(("matricule", "oid", "field", "code", "words"), ERRORS)
def test_errors_name_the_field_and_reason(matricule: object, oid: object, field: str, code: str, words: str) -> None:
    with pytest.raises(InsError) as caught:
        Ins.parse(matricule, oid)
    assert (caught.value.field, caught.value.code) == (field, code)
    assert words in caught.value.message
    assert str(caught.value) == caught.value.message
    assert caught.value.as_dict() == {"field": field, "code": code, "message": caught.value.message}
    assert isinstance(caught.value, ValueError)


def test_bad_key_message_is_french_and_exact() -> None:
    with pytest.raises(InsError) as caught:
        Ins.parse("185057800608442", OID_NIR)
    assert caught.value.message == "La clé du NIR est incorrecte (attendue 91)."


def test_direct_construction_requires_the_canonical_form() -> None:
    with pytest.raises(InsError) as caught:
        Ins("2 69 05 49 588 157 80", OID_NIR)
    assert caught.value.code == "bad_format"
    with pytest.raises(InsError):
        Ins("290112a00412351", OID_NIR)
    with pytest.raises(InsError) as caught:
        Ins("269054958815780", "urn:oid:" + OID_NIR)
    assert caught.value.code == "unknown_oid"


def test_ins_is_a_hashable_value() -> None:
    a, b = Ins.parse("269054958815780", OID_NIR), Ins.parse("2 69 05 49 588 157 80", OID_NIR)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != Ins.parse("269054958815780", OID_NIR_TEST)
    with pytest.raises(AttributeError):
        a.matricule = "185057800608491"  # type: ignore[misc]


@pytest.mark.parametrize("bad", ["", "123", "26905495881578", "2690549588157X", "26905AB588157", 2690549588157])
def test_key_helpers_refuse_what_they_cannot_compute(bad: object) -> None:
    with pytest.raises(InsError) as caught:
        nir_key(bad)  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.code) == ("ins", "bad_format")


def test_with_key_checks_the_structure() -> None:
    nir_key("5690549588157")  # computable…
    with pytest.raises(InsError) as caught:
        with_key("5690549588157")  # …but no such sex digit
    assert caught.value.code == "bad_format"


# --- properties -------------------------------------------------------------------------

_two = st.integers(0, 99).map("{:02d}".format)
_three = st.integers(0, 999).map("{:03d}".format)
_month = st.one_of(st.integers(1, 12), st.integers(20, 42), st.integers(50, 99)).map("{:02d}".format)
_department = st.one_of(st.integers(1, 99).map("{:02d}".format), st.sampled_from(["2A", "2B"]))
first13s = st.builds(
    lambda *parts: "".join(parts), st.sampled_from("123478"), _two, _month, _department, _three, _three
)
oids = st.sampled_from(sorted(OID_LABELS))


@given(first13s, oids)
def test_any_valid_body_with_its_key_parses(first13: str, oid: str) -> None:
    ins = Ins.parse(with_key(first13), oid)
    assert ins.matricule[:13] == first13
    assert 1 <= ins.key <= 97


@given(first13s, st.data())
@settings(max_examples=300)
def test_any_single_digit_change_is_rejected(first13: str, data: st.DataObject) -> None:
    matricule = with_key(first13)
    positions = [i for i, c in enumerate(matricule) if c.isdigit()]
    i = data.draw(st.sampled_from(positions), label="position")
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != matricule[i]]), label="digit")
    changed = matricule[:i] + digit + matricule[i + 1 :]
    with pytest.raises(InsError) as caught:
        Ins.parse(changed, OID_NIR)
    assert caught.value.field == "ins"
    assert caught.value.code in ("bad_key", "bad_format")


@given(first13s, oids, st.booleans())
def test_parse_is_idempotent_through_str(first13: str, oid: str, spaced: bool) -> None:
    matricule = with_key(first13)
    raw = " ".join(matricule[i : i + 3] for i in range(0, 15, 3)).lower() if spaced else matricule
    ins = Ins.parse(raw, oid)
    assert Ins.parse(str(ins), ins.oid) == ins
    assert Ins.parse(str(ins), ins.system) == ins

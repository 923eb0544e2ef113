"""Patient traits and context: launch payload validation, round trip, display, FHIR form."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bouquet.patient.ins import (
    OID_LABELS,
    OID_NIA,
    OID_NIR,
    OID_NIR_DEMO,
    OID_NIR_TEST,
    Ins,
    InsError,
    with_key,
)
from bouquet.patient.model import (
    MIN_BIRTH_DATE,
    PatientContext,
    PatientContextError,
    PatientTraits,
    Sex,
    normalise_name,
)

TODAY = date(2025, 6, 1)
FR_CORE_V2_0203 = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"


def launch(**changes: Any) -> dict[str, Any]:
    """A valid launch payload (man born 12 May 1985 in Achères, 78), with ``changes`` applied; DELETE drops a key."""
    payload: dict[str, Any] = {
        "ins": "1 85 05 78 006 084 91",
        "oid": OID_NIR,
        "birth_name": "Dupont",
        "given_names": "Jean Pierre",
        "birth_date": "1985-05-12",
        "sex": "M",
        "birthplace": "78006",
        "identity_status": "qualifiee",
    }
    for key, value in changes.items():
        if value is DELETE:
            payload.pop(key, None)
        else:
            payload[key] = value
    return payload


DELETE = object()


def test_a_launch_payload_becomes_a_normalised_context() -> None:
    ctx = PatientContext.from_dict(launch(encounter="V-2025-0042", document="urn:uuid:1234"), today=TODAY)
    assert ctx.ins == Ins.parse("185057800608491", OID_NIR)
    assert ctx.traits == PatientTraits("DUPONT", ("JEAN", "PIERRE"), date(1985, 5, 12), Sex.MALE, "78006")
    assert (ctx.encounter, ctx.document, ctx.source, ctx.established_at) == (
        "V-2025-0042", "urn:uuid:1234", "manual", None,
    )
    assert ctx.display_name == "DUPONT Jean"


VALID_CONTEXTS = [
    # payload changes, what it shows
    ({}, "plain NIR"),
    ({"given_names": ["Jean", "Pierre"]}, "first names as a list"),
    ({"sex": "male"}, "FHIR gender accepted"),
    ({"birthplace": None}, "birthplace unknown"),
    ({"birthplace": DELETE}, "birthplace absent"),
    ({"birthplace": ""}, "birthplace empty counts as absent"),
    ({"encounter": "", "document": ""}, "empty optional refs count as absent"),
    ({"ins": "290112A00412351", "sex": "F", "birth_date": "1990-11-03", "birthplace": "2A004"}, "Corse-du-Sud"),
    ({"ins": "2 90 11 2a 004 123 51", "sex": "F", "birth_date": "1990-11-03", "birthplace": "2a004"}, "2a lower case"),
    ({"ins": with_key("2550620033017"), "sex": "F", "birth_date": "1955-06-01", "birthplace": "20033"},
     "born in Corsica before 1976: department 20"),
    ({"ins": "192079935000134", "oid": OID_NIA, "birth_date": "1992-07-30", "birthplace": "99350"}, "NIA, Morocco"),
    ({"ins": "288029910900551", "sex": "F", "birth_date": "1988-02-29", "birthplace": "99109"}, "born abroad"),
    ({"ins": "100625699900114", "oid": OID_NIR_TEST, "birth_date": "2000-09-01"}, "conventional month 62"),
    ({"ins": "896059910912365", "oid": OID_NIA, "sex": "F", "birth_date": "1996-05-12"}, "sex digit 8"),
    ({"birth_date": "1985-05-12", "unexpected": "ignored"}, "unknown keys ignored"),
    ({"source": "weda", "established_at": "2025-05-31T08:30:00+02:00"}, "source and time"),
]


@pytest.mark.parametrize(("changes", "_why"), VALID_CONTEXTS)
def test_valid_contexts(changes: dict[str, Any], _why: str) -> None:
    ctx = PatientContext.from_dict(launch(**changes), today=TODAY)
    assert PatientContext.from_dict(ctx.to_dict(), today=TODAY) == ctx


CONTEXT_ERRORS = [
    # payload changes, field, code
    ({"ins": DELETE}, "ins", "missing"),
    ({"ins": "185057800608492"}, "ins", "bad_key"),
    ({"ins": "1850578006084"}, "ins", "bad_format"),
    ({"oid": "1.2.250.1.213.1.4.2"}, "oid", "unknown_oid"),
    ({"oid": DELETE}, "oid", "missing"),
    ({"birth_name": DELETE}, "birth_name", "missing"),
    ({"birth_name": None}, "birth_name", "missing"),
    ({"birth_name": "   "}, "birth_name", "missing"),
    ({"birth_name": 42}, "birth_name", "wrong_type"),
    ({"birth_name": "Dupont3"}, "birth_name", "bad_characters"),
    ({"birth_name": "Dupont, Jean"}, "birth_name", "bad_characters"),
    ({"birth_name": "Dup@nt"}, "birth_name", "bad_characters"),
    ({"birth_name": "---"}, "birth_name", "bad_characters"),
    ({"birth_name": "Иванов"}, "birth_name", "bad_characters"),
    ({"birth_name": "A" * 201}, "birth_name", "too_long"),
    ({"given_names": DELETE}, "given_names", "missing"),
    ({"given_names": []}, "given_names", "missing"),
    ({"given_names": ""}, "given_names", "missing"),
    ({"given_names": 42}, "given_names", "wrong_type"),
    ({"given_names": ["Jean", 3]}, "given_names", "wrong_type"),
    ({"given_names": ["Jean", ""]}, "given_names", "missing"),
    ({"given_names": "Jean2"}, "given_names", "bad_characters"),
    ({"birth_date": DELETE}, "birth_date", "missing"),
    ({"birth_date": "2023-02-30"}, "birth_date", "impossible_date"),
    ({"birth_date": "1985-13-01"}, "birth_date", "impossible_date"),
    ({"birth_date": "12/05/1985"}, "birth_date", "bad_format"),
    ({"birth_date": "19850512"}, "birth_date", "bad_format"),
    ({"birth_date": "1985-05-12T00:00:00"}, "birth_date", "bad_format"),
    ({"birth_date": 19850512}, "birth_date", "wrong_type"),
    ({"birth_date": "2025-06-02"}, "birth_date", "future_date"),
    ({"birth_date": "1889-12-31"}, "birth_date", "too_old"),
    ({"sex": DELETE}, "sex", "missing"),
    ({"sex": "X"}, "sex", "bad_value"),
    ({"sex": "I"}, "sex", "bad_value"),
    ({"sex": 1}, "sex", "wrong_type"),
    ({"birthplace": "7800"}, "birthplace", "bad_format"),
    ({"birthplace": "780060"}, "birthplace", "bad_format"),
    ({"birthplace": "2C004"}, "birthplace", "bad_format"),
    ({"birthplace": 78006}, "birthplace", "wrong_type"),
    ({"encounter": 12}, "encounter", "wrong_type"),
    ({"encounter": "V\x00"}, "encounter", "bad_characters"),
    ({"encounter": "V" * 257}, "encounter", "too_long"),
    ({"document": ["x"]}, "document", "wrong_type"),
    ({"source": 12}, "source", "wrong_type"),
    ({"established_at": "yesterday"}, "established_at", "bad_format"),
    ({"established_at": "2025-05-31T08:30:00"}, "established_at", "bad_format"),
    ({"established_at": 1717000000}, "established_at", "wrong_type"),
    ({"sex": "F"}, "ins", "traits_mismatch"),
    ({"birth_date": "1986-05-12"}, "ins", "traits_mismatch"),
    ({"birth_date": "1985-06-12"}, "ins", "traits_mismatch"),
    ({"ins": "896059910912365", "oid": OID_NIA, "birth_date": "1996-05-12"}, "ins", "traits_mismatch"),
]


@pytest.mark.parametrize(("changes", "field", "code"), CONTEXT_ERRORS)
def test_context_errors_name_the_field_and_reason(changes: dict[str, Any], field: str, code: str) -> None:
    with pytest.raises(PatientContextError) as caught:
        PatientContext.from_dict(launch(**changes), today=TODAY)
    assert (caught.value.field, caught.value.code) == (field, code)
    assert isinstance(caught.value, InsError)
    assert caught.value.message and caught.value.message[0].isupper() and caught.value.message.endswith(".")


@pytest.mark.parametrize("payload", [None, [], "ins=…", 42])
def test_a_payload_that_is_not_an_object_is_refused(payload: object) -> None:
    with pytest.raises(PatientContextError) as caught:
        PatientContext.from_dict(payload)  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.code) == ("context", "wrong_type")


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"sex": "F"}, "sexe masculin"),
        ({"birth_date": "1986-05-12"}, "année de naissance du matricule INS (85)"),
        ({"birth_date": "1985-06-12"}, "mois de naissance du matricule INS (05)"),
        ({"birth_date": "2023-02-30"}, "« 2023-02-30 » n'existe pas"),
        ({"birth_name": "Dup@nt"}, "caractères refusés : « @ »"),
        ({"birth_name": None}, "« nom de naissance »"),
        ({"ins": "185057800608492"}, "La clé du NIR est incorrecte (attendue 91)."),
    ],
)
def test_messages_are_french_and_precise(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(PatientContextError) as caught:
        PatientContext.from_dict(launch(**changes), today=TODAY)
    assert words in caught.value.message


def test_birth_date_today_and_min_date_are_accepted() -> None:
    born_today = launch(ins=with_key("1250678006084"), birth_date="2025-06-01")
    assert PatientContext.from_dict(born_today, today=TODAY).traits.birth_date == TODAY
    oldest = launch(ins=with_key("1900178006084"), birth_date=MIN_BIRTH_DATE.isoformat())
    assert PatientContext.from_dict(oldest, today=TODAY).traits.birth_date == MIN_BIRTH_DATE


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Dupont", "DUPONT"),
        ("Lefèvre", "LEFEVRE"),
        ("Ñúñez", "NUNEZ"),
        ("François", "FRANCOIS"),
        ("Zoë", "ZOE"),
        ("d’Artagnan", "D'ARTAGNAN"),
        ("Cœur", "COEUR"),
        ("Lætitia", "LAETITIA"),
        ("Łukasz", "LUKASZ"),
        ("Straße", "STRASSE"),
        ("  de  la   Fontaine ", "DE LA FONTAINE"),
        ("Dupont--Durand", "DUPONT--DURAND"),
        ("Jean–Pierre", "JEAN-PIERRE"),
        ("O'NEIL", "O'NEIL"),
    ],
)
def test_name_normalisation(raw: str, expected: str) -> None:
    assert normalise_name(raw, "birth_name") == expected
    assert normalise_name(expected, "birth_name") == expected


def test_first_names_from_a_list_keep_composed_names() -> None:
    traits = PatientTraits("Martin", ["Marie Claire", "Anne"], date(1970, 1, 1), "F")  # type: ignore[arg-type]
    assert traits.given_names == ("MARIE CLAIRE", "ANNE")
    assert traits.first_given_name == "MARIE CLAIRE"


@pytest.mark.parametrize(
    ("value", "sex"), [("M", Sex.MALE), ("f", Sex.FEMALE), ("male", Sex.MALE), (" Female ", Sex.FEMALE)]
)
def test_sex_parse(value: str, sex: Sex) -> None:
    assert Sex.parse(value) is sex
    assert sex.fhir_gender == {"M": "male", "F": "female"}[sex.value]
    assert str(sex) == sex.value


@pytest.mark.parametrize(
    ("birth_name", "given_names", "expected"),
    [
        ("DUPONT", ("JEAN-PIERRE", "MARIE"), "DUPONT Jean-Pierre"),
        ("D'ARTAGNAN", ("CHARLES",), "D'ARTAGNAN Charles"),
        ("MARTIN", ("ANNE SOPHIE",), "MARTIN Anne Sophie"),
    ],
)
def test_display_name(birth_name: str, given_names: tuple[str, ...], expected: str) -> None:
    ctx = PatientContext.from_dict(launch(birth_name=birth_name, given_names=list(given_names)), today=TODAY)
    assert ctx.display_name == expected


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        ("1985-05-12", date(2025, 5, 11), 39),
        ("1985-05-12", date(2025, 5, 12), 40),
        ("1985-05-12", date(1985, 5, 12), 0),
        ("2000-02-29", date(2001, 2, 28), 0),
        ("2000-02-29", date(2001, 3, 1), 1),
        ("2000-02-29", date(2004, 2, 29), 4),
    ],
)
def test_age(born: str, on: date, age: int) -> None:
    ins = with_key(f"1{born[2:4]}{born[5:7]}78006084")
    assert PatientContext.from_dict(launch(ins=ins, birth_date=born), today=TODAY).age(on) == age


@pytest.mark.parametrize("status", ["provisoire", "recuperee", "validee", None])
def test_the_ins_is_shared_only_for_a_qualified_identity(status: str | None) -> None:
    ctx = PatientContext.from_dict(launch(identity_status=status), today=TODAY)
    assert not ctx.ins_shareable
    patient = ctx.to_fhir_patient("p-1")
    assert "identifier" not in patient and "185057800608491" not in json.dumps(patient)
    assert PatientContext.from_dict(launch(), today=TODAY).to_fhir_patient("p-1")["identifier"][0]["value"] == "185057800608491"


def test_an_unknown_identity_status_is_refused() -> None:
    with pytest.raises(PatientContextError) as refused:
        PatientContext.from_dict(launch(identity_status="verifiee"), today=TODAY)
    assert (refused.value.field, refused.value.code) == ("identity_status", "bad_value")


def test_age_before_birth_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        PatientContext.from_dict(launch(), today=TODAY).age(date(1980, 1, 1))


@pytest.mark.parametrize(
    ("oid", "ins", "type_code", "use"),
    [
        (OID_NIR, "185057800608491", "INS-NIR", "official"),
        (OID_NIA, "185057800608491", "INS-NIA", "temp"),
        (OID_NIR_TEST, "185057800608491", "INS-NIR-TEST", "official"),
        (OID_NIR_DEMO, "185057800608491", "INS-NIR-DEMO", "official"),
    ],
)
def test_fhir_patient(oid: str, ins: str, type_code: str, use: str) -> None:
    ctx = PatientContext.from_dict(launch(ins=ins, oid=oid, given_names="Jean Pierre"), today=TODAY)
    patient = ctx.to_fhir_patient("p-1")
    assert json.loads(json.dumps(patient)) == patient
    assert (patient["resourceType"], patient["id"]) == ("Patient", "p-1")
    assert patient["identifier"] == [
        {
            "use": use,
            "type": {"coding": [{"system": FR_CORE_V2_0203, "code": type_code}]},
            "system": f"urn:oid:{oid}",
            "value": "185057800608491",
        }
    ]
    [name] = patient["name"]
    assert (name["use"], name["family"], name["given"]) == ("official", "DUPONT", ["JEAN"])
    assert name["extension"] == [
        {
            "url": "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient-birth-list-given-name",
            "valueString": "JEAN PIERRE",
        }
    ]
    assert (patient["gender"], patient["birthDate"]) == ("male", "1985-05-12")
    [birth_place] = patient["extension"]
    assert birth_place["url"] == "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
    [insee] = birth_place["valueAddress"]["extension"]
    assert insee["url"] == "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code"
    assert insee["valueCoding"]["code"] == "78006"


def test_fhir_patient_without_birthplace_has_no_birthplace_extension() -> None:
    patient = PatientContext.from_dict(launch(birthplace=None), today=TODAY).to_fhir_patient("p-2")
    assert "extension" not in patient


def test_direct_construction_keeps_the_invariants() -> None:
    ctx = PatientContext.from_dict(launch(), today=TODAY)
    for changes, field, code in [
        ({"traits": replace(ctx.traits, sex=Sex.FEMALE)}, "ins", "traits_mismatch"),
        ({"encounter": ""}, "encounter", "missing"),
        ({"source": ""}, "source", "missing"),
        ({"established_at": datetime(2025, 5, 31, 8, 30)}, "established_at", "wrong_type"),
        ({"ins": "185057800608491"}, "ins", "wrong_type"),
    ]:
        with pytest.raises(PatientContextError) as caught:
            replace(ctx, **changes)
        assert (caught.value.field, caught.value.code) == (field, code)
    with pytest.raises(PatientContextError) as caught:
        replace(ctx.traits, birth_date="1985-05-12")
    assert (caught.value.field, caught.value.code) == ("birth_date", "wrong_type")


# --- properties -------------------------------------------------------------------------

_letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyzéèêëàâçîïôöùûüÿœæÉÈÇÔ"
_word = st.text(alphabet=_letters, min_size=1, max_size=12)
_name = st.builds(
    lambda first, rest: first + "".join(sep + word for sep, word in rest),
    _word,
    st.lists(st.tuples(st.sampled_from([" ", "-", "'", "--", "’"]), _word), max_size=3),
)
_ref = st.text(min_size=1, max_size=40).filter(lambda s: not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in s))
_offsets = st.integers(-12 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
_aware_datetimes = st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=_offsets)


@st.composite
def contexts(draw: st.DrawFn) -> PatientContext:
    sex = draw(st.sampled_from(Sex))
    born = draw(st.dates(min_value=MIN_BIRTH_DATE, max_value=TODAY))
    sex_digit = draw(st.sampled_from("137" if sex is Sex.MALE else "248"))
    month = draw(st.one_of(st.just(born.month), st.integers(20, 42), st.integers(50, 99)))
    department = draw(st.one_of(st.integers(1, 99).map("{:02d}".format), st.sampled_from(["2A", "2B"])))
    rest = draw(st.integers(0, 999_999).map("{:06d}".format))
    ins = Ins.parse(with_key(f"{sex_digit}{born.year % 100:02d}{month:02d}{department}{rest}"),
                    draw(st.sampled_from(sorted(OID_LABELS))))
    birthplace = draw(st.one_of(st.none(), st.from_regex(r"(?:\d{2}|2[ABab])\d{3}", fullmatch=True)))
    traits = PatientTraits(draw(_name), draw(st.lists(_name, min_size=1, max_size=4)), born, sex, birthplace)
    return PatientContext(
        ins=ins,
        traits=traits,
        encounter=draw(st.one_of(st.none(), _ref)),
        document=draw(st.one_of(st.none(), _ref)),
        source=draw(st.one_of(st.just("manual"), _ref)),
        established_at=draw(st.one_of(st.none(), _aware_datetimes)),
        identity_status=draw(st.sampled_from([None, "provisoire", "recuperee", "validee", "qualifiee"])),
    )


@given(contexts())
def test_from_dict_inverts_to_dict(ctx: PatientContext) -> None:
    assert PatientContext.from_dict(ctx.to_dict(), today=TODAY) == ctx
    assert PatientContext.from_dict(json.loads(json.dumps(ctx.to_dict())), today=TODAY) == ctx


@given(contexts())
def test_traits_are_canonical(ctx: PatientContext) -> None:
    names = (ctx.traits.birth_name, *ctx.traits.given_names)
    assert all(normalise_name(name, "birth_name") == name for name in names)
    assert ctx.to_fhir_patient("x", include_ins=True)["identifier"][0]["value"] == str(ctx.ins)


def test_reprs_do_not_leak_patient_data() -> None:
    context = PatientContext.from_dict(launch(), today=TODAY)
    text = repr(context) + repr(context.traits) + repr(context.ins) + repr([context])
    assert context.ins.matricule not in text
    assert context.traits.birth_name not in text


def test_coded_conditions_from_the_practice_software_round_trip() -> None:
    ctx = PatientContext.from_dict(launch(), today=TODAY)
    data = ctx.to_dict() | {"conditions": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "J44"}]}
    with_conditions = PatientContext.from_dict(data, today=TODAY)
    assert with_conditions.conditions == (("http://hl7.org/fhir/sid/icd-10", "J44"),)
    assert PatientContext.from_dict(with_conditions.to_dict(), today=TODAY) == with_conditions
    assert "conditions" not in ctx.to_dict()  # absent when there are none


@pytest.mark.parametrize(("conditions", "field"), [
    ("J44", "conditions"),
    (["J44"], "conditions[0]"),
    ([{"system": "http://hl7.org/fhir/sid/icd-10"}], "conditions[0].code"),
    ([{"system": "", "code": "J44"}], "conditions[0].system"),
    ([{"system": "s", "code": "c"}] * 201, "conditions"),
])
def test_malformed_conditions_are_refused_naming_the_item(conditions: Any, field: str) -> None:
    with pytest.raises(PatientContextError) as refused:
        PatientContext.from_dict(launch() | {"conditions": conditions}, today=TODAY)
    assert refused.value.field == field and refused.value.message

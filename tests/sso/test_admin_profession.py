"""The administrator corrects an existing professional's profession and specialty: refused input keeps what was
typed and changes nothing; an accepted change is audited with the old and new values."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bouquet.foundation.audit import AuditEvent
from bouquet.patient.demo import DEMO_PATIENTS
from bouquet.sso.accounts import Account
from bouquet.testing.fixtures import BouquetClient

MARTIN = DEMO_PATIENTS[0]


@pytest.fixture
def admin(make_account):  # noqa: ANN001, ANN201
    return make_account(kind="admin", username="admin", given_name="Camille", family_name="Roux")


@pytest.fixture
def doctor_browser(app):  # noqa: ANN001, ANN201
    with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as browser:
        yield browser


def stored(app, account: Account) -> Account:  # noqa: ANN001
    with app.state.db.session() as session:
        found = session.get(Account, account.id)
        assert found is not None
        return found


def changes(app) -> list[AuditEvent]:  # noqa: ANN001
    with app.state.db.session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == "admin.profession_changed")).all())


def profession(account: Account) -> tuple:
    return account.profession_code, account.profession_label, account.specialty_label, account.specialty_code


def test_a_profession_refused_then_corrected_is_set_audited_and_the_patient_page_stops_warning(
        app, client, admin, make_account, doctor_browser) -> None:
    bare = make_account(given_name="Claire", family_name="Lefèvre", profession_code=None, profession_label=None,
                        profession_category=None)
    doctor_browser.login(bare)
    assert doctor_browser.submit("/patient", {"demo": MARTIN.ins.matricule}).status_code == 303
    assert 'data-testid="missing-profession"' in doctor_browser.get("/patient").text

    client.login(admin)
    page = client.get(f"/admin/accounts/{bare.id}").text
    assert 'data-testid="profession-form"' in page and 'href="#profession"' in page

    # An unknown code (not in TRE_G15's list), a malformed specialty code: every error at once, nothing changed.
    typed = {"profession_code": "99", "specialty_label": "Médecine générale", "specialty_code": "x1",
             "reason": "Profession absente à la création"}
    refused = client.submit(f"/admin/accounts/{bare.id}/profession", typed)
    assert refused.status_code == 400
    assert "Choisissez la profession" in refused.text and "Le code savoir-faire" in refused.text
    assert 'value="Médecine générale"' in refused.text and 'value="x1"' in refused.text
    assert "Profession absente à la création</textarea>" in refused.text
    assert profession(stored(app, bare)) == (None, None, None, None) and changes(app) == []

    # A professional without profession: refused the same way.
    no_profession = client.submit(f"/admin/accounts/{bare.id}/profession", {**typed, "profession_code": "",
                                                                          "specialty_code": ""})
    assert no_profession.status_code == 400 and "Choisissez la profession" in no_profession.text
    assert profession(stored(app, bare)) == (None, None, None, None) and changes(app) == []

    # A doctor without specialty, and no reason.
    no_specialty = client.submit(f"/admin/accounts/{bare.id}/profession", {
        "profession_code": "10", "specialty_label": "", "specialty_code": "SM54", "reason": ""})
    assert no_specialty.status_code == 400
    assert "Indiquez la spécialité" in no_specialty.text and "Indiquez le motif" in no_specialty.text
    assert '<option value="10" selected>' in no_specialty.text and 'value="SM54"' in no_specialty.text
    assert changes(app) == []

    done = client.submit(f"/admin/accounts/{bare.id}/profession", {**typed, "profession_code": "10",
                                                                  "specialty_code": "sm54"})
    assert done.status_code == 303 and done.headers["location"] == f"/admin/accounts/{bare.id}"
    assert profession(stored(app, bare)) == ("10", "Médecin", "Médecine générale", "SM54")
    [event] = changes(app)
    assert event.details["reason"] == "Profession absente à la création"
    assert event.details["old"] == {"profession_code": None, "profession_label": None, "specialty_label": None,
                                    "specialty_code": None}
    assert event.details["new"] == {"profession_code": "10", "profession_label": "Médecin",
                                    "specialty_label": "Médecine générale", "specialty_code": "SM54"}
    shown = client.get(f"/admin/accounts/{bare.id}").text
    assert "La profession est enregistrée : Médecin, Médecine générale." in shown
    assert 'data-testid="missing-profession"' not in shown

    # The doctor's next page no longer says a profession is missing.
    assert 'data-testid="missing-profession"' not in doctor_browser.get("/patient").text


def test_a_profession_is_changed_with_its_old_value_in_the_audit(app, client, admin, make_account) -> None:
    nurse = make_account(profession_code="60", profession_label="Infirmier", profession_category="C")
    done = client.login(admin).submit(f"/admin/accounts/{nurse.id}/profession", {
        "profession_code": "50", "specialty_label": "", "specialty_code": "", "reason": "Erreur de saisie"})
    assert done.status_code == 303
    assert profession(stored(app, nurse)) == ("50", "Sage-femme", None, None)
    [event] = changes(app)
    assert (event.details["old"]["profession_code"], event.details["new"]["profession_code"]) == ("60", "50")

    # The same values again change nothing and write nothing.
    again = client.submit(f"/admin/accounts/{nurse.id}/profession", {
        "profession_code": "50", "specialty_label": "", "specialty_code": "", "reason": "Vérification"})
    assert again.status_code == 303 and len(changes(app)) == 1


def test_an_imported_profession_outside_the_list_is_kept_when_the_specialty_is_corrected(
        app, client, admin, make_account) -> None:
    # The RPPS import brings professions the form's list does not offer (here: audioprothésiste, 26).
    imported = make_account(profession_code="26", profession_label="Audioprothésiste", profession_category="C")
    page = client.login(admin).get(f"/admin/accounts/{imported.id}").text
    assert '<option value="26" selected>Audioprothésiste</option>' in page
    done = client.submit(f"/admin/accounts/{imported.id}/profession", {
        "profession_code": "26", "specialty_label": "Audioprothèse", "specialty_code": "", "reason": "Précision"})
    assert done.status_code == 303
    assert profession(stored(app, imported)) == ("26", "Audioprothésiste", "Audioprothèse", None)
    # Another account cannot be given that code: it is not in the list.
    other = make_account()
    refused = client.submit(f"/admin/accounts/{other.id}/profession", {
        "profession_code": "26", "specialty_label": "", "specialty_code": "", "reason": "Essai"})
    assert refused.status_code == 400 and profession(stored(app, other))[0] == "10"


def test_only_an_administrator_changes_a_profession_and_only_a_professional_has_one(
        app, client, admin, make_account) -> None:
    doctor = make_account()
    secretary = make_account(kind="secretary")
    fields = {"profession_code": "60", "specialty_label": "", "specialty_code": "", "reason": "Essai"}
    assert client.login(doctor).submit(f"/admin/accounts/{doctor.id}/profession", fields).status_code == 403
    assert profession(stored(app, doctor))[0] == "10"

    client.login(admin)
    assert 'data-testid="profession-form"' not in client.get(f"/admin/accounts/{secretary.id}").text
    refused = client.submit(f"/admin/accounts/{secretary.id}/profession", fields)
    assert refused.status_code == 400 and "professionnel de santé" in refused.text
    assert stored(app, secretary).profession_code is None and changes(app) == []

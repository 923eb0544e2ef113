"""The operator's account pages: admin only, every action with a reason, audited."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bouquet.foundation.audit import AuditEvent
from bouquet.sso.accounts import Account
from bouquet.testing.fixtures import BouquetClient


@pytest.fixture
def admin(make_account):  # noqa: ANN001, ANN201
    return make_account(kind="admin", username="admin", given_name="Camille", family_name="Roux")


@pytest.fixture
def doctor(make_account):  # noqa: ANN001, ANN201
    return make_account(given_name="Marie", family_name="Dupont", username="dr.dupont", practice_sites=[
        {"structure_id": "R1", "name": "CABINET DUPONT", "postal_code": "69002", "commune": "Lyon", "mode": "Libéral"}])


@pytest.fixture
def other_browser(app):  # noqa: ANN001, ANN201
    with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as browser:
        yield browser


def stored(app, account: Account) -> Account:  # noqa: ANN001
    with app.state.db.session() as session:
        found = session.get(Account, account.id)
        assert found is not None
        return found


def events(app, action: str) -> list[AuditEvent]:  # noqa: ANN001
    with app.state.db.session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all())


@pytest.mark.parametrize("kind", ["professional", "secretary", "vendor"])
def test_only_administrators_reach_the_pages(client, make_account, doctor, kind: str) -> None:
    client.login(make_account(kind=kind))

    for response in (client.get("/admin/accounts"), client.get(f"/admin/accounts/{doctor.id}"),
                     client.submit(f"/admin/accounts/{doctor.id}/disable", {"reason": "essai"}),
                     client.submit(f"/admin/accounts/{doctor.id}/invite")):
        assert response.status_code == 403
        assert "réservées aux administrateurs" in response.text
    assert stored(client.app, doctor).active and events(client.app, "account.invitation_created") == []


def test_signed_out_visitors_are_sent_to_sign_in(client) -> None:
    response = client.get("/admin/accounts", headers={"accept": "text/html"})

    assert response.status_code == 303 and response.headers["location"].startswith("/authorize?client_id=bouquet-portal&")


def test_the_list_searches_names_usernames_and_rpps(client, admin, doctor, make_account) -> None:
    make_account(kind="secretary", username="sec.bernard", given_name="Sophie", family_name="Bernard")
    client.login(admin)

    by_name = client.get("/admin/accounts", params={"q": "marie dupont"})
    by_rpps = client.get("/admin/accounts", params={"q": doctor.idnat_ps[1:6]})
    by_kind = client.get("/admin/accounts", params={"kind": "secretary"})

    assert by_name.status_code == 200 and "dr.dupont" in by_name.text and "sec.bernard" not in by_name.text
    assert "<caption>1 compte correspondant à la recherche</caption>" in by_name.text
    assert "dr.dupont" in by_rpps.text
    assert "sec.bernard" in by_kind.text and "dr.dupont" not in by_kind.text


def test_the_list_is_paginated(client, admin, make_account) -> None:
    for n in range(30):
        make_account(kind="secretary", username=f"sec{n:02d}", family_name=f"Zed{n:02d}")
    client.login(admin)

    first = client.get("/admin/accounts", params={"kind": "secretary"})
    second = client.get("/admin/accounts", params={"kind": "secretary", "page": "2"})

    assert "page 1 sur 2" in first.text and "sec00" in first.text and "sec29" not in first.text
    assert 'aria-label="Pagination"' in first.text
    assert "sec29" in second.text and "sec00" not in second.text


def test_the_detail_shows_identity_sites_sessions_and_lock(client, admin, doctor, other_browser) -> None:
    other_browser.login(doctor)

    page = client.login(admin).get(f"/admin/accounts/{doctor.id}")

    assert page.status_code == 200
    assert doctor.idnat_ps in page.text and "CABINET DUPONT" in page.text
    assert '<td data-testid="live-sessions">1</td>' in page.text
    assert "Non verrouillée" in page.text
    assert page.text.count('name="csrf_token"') >= 5
    assert client.get("/admin/accounts/999999").status_code == 404


def test_disabling_needs_a_reason_and_changes_nothing_without_one(app, client, admin, doctor) -> None:
    response = client.login(admin).submit(f"/admin/accounts/{doctor.id}/disable", {"reason": "   "})

    assert response.status_code == 400
    assert "Indiquez le motif" in response.text
    assert 'aria-describedby="reason-disable-hint reason-disable-error"' in response.text
    assert stored(app, doctor).active and events(app, "admin.account_disabled") == []


def test_disabling_ends_the_sessions_and_is_audited_with_the_reason(app, client, admin, doctor,
                                                                    other_browser) -> None:
    other_browser.login(doctor)
    assert other_browser.get("/").status_code == 200

    response = client.login(admin).submit(f"/admin/accounts/{doctor.id}/disable",
                                          {"reason": "Départ à la retraite"})

    assert response.status_code == 303
    assert not stored(app, doctor).active and stored(app, doctor).disabled_reason == "Départ à la retraite"
    assert app.state.sessions.live_for(doctor.id) == []
    assert other_browser.get("/", headers={"accept": "text/html"}).status_code == 303  # back to sign-in
    [event] = events(app, "admin.account_disabled")
    assert (event.actor, event.resource) == (admin.label, doctor.label)
    assert event.details == {"reason": "Départ à la retraite", "sessions_ended": 1}

    enabled = client.submit(f"/admin/accounts/{doctor.id}/enable", {"reason": "Reprise d'activité"})
    assert enabled.status_code == 303 and stored(app, doctor).active
    assert events(app, "admin.account_enabled")[0].details == {"reason": "Reprise d'activité"}


def test_an_administrator_cannot_disable_themself(app, client, admin) -> None:
    response = client.login(admin).submit(f"/admin/accounts/{admin.id}/disable", {"reason": "erreur"})

    assert response.status_code == 400 and stored(app, admin).active


def test_ending_all_sessions(app, client, admin, doctor, other_browser) -> None:
    other_browser.login(doctor)

    response = client.login(admin).submit(f"/admin/accounts/{doctor.id}/end-sessions",
                                          {"reason": "Poste volé"})

    assert response.status_code == 303
    assert app.state.sessions.live_for(doctor.id) == [] and stored(app, doctor).active
    assert events(app, "admin.sessions_ended")[0].details == {"reason": "Poste volé", "sessions_ended": 1}


def test_resetting_factors_deletes_them_and_is_audited(app, client, admin, doctor, other_browser) -> None:
    from bouquet.sso import factors, recovery, totp

    with app.state.db.write() as session:
        totp.add(session, doctor.id, totp.new_secret(), secret_key=app.state.settings.secret_key)
        recovery.issue_codes(session, doctor.id)
    other_browser.login(doctor)

    refused = client.login(admin).submit(f"/admin/accounts/{doctor.id}/reset-factors", {"reason": ""})
    with app.state.db.session() as session:
        assert factors.has_second_factor(session, doctor.id)
    assert refused.status_code == 400

    response = client.submit(f"/admin/accounts/{doctor.id}/reset-factors",
                             {"reason": "Téléphone perdu, identité vérifiée par téléphone"})

    assert response.status_code == 303
    with app.state.db.session() as session:
        assert not factors.has_second_factor(session, doctor.id)
        assert recovery.remaining(session, doctor.id) == 0
    assert app.state.sessions.live_for(doctor.id) == []
    [event] = events(app, "admin.factors_reset")
    assert event.actor == admin.label and event.resource == doctor.label
    assert event.details["reason"] == "Téléphone perdu, identité vérifiée par téléphone"
    assert event.details["deleted"] == {"bouquet.sso.totp": 1, "bouquet.sso.recovery": 10,
                                        "bouquet.sso.webauthn": 0}


def test_unlocking_clears_the_guess_counters(app, client, admin, doctor) -> None:
    from bouquet.sso import throttle

    with app.state.db.write() as session:
        session.add(throttle.GuessCounter(scope=throttle.PASSWORD, key=throttle.account_key(doctor.id), failures=4))
    page = client.login(admin).get(f"/admin/accounts/{doctor.id}")
    assert "Déverrouiller la connexion" in page.text

    response = client.submit(f"/admin/accounts/{doctor.id}/unlock", {"reason": "Appel de la personne"})

    assert response.status_code == 303
    with app.state.db.session() as session:
        assert throttle.lock_status(session, doctor.id).failures == {}
    assert events(app, "admin.account_unlocked")[0].details == {"reason": "Appel de la personne",
                                                                "counters_cleared": 1}


def test_an_invitation_made_on_the_admin_page_works(app, client, admin, doctor, other_browser) -> None:
    page = client.login(admin).submit(f"/admin/accounts/{doctor.id}/invite")

    assert page.status_code == 200 and 'data-testid="invitation-link"' in page.text
    link = page.text.split('id="invitation-url" value="', 1)[1].split('"', 1)[0]
    assert link.startswith("http://testserver/invitation/")
    assert other_browser.get(link.removeprefix("http://testserver")).status_code == 200
    [event] = events(app, "account.invitation_created")
    assert (event.actor, event.resource) == (admin.label, doctor.label)


def test_creating_a_secretary_account(app, client, admin) -> None:
    client.login(admin)
    bad = client.submit("/admin/accounts/new", {"kind": "secretary", "username": "Sophie B", "given_name": "",
                                                "family_name": "Bernard"})
    assert bad.status_code == 400
    assert 'aria-describedby="username-hint username-error"' in bad.text and "Indiquez le prénom." in bad.text

    response = client.submit("/admin/accounts/new", {"kind": "secretary", "username": "Sec.Bernard",
                                                     "given_name": "Sophie", "family_name": "Bernard"})

    assert response.status_code == 303
    with app.state.db.session() as session:
        created = session.exec(select(Account).where(Account.username == "sec.bernard")).one()
    assert created.kind == "secretary" and created.password_hash is None
    assert events(app, "admin.account_created")[0].resource == created.label
    taken = client.submit("/admin/accounts/new", {"kind": "secretary", "username": "sec.bernard",
                                                  "given_name": "S", "family_name": "B"})
    assert taken.status_code == 400 and "déjà utilisé" in taken.text


def test_a_vendor_needs_a_valid_siren(client, admin) -> None:
    response = client.login(admin).submit("/admin/accounts/new", {
        "kind": "vendor", "username": "editeur", "given_name": "Paul", "family_name": "Lambert",
        "organisation": "Éditions", "siren": "123456789"})

    assert response.status_code == 400 and "dont le dernier est la clé de contrôle" in response.text


def test_a_coordination_account_needs_its_organisation(app, client, admin) -> None:
    client.login(admin)
    form = {"kind": "coordination", "username": "ines.faure", "given_name": "Inès", "family_name": "Faure"}
    refused = client.submit("/admin/accounts/new", form)
    assert refused.status_code == 400 and "Indiquez l&#39;organisation de la personne" in refused.text
    assert 'value="ines.faure"' in refused.text
    assert client.submit("/admin/accounts/new", {**form, "organisation": "DAC Rhône"}).status_code == 303
    with app.state.db.session() as session:
        created = session.exec(select(Account).where(Account.username == "ines.faure")).one()
    assert (created.kind, created.organisation, created.idnat_ps) == ("coordination", "DAC Rhône", None)
    assert created.kind_label == "Coordination (social, médico-social, aidant)"


@pytest.mark.browser
def test_admin_pages_and_invitation_in_a_browser(page, live_server, browser, admin, doctor) -> None:  # noqa: ANN001
    from bouquet.testing.browser import assert_accessible
    from bouquet.testing.fixtures import signed_in_session
    from bouquet.web.sessions import cookie_name

    signed_in = signed_in_session(live_server.app, admin)
    page.context.add_cookies([{"name": cookie_name(False), "value": signed_in.new_token, "url": live_server.url}])

    page.goto("/admin/accounts")
    page.get_by_label("Rechercher").fill("dupont")
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_role("link", name="Dupont Marie").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Dr Marie Dupont"
    page.get_by_role("button", name="Désactiver le compte").click()  # no reason: refused, explained
    assert page.get_by_text("Indiquez le motif de cette action").is_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Créer une invitation").click()
    link = page.get_by_label("Lien d'invitation").input_value()
    assert_accessible(page)
    page.goto("/admin/accounts")
    assert_accessible(page)

    invited = browser.new_context(base_url=live_server.url, locale="fr-FR")
    try:
        invitee = invited.new_page()
        invitee.goto(link)
        assert invitee.get_by_test_id("invited-username").inner_text() == "dr.dupont"
        assert_accessible(invitee)
        invitee.get_by_role("textbox", name="Mot de passe Au moins 12 caractères", exact=False).fill("court")
        invitee.get_by_role("textbox", name="Confirmation du mot de passe", exact=False).fill("court")
        invitee.get_by_role("button", name="Enregistrer et continuer").click()
        assert invitee.get_by_text("au moins 12 caractères").first.is_visible()
        assert_accessible(invitee)
        invitee.locator("#password").fill("une phrase de passe assez longue")
        invitee.locator("#confirmation").fill("une phrase de passe assez longue")
        invitee.get_by_role("button", name="Enregistrer et continuer").click()
        invitee.wait_for_url("**/enrol**")
        invitee.goto(link)
        assert "déjà été utilisé" in invitee.get_by_test_id("invitation-gone").inner_text()
        assert_accessible(invitee)
    finally:
        invited.close()


def test_a_professional_needs_a_profession_and_a_doctor_a_specialty(app, client, admin) -> None:
    client.login(admin)
    typed = {"kind": "professional", "username": "dr.lefevre", "given_name": "Claire", "family_name": "Lefèvre",
             "email": "claire.lefevre@example.org", "idnat_ps": "899900000029"}
    refused = client.submit("/admin/accounts/new", typed)
    assert refused.status_code == 400 and "Choisissez la profession" in refused.text
    # Everything typed is still there: nothing to retype but what was missing.
    for value in ("dr.lefevre", "Claire", "Lefèvre", "claire.lefevre@example.org", "899900000029"):
        assert f'value="{value}"' in refused.text, value
    assert '<option value="professional" selected>' in refused.text

    no_specialty = client.submit("/admin/accounts/new", {**typed, "profession_code": "10"})
    assert no_specialty.status_code == 400 and "Indiquez la spécialité" in no_specialty.text
    assert '<option value="10" selected>' in no_specialty.text

    done = client.submit("/admin/accounts/new", {**typed, "profession_code": "10", "specialty_label": "Médecine générale",
                                                 "specialty_code": "sm54"})
    assert done.status_code == 303
    with app.state.db.session() as session:
        created = session.exec(select(Account).where(Account.username == "dr.lefevre")).one()
    assert (created.profession_code, created.profession_label, created.specialty_label, created.specialty_code) == (
        "10", "Médecin", "Médecine générale", "SM54")
    shown = client.get(f"/admin/accounts/{created.id}").text
    assert "Médecin (10)" in shown and 'data-testid="missing-profession"' not in shown


def test_a_username_may_not_be_someone_elses_idnat(client, admin, doctor) -> None:
    response = client.login(admin).submit("/admin/accounts/new", {
        "kind": "secretary", "username": doctor.idnat_ps, "given_name": "Sophie", "family_name": "Bernard"})
    assert response.status_code == 400 and "réservé au professionnel" in response.text


def test_a_professional_without_profession_is_told_why_and_so_is_the_administrator(app, client, admin, make_account) -> None:
    bare = make_account(profession_code=None, profession_label=None)
    shown = client.login(admin).get(f"/admin/accounts/{bare.id}").text
    assert 'data-testid="missing-profession"' in shown


def test_a_refused_reason_is_kept_to_be_shortened(client, admin, doctor) -> None:
    reason = "Départ du cabinet " * 30
    refused = client.login(admin).submit(f"/admin/accounts/{doctor.id}/disable", {"reason": reason})
    assert refused.status_code == 400 and "ne doit pas dépasser 500" in refused.text
    assert " ".join(reason.split()) in refused.text

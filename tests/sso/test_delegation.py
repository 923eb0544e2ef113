"""Delegation: a professional lets a secretary act for them; revoking stops it at once."""

from __future__ import annotations

import pytest
from sqlmodel import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bouquet import Action, get_context, hookimpl
from bouquet.foundation.audit import AuditEvent
from bouquet.sso.authz import Permissions
from bouquet.sso.delegation import Delegation
from bouquet.web.sessions import WebSession


async def _book(request: Request) -> Response:
    ctx = get_context(request)
    if not ctx.can("office.book"):
        raise HTTPException(403)
    await ctx.audit.log("office.appointment_booked", resource="appointment:1")
    return PlainTextResponse("réservé")


async def _notes(request: Request) -> Response:
    if not get_context(request).can("office.read_notes"):
        raise HTTPException(403)
    return PlainTextResponse("notes cliniques")


class OfficePlugin:
    """A plugin with one administrative action (secretaries allowed) and one clinical action."""

    @hookimpl
    def bouquet_actions(self) -> list[Action]:
        return [Action("office.book", "Prendre un rendez-vous", secretary=True),
                Action("office.read_notes", "Lire les notes cliniques")]

    @hookimpl
    def bouquet_routes(self) -> list[Route]:
        return [Route("/book", _book, methods=["POST"]), Route("/notes", _notes)]


@pytest.fixture
def app(make_app):  # noqa: ANN001, ANN201
    return make_app(extra_plugins=[("office", OfficePlugin())])


@pytest.fixture
def doctor(make_account):  # noqa: ANN001, ANN201
    return make_account(given_name="Marie", family_name="Dupont")


@pytest.fixture
def secretary(make_account):  # noqa: ANN001, ANN201
    return make_account(kind="secretary", username="sec.bernard", given_name="Sophie", family_name="Bernard")


def grant(app, doctor, secretary) -> None:  # noqa: ANN001
    from bouquet.sso.delegation import grant as do_grant

    with app.state.db.write() as session:
        do_grant(session, doctor, secretary)


def delegations(app) -> list[Delegation]:  # noqa: ANN001
    with app.state.db.session() as session:
        return list(session.exec(select(Delegation)).all())


def events(app, action: str) -> list[AuditEvent]:  # noqa: ANN001
    with app.state.db.session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all())


def test_a_professional_grants_a_delegation_by_username(app, client, doctor, secretary) -> None:
    client.login(doctor)

    response = client.submit("/account/delegations", {"delegate": "  SEC.Bernard "})

    assert response.status_code == 303
    [delegation] = delegations(app)
    assert (delegation.principal_id, delegation.delegate_id, delegation.revoked_at) == (doctor.id, secretary.id, None)
    [granted] = events(app, "delegation.granted")
    assert (granted.actor, granted.resource) == (doctor.label, secretary.label)
    page = client.get("/account/delegations")
    assert "Sophie Bernard" in page.text and "<caption>Personnes qui peuvent agir pour vous</caption>" in page.text


def test_the_page_finds_secretaries_by_name(client, doctor, secretary, make_account) -> None:
    make_account(given_name="Paul", family_name="Bernardin")  # a professional: never offered

    page = client.login(doctor).get("/account/delegations", params={"q": "bernard"})

    assert page.status_code == 200
    assert page.text.count('type="hidden" name="delegate"') == 1 and 'value="sec.bernard"' in page.text


@pytest.mark.parametrize(("target", "message"), [
    ("nobody", "Aucun compte de secrétaire ne porte cet identifiant."),
    ("", "Indiquez l&#39;identifiant du compte de secrétaire."),
])
def test_a_bad_delegate_is_refused_with_a_message(app, client, doctor, target: str, message: str) -> None:
    response = client.login(doctor).submit("/account/delegations", {"delegate": target})

    assert response.status_code == 400
    assert message in response.text and 'aria-describedby="delegate-hint delegate-error"' in response.text
    assert delegations(app) == []


def test_only_a_secretary_can_receive_a_delegation(app, client, doctor, make_account) -> None:
    colleague = make_account(username="dr.autre")

    response = client.login(doctor).submit("/account/delegations", {"delegate": "dr.autre"})

    assert response.status_code == 400 and "compte de secrétaire" in response.text
    assert delegations(app) == [] and colleague.id


def test_granting_twice_is_refused(app, client, doctor, secretary) -> None:
    grant(app, doctor, secretary)

    response = client.login(doctor).submit("/account/delegations", {"delegate": "sec.bernard"})

    assert response.status_code == 400 and "agit déjà pour vous" in response.text
    assert len(delegations(app)) == 1


def test_only_professionals_manage_delegations(client, secretary, make_account) -> None:
    assert client.login(secretary).get("/account/delegations").status_code == 403
    assert client.login(make_account(kind="admin")).get("/account/delegations").status_code == 403
    assert client.login(make_account()).get("/acting-for").status_code == 403


def test_a_secretary_with_one_principal_acts_for_them_without_choosing(app, client, doctor, secretary) -> None:
    grant(app, doctor, secretary)

    home = client.login(secretary).get("/")

    assert home.status_code == 200 and "Vous agissez pour Dr Marie Dupont" in home.text
    with app.state.db.session() as session:
        row = session.exec(select(WebSession).where(WebSession.account_id == secretary.id)).one()
    assert row.acting_for_id == doctor.id
    [selected] = events(app, "delegation.acting_for_selected")
    assert (selected.actor, selected.acting_for, selected.details) == (
        secretary.label, doctor.label, {"automatic": True})


def test_what_a_secretary_does_is_audited_with_both_names(app, client, doctor, secretary) -> None:
    client.login(secretary, acting_for=doctor)

    response = client.submit("/p/office/book")

    assert response.status_code == 200
    [booked] = events(app, "office.appointment_booked")
    assert (booked.actor, booked.acting_for) == (secretary.label, doctor.label)


def test_a_secretary_never_gets_a_clinical_action(app, client, doctor, secretary) -> None:
    client.login(secretary, acting_for=doctor)

    assert client.get("/p/office/notes").status_code == 403
    assert client.login(doctor).get("/p/office/notes").status_code == 200


def test_secretaries_only_get_administrative_actions_of_their_principal(doctor, secretary, make_account) -> None:
    permissions = Permissions([
        Action("office.book", "Prendre un rendez-vous", secretary=True),
        Action("office.read_notes", "Lire les notes cliniques"),
        Action("pharmacy.order", "Commander", professions=frozenset({"21"}), secretary=True),
    ])
    assert permissions.allows(secretary, "office.book", acting_for=doctor)
    assert not permissions.allows(secretary, "office.book")  # acting for nobody
    assert not permissions.allows(secretary, "office.read_notes", acting_for=doctor)
    assert not permissions.allows(secretary, "pharmacy.order", acting_for=doctor)  # the doctor may not either
    assert permissions.allows(doctor, "office.read_notes")


def test_revoking_stops_the_secretary_at_once(app, client, doctor, secretary) -> None:
    from bouquet.testing.fixtures import BouquetClient

    client.login(secretary, acting_for=doctor)
    assert client.submit("/p/office/book").status_code == 200
    with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as doctors_browser:
        doctors_browser.login(doctor)
        [delegation] = delegations(app)
        revoked = doctors_browser.submit(f"/account/delegations/{delegation.id}/revoke")
    assert revoked.status_code == 303

    refused = client.submit("/p/office/book")
    home = client.get("/")

    assert refused.status_code == 403
    assert home.status_code == 303 and home.headers["location"] == "/acting-for"
    page = client.get("/acting-for")
    assert "Aucun professionnel ne vous a délégué" in page.text
    assert len(events(app, "office.appointment_booked")) == 1
    [event] = events(app, "delegation.revoked")
    assert (event.actor, event.resource) == (doctor.label, secretary.label)


def test_a_disabled_principal_stops_the_secretary_too(app, client, doctor, secretary) -> None:
    from sqlalchemy import update

    from bouquet.foundation.db import utcnow
    from bouquet.sso.accounts import Account

    client.login(secretary, acting_for=doctor)
    with app.state.db.session() as session:
        session.execute(update(Account).where(Account.id == doctor.id).values(disabled_at=utcnow()))

    assert client.submit("/p/office/book").status_code == 403


def test_revoking_someone_elses_delegation_is_not_found(app, client, doctor, secretary, make_account) -> None:
    grant(app, doctor, secretary)
    [delegation] = delegations(app)

    response = client.login(make_account()).submit(f"/account/delegations/{delegation.id}/revoke")

    assert response.status_code == 404 and delegations(app)[0].revoked_at is None


def test_a_secretary_with_several_principals_chooses(app, client, doctor, secretary, make_account) -> None:
    nurse = make_account(given_name="Paul", family_name="Leroy", profession_code="60", profession_label="Infirmier")
    grant(app, doctor, secretary)
    grant(app, nurse, secretary)
    client.login(secretary)

    home = client.get("/")
    page = client.get("/acting-for")
    chosen = client.submit("/acting-for", {"principal": str(nurse.id)})

    assert home.status_code == 303 and home.headers["location"] == "/acting-for"
    assert "Dr Marie Dupont" in page.text and "Paul Leroy" in page.text
    assert chosen.status_code == 303
    assert "Vous agissez pour Paul Leroy" in client.get("/").text
    [event] = events(app, "delegation.acting_for_selected")
    assert (event.acting_for, event.details) == (nurse.label, {"automatic": False})


def test_a_secretary_cannot_choose_someone_who_did_not_delegate(app, client, doctor, secretary,
                                                                  make_account) -> None:
    grant(app, doctor, secretary)
    stranger = make_account()

    response = client.login(secretary).submit("/acting-for", {"principal": str(stranger.id)})

    assert response.status_code == 400 and "Choisissez l&#39;un des professionnels" in response.text
    with app.state.db.session() as session:
        row = session.exec(select(WebSession).where(WebSession.account_id == secretary.id)).one()
    assert row.acting_for_id != stranger.id


def test_regranting_after_a_revocation_reopens_the_delegation(app, client, doctor, secretary) -> None:
    grant(app, doctor, secretary)
    client.login(doctor)
    client.submit(f"/account/delegations/{delegations(app)[0].id}/revoke")

    response = client.submit("/account/delegations", {"delegate": "sec.bernard"})

    assert response.status_code == 303
    [delegation] = delegations(app)
    assert delegation.revoked_at is None


@pytest.mark.browser
def test_delegation_pages_in_a_browser(page, live_server, doctor, secretary, make_account) -> None:  # noqa: ANN001
    from bouquet.testing.browser import assert_accessible
    from bouquet.testing.fixtures import signed_in_session
    from bouquet.web.sessions import cookie_name

    def sign_in(account) -> None:  # noqa: ANN001
        signed_in = signed_in_session(live_server.app, account)
        page.context.clear_cookies()
        page.context.add_cookies([{"name": cookie_name(False), "value": signed_in.new_token,
                                   "url": live_server.url}])

    nurse = make_account(given_name="Paul", family_name="Leroy", profession_code="60", profession_label="Infirmier")
    sign_in(nurse)
    page.goto("/account/delegations")
    page.get_by_label("Identifiant du compte de secrétaire").fill("sec.bernard")
    page.get_by_role("button", name="Accorder la délégation").click()
    assert page.get_by_text("Sophie Bernard peut désormais agir pour vous.").is_visible()
    sign_in(doctor)
    page.goto("/account/delegations?q=bern")
    page.get_by_role("button", name="Déléguer à Sophie Bernard").click()
    assert page.get_by_role("button", name="Retirer la délégation de Sophie Bernard").is_visible()
    assert_accessible(page)
    page.goto("/account/delegations?q=personne")
    assert_accessible(page)

    sign_in(secretary)
    page.goto("/")
    assert page.url.endswith("/acting-for")
    assert_accessible(page)
    page.get_by_role("button", name="Agir pour ce professionnel").click()  # nobody chosen: explained
    assert page.get_by_text("Choisissez l'un des professionnels").is_visible()
    assert_accessible(page)
    page.locator(f"label[for='principal-{doctor.id}']").click()  # DSFR draws the radio on its label
    page.get_by_role("button", name="Agir pour ce professionnel").click()
    assert page.get_by_text("Vous agissez pour Dr Marie Dupont").first.is_visible()

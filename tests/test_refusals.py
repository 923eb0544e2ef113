"""Every authorization refusal is in the audit trail, and a flood of them cannot fill it (issue 13, item 11)."""

from __future__ import annotations

from sqlmodel import select
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bouquet import hookimpl
from bouquet.foundation.audit import AuditEvent, verify
from bouquet.testing.fixtures import BouquetClient
from bouquet.testing.signin import install_clock
from bouquet.web import refusals
from bouquet.web.context import get_context
from bouquet.web.routing import public

HTML = {"accept": "text/html"}


def _events(app, *actions: str) -> list[AuditEvent]:
    with app.state.db.session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action.in_(actions))
                                 .order_by(AuditEvent.seq)).all())


def test_an_administration_page_refused_to_a_professional_is_audited(app, client, make_account):
    doctor = make_account()
    client.login(doctor)
    refused = client.get("/admin/accounts", headers=HTML)
    assert refused.status_code == 403
    [event] = _events(app, refusals.REFUSED)
    assert event.actor == doctor.label and event.outcome == "denied" and event.resource == "/admin/accounts"
    assert event.details["method"] == "GET" and event.details["status"] == 403
    assert event.source_ip == "testclient" and event.request_id == refused.headers["x-request-id"]


def test_a_flood_of_refusals_is_aggregated_per_minute(app, client, make_account):
    """Two hundred refusals in a minute: one event at once, one event with the count of the rest."""
    clock = install_clock(app)
    client.login(make_account())
    for _ in range(200):
        assert client.get("/admin/accounts", headers=HTML).status_code == 403
    assert len(_events(app, refusals.REFUSED, refusals.REPEATED)) == 1
    # The next minute: the previous one's count is written with the first refusal of anyone.
    clock.advance(61)
    assert client.get("/admin/accounts/1", headers=HTML).status_code == 403
    first, repeated, second = _events(app, refusals.REFUSED, refusals.REPEATED)
    assert (first.action, repeated.action, second.action) == (refusals.REFUSED, refusals.REPEATED, refusals.REFUSED)
    assert repeated.details["count"] == 199 and repeated.resource == "/admin/accounts"
    assert second.resource == "/admin/accounts/{account_id:int}" or second.resource.startswith("/admin/accounts/")
    with app.state.db.session() as session:
        assert verify(session, app.state.audit_key).ok


def test_a_csrf_failure_is_audited(app, client, make_account):
    client.login(make_account())
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    [event] = _events(app, refusals.REFUSED)
    assert event.details["reason"] == "csrf" and event.details["method"] == "POST" and event.resource == "/logout"
    # Corrected and sent again, the form works.
    assert client.submit("/logout").status_code == 303


def test_a_bad_bearer_token_is_audited(app):
    with BouquetClient(app, base_url="http://testserver.local") as api:
        answer = api.get("/userinfo", headers={"Authorization": "Bearer not-a-token"})
    assert answer.status_code == 401
    [event] = _events(app, refusals.REFUSED)
    assert event.actor == "anonymous" and event.details["reason"] == "invalid_token" and event.resource == "/userinfo"


def test_a_page_that_needs_a_sign_in_asked_by_a_program_is_audited(app):
    with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as api:
        assert api.get("/account", headers={"accept": "application/json"}).status_code == 401
    [event] = _events(app, refusals.REFUSED)
    assert event.details["status"] == 401 and event.resource == "/account"


class _GuardPlugin:
    """A page that audits its own refusal, as the DMP, e-parcours, FHIR and prevention pages do."""

    @hookimpl
    def bouquet_routes(self):
        @public
        async def guarded(request):
            await get_context(request).audit.log("guard.refused", outcome="denied")
            return PlainTextResponse("Accès refusé.", status_code=403)

        return [Route("/guarded", guarded)]


def test_a_refusal_already_audited_by_its_page_is_not_written_twice(make_app):
    app = make_app(extra_plugins=[("guard", _GuardPlugin())])
    with BouquetClient(app, base_url="http://testserver.local") as browser:
        assert browser.get("/p/guard/guarded").status_code == 403
    assert [event.action for event in _events(app, "guard.refused", refusals.REFUSED)] == ["guard.refused"]

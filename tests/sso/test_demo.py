"""Demonstration accounts (`bouquet demo`): one of each kind, known password, safe to run twice."""

from __future__ import annotations

from click.testing import CliRunner
from sqlmodel import select

from bouquet.sso import demo
from bouquet.sso.accounts import Account, is_idnat_ps, is_siren, is_siret
from bouquet.sso.delegation import Delegation
from bouquet.sso.passwords import verify_password, weakness
from bouquet.testing.fixtures import TEST_SECRET


def snapshot(app) -> dict[str, dict]:  # noqa: ANN001
    with app.state.db.session() as session:
        accounts = session.exec(select(Account)).all()
        return {a.username: {c: getattr(a, c) for c in Account.__table__.columns.keys()} for a in accounts}


def test_the_demo_command_loads_the_same_accounts_twice(app, monkeypatch, database_url: str) -> None:
    from bouquet.cli import build_cli

    monkeypatch.setenv("BOUQUET_DATABASE_URL", database_url)
    monkeypatch.setenv("BOUQUET_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("BOUQUET_PLUGINS", "")

    first = CliRunner().invoke(build_cli(), ["demo"])
    after_first = snapshot(app)
    second = CliRunner().invoke(build_cli(), ["demo"])

    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert demo.PASSWORD in first.output and "dr.martin" in first.output
    assert snapshot(app) == after_first
    assert set(after_first) == {"admin", "dr.martin", "inf.durand", "sec.bernard", "editeur.sante"}
    with app.state.db.session() as session:
        [delegation] = session.exec(select(Delegation)).all()
    ids = {name: values["id"] for name, values in after_first.items()}
    assert (delegation.principal_id, delegation.delegate_id) == (ids["dr.martin"], ids["sec.bernard"])


def test_the_demo_accounts_are_valid_and_sign_in_with_the_known_password(app) -> None:
    demo.load(app.state.db)

    accounts = snapshot(app)
    martin, durand, vendor = accounts["dr.martin"], accounts["inf.durand"], accounts["editeur.sante"]
    assert (martin["kind"], martin["profession_code"], martin["specialty_code"]) == ("professional", "10", "SM54")
    assert is_idnat_ps(martin["idnat_ps"]) and is_siret(martin["practice_sites"][0]["siret"])
    assert (durand["profession_code"], is_idnat_ps(durand["idnat_ps"])) == ("60", True)
    assert accounts["sec.bernard"]["kind"] == "secretary" and accounts["sec.bernard"]["idnat_ps"] is None
    assert vendor["kind"] == "vendor" and is_siren(vendor["siren"]) and vendor["organisation"]
    assert accounts["admin"]["kind"] == "admin"
    assert weakness(demo.PASSWORD) is None
    assert all(verify_password(values["password_hash"], demo.PASSWORD) for values in accounts.values())


def test_the_demo_secretary_acts_for_the_doctor(app, client) -> None:
    demo.load(app.state.db)
    with app.state.db.session() as session:
        secretary = session.exec(select(Account).where(Account.username == "sec.bernard")).one()

    home = client.login(secretary).get("/")

    assert "Vous agissez pour Dr Jean Martin" in home.text


def test_no_second_factor_is_enrolled(app) -> None:
    from bouquet.sso import factors

    demo.load(app.state.db)
    with app.state.db.session() as session:
        ids = session.exec(select(Account.id)).all()
        assert not any(factors.has_second_factor(session, account_id) for account_id in ids)

"""Recovery codes: ten, random, stored hashed, each usable once."""

from __future__ import annotations

from sqlmodel import select

from bouquet.sso import recovery
from bouquet.sso.recovery import RecoveryCode


def test_ten_distinct_readable_codes_stored_hashed(app, make_account):
    account = make_account()
    with app.state.db.write() as session:
        codes = recovery.issue_codes(session, account.id)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(len(code) == 14 and code.count("-") == 2 for code in codes)
    with app.state.db.session() as session:
        stored = session.exec(select(RecoveryCode).where(RecoveryCode.account_id == account.id)).all()
    assert len(stored) == 10
    assert not {row.code_hash for row in stored} & {c for code in codes for c in (code, recovery.normalise(code))}


def test_a_code_works_once_whatever_the_typing(app, make_account):
    account = make_account()
    with app.state.db.write() as session:
        codes = recovery.issue_codes(session, account.id)
    typed = codes[3].upper().replace("-", " ")
    with app.state.db.write() as session:
        assert recovery.redeem(session, account.id, typed)
        assert not recovery.redeem(session, account.id, codes[3])
        assert recovery.remaining(session, account.id) == 9


def test_codes_belong_to_one_account(app, make_account):
    alice, bob = make_account(), make_account()
    with app.state.db.write() as session:
        codes = recovery.issue_codes(session, alice.id)
        recovery.issue_codes(session, bob.id)
        assert not recovery.redeem(session, bob.id, codes[0])
        assert recovery.redeem(session, alice.id, codes[0])


def test_new_codes_replace_the_old_ones(app, make_account):
    account = make_account()
    with app.state.db.write() as session:
        old = recovery.issue_codes(session, account.id)
        new = recovery.issue_codes(session, account.id)
        assert not recovery.redeem(session, account.id, old[0])
        assert recovery.redeem(session, account.id, new[0])
        assert recovery.remaining(session, account.id) == 9


def test_normalise():
    assert recovery.normalise("ABCD-EFGH-JKMN") == "abcdefghjkmn"
    assert recovery.normalise("abcd efgh jkmO") == "abcdefghjkm0"
    for bad in ("", "abcd-efgh", "abcd-efgh-jkmn-pqrs", "abcd-efgh-jkm!", "123456"):
        assert recovery.normalise(bad) is None

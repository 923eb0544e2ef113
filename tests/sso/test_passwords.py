"""Password rules as ASVS 5.0 V6.2 states them (docs/security.md): length, any composition, verified exactly."""

from __future__ import annotations

from bouquet.sso import passwords


def test_short_passwords_are_refused_and_long_ones_allowed():
    assert passwords.weakness("court-1234") is not None  # < 12 characters
    long_one = "Une phrase de passe assez longue, avec des espaces, et 64+ signes !"
    assert len(long_one) >= 64 and passwords.weakness(long_one) is None


def test_any_composition_is_allowed():
    for password in ("tout en minuscules sans chiffre", "ÉÀÇ ümlaut ñ 漢字 かな 🙂🙂🙂", "               x y z w v"):
        assert passwords.weakness(password) is None, password


def test_the_password_is_verified_exactly_as_typed():
    password = "Correct Horse Battery Staple"
    stored = passwords.hash_password(password)
    assert passwords.verify_password(stored, password)
    for variant in (password.lower(), password.upper(), password + " ", " " + password, password[:-1]):
        assert not passwords.verify_password(stored, variant), variant


def test_an_unknown_account_is_verified_against_a_dummy_hash():
    assert not passwords.verify_password(None, "whatever it is")


def test_the_sign_in_form_masks_the_password_and_lets_password_managers_fill_it(client):
    page = client.get("/login").text
    field = page[page.index('name="password"') - 300: page.index('name="password"') + 300]
    assert 'type="password"' in field and 'autocomplete="current-password"' in field
    assert "onpaste" not in page and "oncopy" not in page

"""TOTP secrets sealed with a key derived from the secret key

Widens `totp_credential.secret` (a sealed value is `v1:` + base64 of nonce + ciphertext, 83
characters for a 32-character secret) and seals the secrets stored in clear, in place.

Sealing needs the portal's secret key, which a migration does not get from its caller. It takes
the one the portal itself would use: `BOUQUET_SECRET_KEY`, else the development key file
`var/secret_key` if it already exists (never creating one). Before sealing anything with it, it
checks that the key opens the OIDC signing keys already in the database (sealed with the same
secret key since 0005): a migration run with another key than the portal's would otherwise make
every TOTP app unreadable. When it has no key, or the wrong one, it leaves the secrets in clear
and says so: `bouquet.sso.totp.verify` recognises a clear secret (no `v1:` prefix) and seals it the
first time it is checked, so the portal works either way.

Revision ID: 0012
Revises: 0011
"""

import base64
import hashlib
import json
import logging
import os
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

PREFIX = "v1:"
NONCE_BYTES = 12

# The tables as this revision knows them (not the models, which may change later).
totp_credential = sa.table("totp_credential", sa.column("id", sa.Integer), sa.column("account_id", sa.Integer),
                           sa.column("secret", sa.String))
signing_key = sa.table("oidc_signing_key", sa.column("kid", sa.String), sa.column("sealed_private_jwk", sa.String))


def _derive(secret_key: str, purpose: str) -> bytes:
    # bouquet.foundation.keys.derive_key, frozen here.
    return hashlib.sha256(f"bouquet:{purpose}:{secret_key}".encode()).digest()


def _associated_data(account_id: int) -> bytes:
    # bouquet.sso.totp._associated_data, frozen here.
    return f"totp_credential:account:{account_id}".encode()


def _secret_key() -> str | None:
    """The portal's secret key as `load_settings()` finds it, without creating a development one."""
    from bouquet.foundation.settings import VAR_DIR

    if key := os.environ.get("BOUQUET_SECRET_KEY"):
        return key
    path = Path(VAR_DIR) / "secret_key"
    return path.read_text(encoding="ascii").strip() if path.exists() else None


def _is_the_portals_key(connection: sa.engine.Connection, secret_key: str) -> bool:
    """False when signing keys exist and none opens with `secret_key` (then it is not the key they were sealed with)."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    rows = connection.execute(sa.select(signing_key.c.kid, signing_key.c.sealed_private_jwk)).all()
    if not rows:
        return True
    aead = AESGCM(_derive(secret_key, "oidc-signing-keys"))
    for kid, sealed in rows:
        raw = base64.b64decode(sealed)
        try:
            json.loads(aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], kid.encode()))
            return True
        except (InvalidTag, ValueError):
            continue
    return False


def _usable_key(connection: sa.engine.Connection) -> tuple[str | None, str]:
    secret_key = _secret_key()
    if secret_key is None:
        return None, "no BOUQUET_SECRET_KEY and no var/secret_key"
    if not _is_the_portals_key(connection, secret_key):
        return None, "the secret key found does not open the OIDC signing keys: it is not the portal's"
    return secret_key, ""


def upgrade() -> None:
    with op.batch_alter_table('totp_credential', schema=None) as batch_op:
        batch_op.alter_column('secret', existing_type=sa.String(length=64), type_=sa.String(length=128),
                              existing_nullable=False)

    connection = op.get_bind()
    clear = connection.execute(sa.select(totp_credential.c.id, totp_credential.c.account_id, totp_credential.c.secret)
                               .where(sa.not_(totp_credential.c.secret.startswith(PREFIX)))).all()
    if not clear:
        return
    secret_key, why = _usable_key(connection)
    if secret_key is None:
        log.warning("0012: %d TOTP secret(s) left in clear (%s); each is sealed the first time it is verified. "
                    "Run `bouquet db upgrade` with the portal's BOUQUET_SECRET_KEY to seal them now.", len(clear), why)
        return
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead = AESGCM(_derive(secret_key, "totp"))
    for credential_id, account_id, secret in clear:
        nonce = os.urandom(NONCE_BYTES)
        sealed = PREFIX + base64.b64encode(
            nonce + aead.encrypt(nonce, secret.encode("ascii"), _associated_data(account_id))).decode("ascii")
        connection.execute(sa.update(totp_credential)
                           .where(totp_credential.c.id == credential_id, totp_credential.c.secret == secret)
                           .values(secret=sealed))
    log.info("0012: sealed %d TOTP secret(s)", len(clear))


def downgrade() -> None:
    connection = op.get_bind()
    sealed = connection.execute(sa.select(totp_credential.c.id, totp_credential.c.account_id, totp_credential.c.secret)
                                .where(totp_credential.c.secret.startswith(PREFIX))).all()
    if sealed:
        secret_key, why = _usable_key(connection)
        if secret_key is None:
            raise RuntimeError(f"Cannot downgrade 0012: {len(sealed)} TOTP secret(s) are sealed and {why}. "
                               "Set BOUQUET_SECRET_KEY to the portal's secret key.")
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        aead = AESGCM(_derive(secret_key, "totp"))
        for credential_id, account_id, value in sealed:
            raw = base64.b64decode(value.removeprefix(PREFIX))
            clear = aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated_data(account_id)).decode("ascii")
            connection.execute(sa.update(totp_credential).where(totp_credential.c.id == credential_id)
                               .values(secret=clear))
    with op.batch_alter_table('totp_credential', schema=None) as batch_op:
        batch_op.alter_column('secret', existing_type=sa.String(length=128), type_=sa.String(length=64),
                              existing_nullable=False)

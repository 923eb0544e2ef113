"""WebAuthn: security keys and passkeys, their ceremonies and the credentials they leave behind.

py_webauthn does the cryptography; this module decides what Bouquet asks for and accepts:
user verification on every ceremony, one single-use challenge per browser session (kept in the
session's data, so any worker can finish what another began), expiring after five minutes.

Which factor a credential is (RFC 8176), from its backup-eligibility flag: a device-bound
credential (security key, TPM, secure enclave; BE=0) never leaves its hardware → "hwk"; a
backup-eligible one (a synced passkey; BE=1) can be copied to other devices → "swk". With user
verification ("user"), either counts as both factors.

The HTTP endpoints are in `bouquet.sso.webauthn_pages` (ceremonies) and
`bouquet.sso.webauthn_account` (the account's keys).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, LargeBinary, String, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    options_to_json_dict,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from bouquet.foundation.db import Database, UtcDateTime, utcnow
from bouquet.foundation.settings import Settings
from bouquet.sso import factors
from bouquet.sso.accounts import Account
from bouquet.sso.flow import HWK, SWK, USER
from bouquet.sso.security_events import local_time
from bouquet.web.sessions import BrowserSession, WebSession

RP_NAME = "Bouquet"
# Where the ceremony in progress lives in the session's data.
CHALLENGE_KEY = "webauthn"
CHALLENGE_LIFETIME = timedelta(minutes=5)
NAME_MAX = 60
ALGORITHMS = [COSEAlgorithmIdentifier.ECDSA_SHA_256, COSEAlgorithmIdentifier.EDDSA,
              COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256]

# The one answer to every refused assertion, so that it never tells why (or whose key it was).
REFUSED_MESSAGE = "Cette clé n'a pas permis de vous connecter. Réessayez ou utilisez un autre moyen de connexion."

# Ceremony purposes: a challenge issued for one is refused by the others.
ENROL, ADD, PASSKEY, SECOND_FACTOR, CONFIRM = "enrol", "add", "passkey", "second_factor", "confirm"


class WebAuthnCredential(SQLModel, table=True):
    """A security key or passkey registered to an account (an account may have several)."""

    __tablename__ = "webauthn_credential"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    name: str = Field(max_length=NAME_MAX)
    credential_id: str = Field(sa_column=Column(String(1400), unique=True, nullable=False),
                               description="base64url, as the browser reports it")
    public_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False), description="COSE key")
    # Authenticators count up to 2**32 - 1, past a PostgreSQL integer.
    sign_count: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    user_handle: str = Field(max_length=100, description="base64url user.id given at registration")
    transports: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    aaguid: str = Field(max_length=36)
    backup_eligible: bool = Field(default=False, description="BE flag: a synced passkey")
    backed_up: bool = Field(default=False, description="BS flag, as last reported")
    discoverable: bool | None = Field(default=None, description="credProps.rk: usable without a username")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)

    @property
    def amr(self) -> str:
        """The RFC 8176 value for this credential (see the module docstring)."""
        return SWK if self.backup_eligible else HWK

    @property
    def kind_label(self) -> str:
        return "Clé d'accès" if self.discoverable else "Clé de sécurité"

    @property
    def storage_label(self) -> str:
        return "synchronisée entre vos appareils" if self.backup_eligible else "liée à un seul appareil"


class CeremonyError(Exception):
    """A ceremony step refused; `status` and the French `message` are what the browser gets."""

    def __init__(self, status: int, code: str, message: str, *, account: Account | None = None,
                 redirect: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        # Whose credential it was (for the audit trail), and where the browser should go next, if anywhere.
        self.account, self.redirect = account, redirect


class CounterRegression(CeremonyError):
    """The authenticator's signature counter went backwards: it may have been cloned."""

    def __init__(self, account: Account, credential: WebAuthnCredential, reported: int) -> None:
        super().__init__(403, "counter_regression", REFUSED_MESSAGE, account=account)
        # Plain values: the credential's row is rolled back (expired) by the time anyone reads them.
        self.credential_id, self.name = credential.id, credential.name
        self.stored, self.reported = credential.sign_count, reported


def bad_input(message: str = "La réponse de votre clé est illisible. Réessayez.") -> CeremonyError:
    return CeremonyError(400, "bad_request", message)


def refused(message: str = REFUSED_MESSAGE, *, account: Account | None = None) -> CeremonyError:
    return CeremonyError(403, "refused", message, account=account)


@dataclass(frozen=True)
class RelyingParty:
    """Who the browser believes it talks to: the portal's origin and its host as rp id."""

    id: str
    origin: str
    name: str = RP_NAME

    @classmethod
    def from_settings(cls, settings: Settings) -> RelyingParty:
        return cls(id=settings.host, origin=settings.base_url)


# --- challenges ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Challenge:
    """A ceremony begun in this browser: what for, the random challenge, and for whom."""

    purpose: str
    value: bytes
    account_id: int | None = None
    user_handle: str | None = None


def _remember(browser: BrowserSession, purpose: str, challenge: bytes, **extra: Any) -> None:
    # A new ceremony replaces any earlier one: one challenge per session at a time.
    browser.set(CHALLENGE_KEY, {"purpose": purpose, "challenge": bytes_to_base64url(challenge),
                                "expires": (utcnow() + CHALLENGE_LIFETIME).isoformat(), **extra})


def consume_challenge(db: Database, browser: BrowserSession, purpose: str) -> Challenge:
    """Take the session's challenge out of the database, once: a replayed response finds nothing.

    Raises `CeremonyError` 409 when there is none, it was issued for another purpose or expired.
    Blocking: call it through `db.run`.
    """
    with db.write() as session:
        row = session.exec(select(WebSession).where(WebSession.id == browser.row.id).with_for_update()).first()
        data = dict(row.data) if row is not None else {}
        raw = data.pop(CHALLENGE_KEY, None)
        if raw is not None:
            session.execute(update(WebSession).where(WebSession.id == browser.row.id).values(data=data))
    # Forget it in this request's copy too, so a later save of the session cannot bring it back.
    browser.row.data = {key: value for key, value in browser.row.data.items() if key != CHALLENGE_KEY}
    if raw is None or raw.get("purpose") != purpose:
        raise CeremonyError(409, "challenge_used",
                            "Cette demande a déjà été utilisée ou n'existe pas. Recommencez.")
    if utcnow() > datetime.fromisoformat(raw["expires"]):
        raise CeremonyError(409, "challenge_expired", "Le délai est dépassé. Recommencez.")
    return Challenge(purpose, base64url_to_bytes(raw["challenge"]), raw.get("account_id"), raw.get("user_handle"))


# --- registration ----------------------------------------------------------------------------

def registration_options(rp: RelyingParty, browser: BrowserSession, purpose: str, account: Account,
                         existing: list[WebAuthnCredential]) -> dict[str, Any]:
    """Options for `navigator.credentials.create()`, remembering the challenge in the session.

    The account's credentials are excluded (one authenticator is registered once); a passkey is
    preferred, user verification is required.
    """
    # One user handle per account, so an authenticator keeps one passkey for it, not one per enrolment.
    handle = existing[0].user_handle if existing else bytes_to_base64url(secrets.token_bytes(32))
    options = generate_registration_options(
        rp_id=rp.id, rp_name=rp.name, user_name=account.username, user_display_name=account.display_name,
        user_id=base64url_to_bytes(handle), timeout=int(CHALLENGE_LIFETIME.total_seconds() * 1000),
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=[_descriptor(credential) for credential in existing],
        supported_pub_key_algs=ALGORITHMS,
    )
    _remember(browser, purpose, options.challenge, account_id=account.id, user_handle=handle)
    # credProps tells whether the authenticator made a discoverable credential (a passkey).
    return {**options_to_json_dict(options), "extensions": {"credProps": True}}


@dataclass(frozen=True)
class NewCredential:
    """A registration the authenticator signed and we verified, ready to be stored."""

    credential_id: str
    public_key: bytes
    sign_count: int
    user_handle: str
    transports: list[str]
    aaguid: str
    backup_eligible: bool
    backed_up: bool
    discoverable: bool | None


def verify_registration(rp: RelyingParty, challenge: Challenge, payload: Any) -> NewCredential:
    """Check a `navigator.credentials.create()` response against the challenge (UV required).

    Raises `CeremonyError`: 400 for a malformed response, 403 for one that does not verify.
    """
    try:
        credential: RegistrationCredential = parse_registration_credential_json(payload)
    except (WebAuthnException, ValueError, TypeError) as exc:
        raise bad_input() from exc
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge.value, expected_rp_id=rp.id,
            expected_origin=rp.origin, require_user_verification=True, supported_pub_key_algs=ALGORITHMS)
    except (WebAuthnException, ValueError) as exc:
        raise refused("Cette clé n'a pas pu être enregistrée : la vérification a échoué. "
                      "Vérifiez que votre clé demande votre code ou votre empreinte, puis réessayez.") from exc
    properties = payload.get("clientExtensionResults", {}).get("credProps", {}) if isinstance(payload, dict) else {}
    rk = properties.get("rk") if isinstance(properties, dict) else None
    return NewCredential(
        credential_id=bytes_to_base64url(verified.credential_id), public_key=verified.credential_public_key,
        sign_count=verified.sign_count, user_handle=challenge.user_handle or "",
        transports=[transport.value for transport in credential.response.transports or []],
        aaguid=verified.aaguid, backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
        backed_up=verified.credential_backed_up, discoverable=rk if isinstance(rk, bool) else None,
    )


def clean_name(raw: Any) -> str:
    """The user's name for a credential, spaces tidied; empty when they gave none (400 if unusable)."""
    if raw is not None and not isinstance(raw, str):
        raise bad_input("Le nom de la clé n'est pas valide.")
    name = " ".join((raw or "").split())
    if len(name) > NAME_MAX:
        raise bad_input(f"Le nom de la clé ne doit pas dépasser {NAME_MAX} caractères.")
    return name


# --- authentication --------------------------------------------------------------------------

def authentication_options(rp: RelyingParty, browser: BrowserSession, purpose: str,
                           allowed: list[WebAuthnCredential], account_id: int | None = None) -> dict[str, Any]:
    """Options for `navigator.credentials.get()` (UV required), remembering the challenge.

    With no `allowed` credentials the browser offers the passkeys it holds for this site.
    """
    options = generate_authentication_options(
        rp_id=rp.id, timeout=int(CHALLENGE_LIFETIME.total_seconds() * 1000),
        allow_credentials=[_descriptor(credential) for credential in allowed],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    _remember(browser, purpose, options.challenge, account_id=account_id)
    return options_to_json_dict(options)


def parse_assertion(payload: Any) -> AuthenticationCredential:
    """The browser's `navigator.credentials.get()` response, or a 400 `CeremonyError`."""
    try:
        return parse_authentication_credential_json(payload)
    except (WebAuthnException, ValueError, TypeError) as exc:
        raise bad_input() from exc


@dataclass(frozen=True)
class CredentialUse:
    """A verified assertion: whose account, which credential, and the factor it counts as."""

    account: Account
    credential: WebAuthnCredential

    @property
    def amr(self) -> list[str]:
        return [self.credential.amr, USER]


def use_credential(db: Database, rp: RelyingParty, challenge: Challenge, assertion: AuthenticationCredential,
                   *, account_id: int | None = None) -> CredentialUse:
    """Verify an assertion (UV required) against the stored credential and record its use.

    `account_id` limits the credentials accepted to that account's (a second factor). An unknown
    credential, another account's, a disabled account and a bad signature all raise the same
    403 `CeremonyError`; a signature counter that did not move forward raises `CounterRegression`.
    Blocking: call it through `db.run`.
    """
    with db.write() as session:
        stored = session.exec(select(WebAuthnCredential).where(
            WebAuthnCredential.credential_id == bytes_to_base64url(assertion.raw_id)).with_for_update()).first()
        if stored is None or (account_id is not None and stored.account_id != account_id):
            raise refused()
        account = session.get(Account, stored.account_id)
        if account is None or not account.active:
            raise refused()
        session.expunge(account)  # read-only here, and still readable after a refusal's rollback
        handle = assertion.response.user_handle
        if (handle is None and challenge.purpose == PASSKEY) or (
                handle is not None and bytes_to_base64url(handle) != stored.user_handle):
            raise refused(account=account)
        try:
            # The counter is checked below, to tell a cloned authenticator from a bad signature.
            verified = verify_authentication_response(
                credential=assertion, expected_challenge=challenge.value, expected_rp_id=rp.id,
                expected_origin=rp.origin, credential_public_key=stored.public_key,
                credential_current_sign_count=0, require_user_verification=True)
        except (WebAuthnException, ValueError) as exc:
            raise refused(account=account) from exc
        if counter_regressed(stored.sign_count, verified.new_sign_count):
            raise CounterRegression(account, stored, verified.new_sign_count)
        stored.sign_count = verified.new_sign_count
        stored.backed_up = verified.credential_backed_up
        stored.last_used_at = utcnow()
        session.add(stored)
    return CredentialUse(account, stored)


def counter_regressed(stored: int, reported: int) -> bool:
    """WebAuthn §7.2 step 21: once either count is non-zero, the new one must be greater."""
    return (stored > 0 or reported > 0) and reported <= stored


# --- the credentials of an account -----------------------------------------------------------

def credentials_of(session: Session, account_id: int) -> list[WebAuthnCredential]:
    """The account's credentials, oldest first."""
    return list(session.exec(select(WebAuthnCredential).where(WebAuthnCredential.account_id == account_id)
                             .order_by(WebAuthnCredential.created_at, WebAuthnCredential.id)).all())


def count_credentials(session: Session, account_id: int) -> int:
    return session.exec(select(func.count()).select_from(WebAuthnCredential)
                        .where(WebAuthnCredential.account_id == account_id)).one()


def store_credential(session: Session, account_id: int, new: NewCredential, name: str) -> WebAuthnCredential:
    """Add a verified credential to the account (in the caller's transaction), named `name` or
    "Clé n" when that is empty. Raises a 409 `CeremonyError` when it is already registered."""
    taken = session.exec(select(WebAuthnCredential.id).where(
        WebAuthnCredential.credential_id == new.credential_id)).first()
    if taken is not None:
        raise CeremonyError(409, "already_registered", "Cette clé est déjà enregistrée.")
    row = WebAuthnCredential(
        account_id=account_id, name=name or f"Clé {count_credentials(session, account_id) + 1}",
        credential_id=new.credential_id, public_key=new.public_key, sign_count=new.sign_count,
        user_handle=new.user_handle, transports=new.transports, aaguid=new.aaguid,
        backup_eligible=new.backup_eligible, backed_up=new.backed_up, discoverable=new.discoverable,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # the same key registered at the same moment by another request
        raise CeremonyError(409, "already_registered", "Cette clé est déjà enregistrée.") from exc
    return row


def _descriptor(credential: WebAuthnCredential) -> PublicKeyCredentialDescriptor:
    known = {transport.value for transport in AuthenticatorTransport}
    transports = [AuthenticatorTransport(value) for value in credential.transports if value in known]
    return PublicKeyCredentialDescriptor(id=base64url_to_bytes(credential.credential_id), transports=transports or None)


def account_details(session: Session, account_id: int) -> list[dict[str, Any]]:
    """The account's keys as the account page lists them (`factor_details["webauthn"]`)."""
    return [{"id": credential.id, "name": credential.name, "kind": credential.kind_label,
             "storage": credential.storage_label, "created": local_time(credential.created_at),
             "last_used": local_time(credential.last_used_at) if credential.last_used_at else "Jamais"}
            for credential in credentials_of(session, account_id)]


factors.register(factors.SecondFactor("webauthn", "Clé de sécurité ou clé d'accès", count_credentials,
                                      account_details))

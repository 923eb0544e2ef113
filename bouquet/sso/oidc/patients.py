"""What the provider knows of patients: SMART's identifiers, and a binding the patient layer gives it.

The provider binds tokens to a patient context (SMART EHR launch, RFC 8693 token exchange) but
patients live in a layer above it (`bouquet.patient`). The application gives the provider that
layer's answers through a `PatientBinding` (`app.state.patients`, set by `bouquet.app`); without
one, no launch is accepted and no token can name a patient.

The identifiers are pure functions: the SMART `iss` of the portal (`fhir_base`), the FHIR Patient
id of a patient context (its opaque random id in FHIR's alphabet, never the NIR), and SMART's
`fhirUser` for an account.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session

FHIR_PATH = "/fhir"


def fhir_base(base_url: str) -> str:
    """The SMART `iss`: the FHIR base of this portal."""
    return base_url.rstrip("/") + FHIR_PATH


def patient_resource_id(patient_context_id: str) -> str:
    """The FHIR Patient id of a patient context (FHIR ids allow `[A-Za-z0-9.-]`, context ids use `_`)."""
    return patient_context_id.replace("_", ".")


def patient_context_id_of(resource_id: str) -> str:
    """The patient context id behind a FHIR Patient id (the inverse of `patient_resource_id`)."""
    return resource_id.replace(".", "_")


def practitioner_id(account: Any) -> str:
    """The FHIR Practitioner id of an account: the IdNat_PS of a professional, else `bouquet-<id>`."""
    return account.idnat_ps if account.idnat_ps else f"bouquet-{account.id}"


def practitioner_url(base_url: str, account: Any) -> str:
    """SMART's `fhirUser` claim: the Practitioner resource of the signed-in person."""
    return f"{fhir_base(base_url)}/Practitioner/{practitioner_id(account)}"


class LaunchRefused(ValueError):
    """A `launch` handle that cannot be used by this client for this person (unknown, expired, used…)."""


class PatientBinding(Protocol):
    """The patient layer's answers to the provider (`bouquet.patient.smart.SmartPatients`)."""

    def check_launch(self, session: Session, handle: str, *, client_id: str, account_id: int,
                     acting_for_id: int | None, consume: bool) -> str:
        """The patient context id of a usable launch handle (consumed if asked), or `LaunchRefused`."""

    def label(self, session: Session, patient_context_id: str) -> str | None:
        """How the consent page names the patient: "MARTIN Marie, née le 02/10/1960"."""

    def held_by(self, session: Session, patient_context_id: str, account_id: int,
                acting_for_id: int | None) -> bool:
        """Whether this live patient context was opened by this account (acting for this principal)."""

    def audit_ins(self, session: Session, patient_context_id: str) -> str | None:
        """The patient's INS as the audit trail records it (None when the identity is not qualified)."""

    def purge(self, session: Session, now: datetime) -> int:
        """Delete expired launch handles; returns how many."""


class NoPatients:
    """The binding of a provider with no patient layer: every launch refused, no patient named."""

    def check_launch(self, session: Session, handle: str, *, client_id: str, account_id: int,
                     acting_for_id: int | None, consume: bool) -> str:
        raise LaunchRefused("unknown launch")

    def label(self, session: Session, patient_context_id: str) -> str | None:
        return None

    def held_by(self, session: Session, patient_context_id: str, account_id: int,
                acting_for_id: int | None) -> bool:
        return False

    def audit_ins(self, session: Session, patient_context_id: str) -> str | None:
        return None

    def purge(self, session: Session, now: datetime) -> int:
        return 0

"""The patient in context: identity traits, INS, the opened patient context, launching apps on it."""

from bouquet.patient.context import PatientContextRecord, audit_ins, establish, establish_in_session
from bouquet.patient.demo import DEMO_PATIENTS, DEMO_SOURCE
from bouquet.patient.ins import OID_LABELS, OID_NIR_DEMO, OID_NIR_TEST, Ins, InsError, with_key
from bouquet.patient.model import (
    IDENTITY_STATUSES,
    INS_NOT_SHARED,
    PatientContext,
    PatientContextError,
    PatientTraits,
)
from bouquet.patient.plugin import OPEN_PATIENT
from bouquet.patient.smart import app_launch_url, create_launch

__all__ = [
    "DEMO_PATIENTS", "DEMO_SOURCE", "IDENTITY_STATUSES", "INS_NOT_SHARED", "Ins", "InsError", "OID_LABELS", "OID_NIR_DEMO", "OID_NIR_TEST", "OPEN_PATIENT",
    "PatientContext", "PatientContextError", "PatientContextRecord", "PatientTraits", "app_launch_url", "audit_ins",
    "create_launch", "establish", "establish_in_session", "with_key",
]

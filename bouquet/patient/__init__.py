"""The patient: INS, the patient context, the practice software's launch, SMART and the FHIR facade, the patient page."""

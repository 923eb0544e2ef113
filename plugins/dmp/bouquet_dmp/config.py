"""The DMP plugin's settings, read from the environment (`BOUQUET_DMP_` prefix) when used.

| variable | default | what |
| --- | --- | --- |
| `BOUQUET_DMP_URL` | unset | FHIR base of an external DMP (MHD); unset: the embedded service at `/p/dmp/fhir` |
| `BOUQUET_DMP_TIMEOUT_SECONDS` | 1.5 | how long one MHD call may take, retries included (the panel makes two: keep 2 × this under `BOUQUET_PANEL_TIMEOUT_SECONDS`) |
| `BOUQUET_DMP_RETRIES` | 2 | extra attempts of an idempotent call (search, retrieve) after a network error or a 5xx |
| `BOUQUET_DMP_EMERGENCY_MINUTES` | 240 | how long a bris-de-glace access lasts |
| `BOUQUET_DMP_MAX_UPLOAD_BYTES` | 5000000 | largest document a professional may upload |
| `BOUQUET_DMP_INVISIBLE_PATIENT_DAYS` | unset | after how many days a document uploaded « non visible du patient » (INVISIBLE_PATIENT) becomes visible to them; the legal delay's source was not found, so it is unset and the option refused until an operator sets it from the text |
| `BOUQUET_DMP_PSC_TOKENS` | false | the external DMP requires Pro Santé Connect tokens: each call carries the professional's PSC access token (`Authorization: Bearer`) instead of the signed identity header |
"""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class DmpSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOUQUET_DMP_", extra="ignore")

    url: str | None = None
    timeout_seconds: float = Field(default=1.5, gt=0, le=60)
    retries: int = Field(default=2, ge=0, le=5)
    emergency_minutes: int = Field(default=240, ge=1, le=24 * 60)
    max_upload_bytes: int = Field(default=5_000_000, ge=1000, le=50_000_000)
    invisible_patient_days: int | None = Field(default=None, ge=1, le=366)
    psc_tokens: bool = False

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("BOUQUET_DMP_URL must be an http(s) URL")
        return value.rstrip("/")


def dmp_settings() -> DmpSettings:
    """The settings as the environment gives them now (cheap; read per use, never cached)."""
    return DmpSettings()

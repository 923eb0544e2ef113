"""The plugin's own settings, read from the environment under `BOUQUET_PREVENTION_` (pydantic-settings).

    BOUQUET_PREVENTION_RULE_SETS=nourrissons     optional rule sets to enable (comma-separated)
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["PreventionSettings"]


class PreventionSettings(BaseSettings):
    """What the operator chooses for prevention."""

    model_config = SettingsConfigDict(env_prefix="BOUQUET_PREVENTION_", extra="ignore")

    rule_sets: str = ""

    @property
    def enabled_rule_sets(self) -> list[str]:
        """The optional rule sets enabled (`data/rulesets/<name>.yaml`), in the order given."""
        return [name.strip() for name in self.rule_sets.split(",") if name.strip()]

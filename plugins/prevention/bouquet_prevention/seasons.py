"""Vaccination campaigns as data: one file per season in `data/seasons/` (`grippe-2025-2026.yaml`),
so that an extension (the 2025-2026 influenza campaign ran to 28 February 2026) is a data change.

A seasonal rule names its `campaign`; a season with a file uses the file's `start` and `end`
(the actual end, after extensions), a season without one the rule's default "MM-DD" dates.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bouquet_prevention.errors import RuleFileError, from_validation
from bouquet_prevention.rules import Source

__all__ = ["SEASONS_DIR", "CampaignSeason", "campaign_dates", "default_seasons", "load_seasons"]

SEASONS_DIR = Path(__file__).parent / "data" / "seasons"


class CampaignSeason(BaseModel):
    """One season of one campaign: its real first and last day (inclusive) and its sources."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    campaign: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,79}$")
    season: str = Field(min_length=4, max_length=20)
    territory: str = Field(min_length=1)
    start: date
    planned_end: date | None = None
    end: date
    sources: tuple[Source, ...] = Field(min_length=1)
    confidence: str = Field(min_length=1, description="What the dates rest on, and what could not be found")

    @model_validator(mode="after")
    def _ordered(self) -> CampaignSeason:
        if self.end < self.start or (self.planned_end is not None and self.planned_end < self.start):
            raise ValueError("a campaign ends after it starts")
        if (self.end - self.start).days > 366:
            raise ValueError("a campaign lasts at most a year")
        return self


def load_seasons(folder: Path) -> tuple[CampaignSeason, ...]:
    """Every `*.yaml` of `folder`, validated; RuleFileError names the file and the field at fault."""
    seasons = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise RuleFileError(path.name, f"not valid YAML: {exc}") from None
        try:
            seasons.append(CampaignSeason.model_validate(raw))
        except ValidationError as exc:
            raise from_validation(path.name, exc, rule=path.stem) from None
    keys = [(s.campaign, s.start) for s in seasons]
    if len(set(keys)) != len(keys):
        raise RuleFileError(folder.name, "two files give the same campaign season")
    return tuple(seasons)


@cache
def default_seasons() -> tuple[CampaignSeason, ...]:
    """The seasons shipped with the plugin (read once per process: they are code's data)."""
    return load_seasons(SEASONS_DIR)


def campaign_dates(seasons: tuple[CampaignSeason, ...]) -> Mapping[str, list[tuple[date, date]]]:
    """(start, end) of each season, by campaign name: what `Engine(campaigns=…)` takes."""
    dates: dict[str, list[tuple[date, date]]] = {}
    for season in seasons:
        dates.setdefault(season.campaign, []).append((season.start, season.end))
    return dates

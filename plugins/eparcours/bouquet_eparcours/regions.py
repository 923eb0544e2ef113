"""Where a professional practises, as regions, and the pathways offered to them there.

A pathway belongs to the regions its definition names (`regions`, INSEE codes, or "FR" for the
whole country). A professional is offered the pathways of the regions of their practice sites
(the directory's `commune_code`, else the `postal_code`), plus those the operator enables for
everyone (`BOUQUET_EPARCOURS_ENABLED_PATHWAYS`, pathway ids separated by commas). A professional
whose sites say nothing of where they are is offered every pathway, and told why.

The department → region table is the INSEE Code officiel géographique (regions since 1 January
2016; https://www.insee.fr/fr/information/2560452). Its values were checked against two published
copies of the table; the INSEE page itself was not reachable from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from bouquet_eparcours.catalogue import Catalogue, LoadedPathway

EVERYWHERE = "FR"
_REGION_DEPARTMENTS: dict[str, tuple[str, ...]] = {
    "84": ("01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74"),
    "27": ("21", "25", "39", "58", "70", "71", "89", "90"),
    "53": ("22", "29", "35", "56"),
    "24": ("18", "28", "36", "37", "41", "45"),
    "94": ("2A", "2B"),
    "44": ("08", "10", "51", "52", "54", "55", "57", "67", "68", "88"),
    "32": ("02", "59", "60", "62", "80"),
    "11": ("75", "77", "78", "91", "92", "93", "94", "95"),
    "28": ("14", "27", "50", "61", "76"),
    "75": ("16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87"),
    "76": ("09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"),
    "52": ("44", "49", "53", "72", "85"),
    "93": ("04", "05", "06", "13", "83", "84"),
    "01": ("971",), "02": ("972",), "03": ("973",), "04": ("974",), "06": ("976",),
}
#: INSEE department code → INSEE region code.
DEPARTMENT_REGIONS: dict[str, str] = {dep: region for region, deps in _REGION_DEPARTMENTS.items() for dep in deps}


class EparcoursSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOUQUET_EPARCOURS_", extra="ignore")

    enabled_pathways: str = ""  # ids offered in every region, decided by the operator

    @property
    def enabled(self) -> frozenset[str]:
        return frozenset(part.strip() for part in self.enabled_pathways.split(",") if part.strip())


def department_of(site: dict[str, Any]) -> str | None:
    """The INSEE department of a practice site, from its commune code (else its postal code)."""
    commune = str(site.get("commune_code") or "").strip().upper()
    if len(commune) == 5:
        return commune[:3] if commune.startswith("97") else commune[:2]
    postal = str(site.get("postal_code") or "").strip()
    if len(postal) == 5 and postal.isdigit():
        if postal.startswith("97"):
            return postal[:3]
        if postal.startswith("20"):  # Corsica: 200xx-201xx Corse-du-Sud, 202xx-206xx Haute-Corse
            return "2A" if postal[2] in "01" else "2B"
        return postal[:2]
    return None


def practice_regions(sites: Iterable[dict[str, Any]]) -> frozenset[str]:
    """The INSEE regions of a professional's practice sites (empty when none says where it is)."""
    return frozenset(region for site in sites if (region := DEPARTMENT_REGIONS.get(department_of(site) or "")))


@dataclass(frozen=True)
class Offer:
    """The pathways offered to one professional, and the regions that decided it (empty: unknown)."""

    pathways: list[LoadedPathway]
    regions: frozenset[str]


def offered_to(catalogue: Catalogue, sites: Iterable[dict[str, Any]], enabled: frozenset[str] = frozenset()) -> Offer:
    """The current pathways offered where the professional practises (every pathway when that is unknown)."""
    regions = practice_regions(sites)
    if not regions:
        return Offer(catalogue.offered(), regions)
    return Offer([loaded for loaded in catalogue.offered()
                  if loaded.definition.id in enabled or EVERYWHERE in loaded.definition.regions
                  or regions & set(loaded.definition.regions)], regions)

"""The pathways installed packages offer, loaded once per app through `eparcours_pathways`.

Each package's answer is read item by item: a path to a `.yaml`/`.yml`/`.json` file or to a
folder of them, or a mapping. Every definition is validated on its own; a malformed one becomes
a `PathwayProblem` naming the package, the file, the pathway, the step and the field. It is
logged and recorded on `/-/plugins` through the core's failure record, listed on
`/p/eparcours/pathways`, and never stops the other definitions from loading.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points, packages_distributions
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bouquet_eparcours.definitions import PathwayDefinition, check_references
from bouquet_eparcours.hookspecs import HOOK, ensure_hookspecs

log = logging.getLogger("bouquet.eparcours")

SUFFIXES = (".yaml", ".yml", ".json")
# pydantic's error types, in words a region's author reads on the diagnostic page.
_MESSAGES = {
    "missing": "champ obligatoire manquant",
    "extra_forbidden": "champ inconnu (faute de frappe ?)",
    "string_type": "texte attendu (mettez la valeur entre guillemets)",
    "bool_type": "true ou false attendu",
    "bool_parsing": "true ou false attendu",
    "int_type": "nombre entier attendu",
    "int_parsing": "nombre entier attendu",
    "float_type": "nombre attendu",
    "float_parsing": "nombre attendu",
    "tuple_type": "liste attendue",
    "model_type": "objet (clé: valeur) attendu",
    "literal_error": "valeur non permise",
    "string_pattern_mismatch": "identifiant attendu : minuscules, chiffres, - ou _ (ex. suivi-hba1c)",
    "string_too_short": "texte vide",
    "string_too_long": "texte trop long",
    "too_short": "liste vide ou trop courte",
    "greater_than_equal": "valeur trop petite",
    "less_than_equal": "valeur trop grande",
}


class PathwayDefinitionError(ValueError):
    """A definition a package offered was refused (what `/-/plugins` shows as the hook's failure)."""


@dataclass(frozen=True)
class PathwayProblem:
    """Why one definition (or one item of a package's answer) was not loaded."""

    plugin: str
    distribution: str | None
    source: str
    message: str
    pathway: str | None = None
    step: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = [f"module {self.plugin}" + (f" (paquet {self.distribution})" if self.distribution else ""),
                 self.source]
        where += [f"parcours « {self.pathway} »"] * bool(self.pathway) + [f"étape « {self.step} »"] * bool(self.step)
        where += [f"champ « {self.field} »"] * bool(self.field)
        return " — ".join(where) + f" : {self.message}"


@dataclass(frozen=True)
class LoadedPathway:
    """A valid definition and where it came from."""

    definition: PathwayDefinition
    plugin: str
    distribution: str | None
    source: str


@dataclass
class Catalogue:
    """Every valid pathway (by id, then version) and every problem met while loading."""

    pathways: dict[str, dict[str, LoadedPathway]] = field(default_factory=dict)
    problems: list[PathwayProblem] = field(default_factory=list)

    def offered(self) -> list[LoadedPathway]:
        """The current version of each pathway, by title."""
        current = [self.current(pathway_id) for pathway_id in self.pathways]
        return sorted((p for p in current if p is not None), key=lambda p: p.definition.title)

    def current(self, pathway_id: str) -> LoadedPathway | None:
        """The highest version of `pathway_id` (versions compared number by number), or None."""
        versions = self.pathways.get(pathway_id)
        return versions[max(versions, key=_version_key)] if versions else None

    def _add(self, loaded: LoadedPathway) -> PathwayProblem | None:
        definition = loaded.definition
        versions = self.pathways.setdefault(definition.id, {})
        if definition.version in versions:
            first = versions[definition.version]
            return PathwayProblem(loaded.plugin, loaded.distribution, loaded.source,
                                  f"version {definition.version} déjà fournie par le module {first.plugin} ; ignorée",
                                  pathway=definition.id)
        versions[definition.version] = loaded
        return None


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in version.replace("-", ".").split("."))


_lock = threading.Lock()


def catalogue_of(state: Any) -> Catalogue:
    """The app's catalogue (`state` is `app.state`), loaded on first use. Blocking (reads files)."""
    catalogue = getattr(state, "eparcours_catalogue", None)
    if catalogue is None:
        with _lock:  # two first requests at once must not load (and report problems) twice
            catalogue = getattr(state, "eparcours_catalogue", None)
            if catalogue is None:
                catalogue = load(state.plugins)
                state.eparcours_catalogue = catalogue
    return catalogue


def load(plugins: Any) -> Catalogue:
    """Ask every package for its pathways and validate them one by one. Blocking (reads files)."""
    ensure_hookspecs(plugins.pm)
    catalogue = Catalogue()
    by_entry_point = {ep.name: ep.dist.name for ep in entry_points(group="bouquet") if ep.dist is not None}
    by_module: Mapping[str, list[str]] | None = None  # read only when needed: it scans every installed file
    for result in plugins.call(HOOK):
        plugin = result.plugin
        distribution = by_entry_point.get(plugin)
        if distribution is None:
            by_module = packages_distributions() if by_module is None else by_module
            distribution = _distribution_of(plugins.plugin(plugin), by_module)
        items = result.value if isinstance(result.value, list | tuple) else [result.value]
        for item in items:
            for outcome in _read(item, plugin, distribution):
                problem = outcome if isinstance(outcome, PathwayProblem) else catalogue._add(outcome)
                if problem is not None:
                    _report(plugins, catalogue, problem)
    return catalogue


def _report(plugins: Any, catalogue: Catalogue, problem: PathwayProblem) -> None:
    catalogue.problems.append(problem)
    # The core's failure record: logged with the plugin's name, counted in /metrics and on /-/plugins.
    plugins.report_failure(problem.plugin, HOOK, PathwayDefinitionError(str(problem)))


def _distribution_of(module: object, distributions: Mapping[str, list[str]]) -> str | None:
    top = getattr(module, "__name__", type(module).__module__).split(".")[0]
    names = distributions.get(top)
    return names[0] if names else None


def _read(item: object, plugin: str, distribution: str | None) -> Iterable[LoadedPathway | PathwayProblem]:
    if isinstance(item, Mapping):
        yield _validated(item, plugin, distribution, "données Python")
        return
    if not isinstance(item, str | Path):
        yield PathwayProblem(plugin, distribution, "réponse du module",
                             f"attendu un chemin de fichier ou un objet parcours, reçu {type(item).__name__}")
        return
    path = Path(item)
    files = sorted(p for p in path.iterdir() if p.suffix in SUFFIXES) if path.is_dir() else [path]
    for file in files:
        label = f"fichier {_shown(file)}"
        try:
            text = file.read_text(encoding="utf-8")
            data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
        except FileNotFoundError:
            yield PathwayProblem(plugin, distribution, label, "fichier introuvable")
            continue
        except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as err:
            yield PathwayProblem(plugin, distribution, label, f"fichier illisible ({_first_line(err)})")
            continue
        if not isinstance(data, Mapping):
            yield PathwayProblem(plugin, distribution, label, "le fichier doit contenir un parcours (clé: valeur)")
            continue
        yield _validated(data, plugin, distribution, label)


def _validated(data: Mapping[str, Any], plugin: str, distribution: str | None, source: str) -> LoadedPathway | PathwayProblem:
    pathway = data.get("id") if isinstance(data.get("id"), str) else None
    try:
        definition = PathwayDefinition.model_validate(dict(data))
    except ValidationError as err:
        error = err.errors()[0]
        step, field_path = _located(data, error["loc"])
        more = f" (et {err.error_count() - 1} autre(s) erreur(s))" if err.error_count() > 1 else ""
        return PathwayProblem(plugin, distribution, source, _french(error) + more, pathway, step, field_path)
    problems = check_references(definition)
    if problems:
        step, field_path, message = problems[0]
        more = f" (et {len(problems) - 1} autre(s) erreur(s))" if len(problems) > 1 else ""
        return PathwayProblem(plugin, distribution, source, message + more, definition.id, step, field_path)
    return LoadedPathway(definition, plugin, distribution, source)


def _located(data: Mapping[str, Any], loc: tuple[Any, ...]) -> tuple[str | None, str | None]:
    """The step named by a pydantic location (by its id when it has one) and the field within it."""
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        steps = data.get("steps")
        raw = steps[loc[1]] if isinstance(steps, list) and loc[1] < len(steps) else None
        step_id = raw.get("id") if isinstance(raw, Mapping) and isinstance(raw.get("id"), str) else f"n° {loc[1] + 1}"
        return step_id, ".".join(str(part) for part in loc[2:]) or None
    return None, ".".join(str(part) for part in loc) or None


def _french(error: Mapping[str, Any]) -> str:
    if error["type"] == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    message = _MESSAGES.get(error["type"], error["msg"])
    if "input" in error and error["type"] not in ("missing", "extra_forbidden") and not isinstance(error["input"], dict | list):
        message += f", reçu « {error['input']} »"
    return message


def _shown(path: Path) -> str:
    # The path inside its package is what the region's author recognises.
    parts = path.parts
    return "/".join(parts[-2:]) if len(parts) >= 2 else str(path)


def _first_line(err: BaseException) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__

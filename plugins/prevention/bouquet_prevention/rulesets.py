"""Reading rule files and merging what other plugins contribute into the rule set in force.

The plugin ships its rules in `data/rules/*.yaml`. Another plugin (a region's campaign) adds
rules, replaces one by id, or withdraws one through the `prevention_rules` hook (see
`hookspecs.py`); each contribution is validated like a file, and one that fails is refused
as a whole, naming the plugin, while the others still apply.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from bouquet_prevention.catalogue import Catalogue, default_catalogue
from bouquet_prevention.errors import RuleFileError, from_validation
from bouquet_prevention.rules import SCHEDULE_KINDS, Rule, RuleWithdrawal

__all__ = ["RULES_DIR", "RULE_SETS_DIR", "RuleSet", "default_rules", "load_rule_dir", "load_rule_file", "merge",
           "optional_rule_sets", "parse_rules", "with_rule_sets"]

log = logging.getLogger("bouquet.prevention")

RULES_DIR = Path(__file__).parent / "data" / "rules"
#: Rule sets the operator enables (BOUQUET_PREVENTION_RULE_SETS=nourrissons): data/rulesets/<name>.yaml.
RULE_SETS_DIR = Path(__file__).parent / "data" / "rulesets"
SHIPPED = "bouquet-prevention"
_WITHDRAWAL = TypeAdapter(RuleWithdrawal)


@dataclass(frozen=True)
class RuleSet:
    """The rules in force, in order, with where each came from (a file name or "plugin NAME"),
    the rules withdrawn by plugins (id → why) and the contributions refused."""

    rules: tuple[Rule, ...]
    origins: Mapping[str, str] = field(default_factory=dict)
    withdrawn: Mapping[str, str] = field(default_factory=dict)
    refused: tuple[RuleFileError, ...] = ()
    _by_id: dict[str, Rule] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {rule.id: rule for rule in self.rules})

    def get(self, rule_id: str) -> Rule | None:
        return self._by_id.get(rule_id)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)


def parse_rules(raw: Any, source: str, catalogue: Catalogue, *,
                allow_withdrawals: bool = False) -> list[Rule | RuleWithdrawal]:
    """Validate rule definitions (a list, or a mapping with a `rules` list) from `source`.

    Checks every field and every reference to the catalogue (act codes, conditions); raises
    RuleFileError naming `source`, the rule id and the field at the first problem.
    """
    items = raw.get("rules") if isinstance(raw, Mapping) and set(raw) <= {"rules"} else raw
    if not isinstance(items, list):
        raise RuleFileError(source, "expected a list of rules (or a mapping with a 'rules' list)")
    parsed: list[Rule | RuleWithdrawal] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        rule_id = item.get("id") if isinstance(item, Mapping) else getattr(item, "id", None)
        if allow_withdrawals and _is_withdrawal(item):
            parsed.append(_withdrawal(item, source, index))
            continue
        try:
            rule = item if isinstance(item, Rule) else Rule.model_validate(item)
        except ValidationError as exc:
            raise from_validation(source, exc, rule=rule_id if isinstance(rule_id, str) else f"#{index + 1}",
                                  ignore=SCHEDULE_KINDS) from None
        _check_references(rule, source, catalogue)
        if rule.id in seen:
            raise RuleFileError(source, "this id is used by another rule of the same source", rule=rule.id, field="id")
        seen.add(rule.id)
        parsed.append(rule)
    return parsed


def load_rule_file(path: Path, catalogue: Catalogue) -> list[Rule]:
    """The rules of one YAML file; RuleFileError names the file, rule and field on any problem."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise RuleFileError(path.name, f"invalid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    except OSError as exc:
        raise RuleFileError(path.name, f"cannot be read: {exc.strerror}") from None
    return [rule for rule in parse_rules(raw, path.name, catalogue) if isinstance(rule, Rule)]


def load_rule_dir(directory: Path, catalogue: Catalogue) -> RuleSet:
    """Every `*.yaml` file of `directory`, in name order; an id defined in two files is refused."""
    rules: list[Rule] = []
    origins: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        for rule in load_rule_file(path, catalogue):
            if rule.id in origins:
                raise RuleFileError(path.name, f"this id is already defined in {origins[rule.id]}",
                                    rule=rule.id, field="id")
            origins[rule.id] = path.name
            rules.append(rule)
    if not rules:
        raise RuleFileError(str(directory), "no rule found")
    return RuleSet(tuple(rules), origins)


def merge(base: RuleSet, contributions: Iterable[tuple[str, Any]], catalogue: Catalogue) -> RuleSet:
    """`base` with each plugin's contribution applied in order: new ids are added, known ids replaced,
    withdrawals remove. A contribution that fails validation is refused whole (logged, kept in `refused`)."""
    rules = {rule.id: rule for rule in base.rules}
    origins, withdrawn, refused = dict(base.origins), dict(base.withdrawn), list(base.refused)
    for plugin, value in contributions:
        source = f"plugin {plugin}"
        try:
            items = parse_rules(_read_contribution(value, source), source, catalogue, allow_withdrawals=True)
        except RuleFileError as exc:
            log.error("prevention rules from %s refused: %s", source, exc)
            refused.append(exc)
            continue
        for item in items:
            if isinstance(item, RuleWithdrawal):
                if rules.pop(item.withdraw, None) is not None:
                    origins.pop(item.withdraw, None)
                    withdrawn[item.withdraw] = f"{source}: {item.reason}"
                continue
            rules[item.id] = item  # replaced in place: the rule keeps its position
            origins[item.id] = source
    return RuleSet(tuple(rules.values()), origins, withdrawn, tuple(refused))


def optional_rule_sets() -> list[str]:
    """The names of the rule sets the operator may enable."""
    return sorted(path.stem for path in RULE_SETS_DIR.glob("*.yaml"))


@cache
def with_rule_sets(names: tuple[str, ...]) -> RuleSet:
    """The shipped rules plus the optional rule sets `names` (their rules come after, in that order)."""
    base = default_rules()
    rules, origins = list(base.rules), dict(base.origins)
    for name in names:
        if name not in optional_rule_sets():
            raise RuleFileError("BOUQUET_PREVENTION_RULE_SETS", f"unknown rule set {name!r} (known: "
                                f"{', '.join(optional_rule_sets())})")
        for rule in load_rule_file(RULE_SETS_DIR / f"{name}.yaml", default_catalogue()):
            if rule.id in origins:
                raise RuleFileError(f"{name}.yaml", f"this id is already defined in {origins[rule.id]}",
                                    rule=rule.id, field="id")
            origins[rule.id] = f"{name}.yaml"
            rules.append(rule)
    return RuleSet(tuple(rules), origins)


@cache
def default_rules() -> RuleSet:
    """The rules shipped with the plugin (read once per process: they are code, not state)."""
    return load_rule_dir(RULES_DIR, default_catalogue())


def _read_contribution(value: Any, source: str) -> Any:
    """A hook's return value as raw rule data: a path is read as a YAML file or a folder of them."""
    if isinstance(value, str | Path):
        path = Path(value)
        paths = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
        raw: list[Any] = []
        for one in paths:
            try:
                loaded = yaml.safe_load(one.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError) as exc:
                raise RuleFileError(f"{source} ({one.name})", f"cannot be read: {exc}") from None
            raw.extend(loaded.get("rules", []) if isinstance(loaded, Mapping) else loaded or [])
        return raw
    if isinstance(value, Rule | RuleWithdrawal | Mapping):
        return [value]
    return list(value) if isinstance(value, tuple) else value


def _is_withdrawal(item: Any) -> bool:
    return isinstance(item, RuleWithdrawal) or (isinstance(item, Mapping) and "withdraw" in item)


def _withdrawal(item: Any, source: str, index: int) -> RuleWithdrawal:
    if isinstance(item, RuleWithdrawal):
        return item
    try:
        return _WITHDRAWAL.validate_python(item)
    except ValidationError as exc:
        raise from_validation(source, exc, rule=str(item.get("withdraw") or f"#{index + 1}")) from None


def _check_references(rule: Rule, source: str, catalogue: Catalogue) -> None:
    for index, requirement in enumerate(rule.satisfied_by):
        if requirement.act not in catalogue.acts:
            raise RuleFileError(source, f"unknown act code {requirement.act!r} (known: "
                                f"{', '.join(sorted(catalogue.acts))})", rule=rule.id, field=f"satisfied_by[{index}]")
    conditions = rule.population.conditions
    for name, codes in (("any_of", conditions.any_of), ("none_of", conditions.none_of)):
        for index, code in enumerate(codes):
            if code not in catalogue.conditions:
                raise RuleFileError(source, f"unknown condition {code!r} (known: "
                                    f"{', '.join(sorted(catalogue.conditions))})", rule=rule.id,
                                    field=f"population.conditions.{name}[{index}]")
    for index, exclusion in enumerate(rule.exclusions):
        if exclusion.act not in catalogue.acts:
            raise RuleFileError(source, f"unknown act code {exclusion.act!r}", rule=rule.id,
                                field=f"exclusions[{index}].act")

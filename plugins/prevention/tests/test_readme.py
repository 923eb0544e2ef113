"""The README lists every rule the plugin ships (issue: every rule, its source, what it does not model)."""

from __future__ import annotations

from pathlib import Path

from bouquet_prevention.rulesets import optional_rule_sets, with_rule_sets

README = Path(__file__).parents[1] / "README.md"


def test_every_rule_is_in_the_readme_with_its_reference() -> None:
    text = README.read_text(encoding="utf-8")
    for rule in with_rule_sets(tuple(optional_rule_sets())):
        row = next((line for line in text.splitlines() if line.startswith(f"| `{rule.id}` |")), None)
        assert row is not None, f"{rule.id} is not listed in README.md"
        assert rule.source.url in row, f"{rule.id}: its reference is not in its README row"

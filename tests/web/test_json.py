"""The shared JSON reader: bounded in size and depth (issue 13, item 4)."""

from __future__ import annotations

import json

import pytest

from bouquet.web.json import JsonBodyError, depth_exceeds, parse_json


def test_depth_is_bounded_whatever_the_parser_would_do() -> None:
    with pytest.raises(JsonBodyError) as deep:
        parse_json(b"[" * 200_000 + b"]" * 200_000)  # the parser itself would recurse too deep
    assert (deep.value.reason, deep.value.status) == ("too_deep", 400)
    with pytest.raises(JsonBodyError) as deeper:
        parse_json(json.dumps({"a": [[[[{"b": [1]}]]]]}), max_depth=5)
    assert deeper.value.reason == "too_deep"
    assert parse_json(json.dumps({"a": [[[[{"b": [1]}]]]]}), max_depth=7) == {"a": [[[[{"b": [1]}]]]]}


def test_depth_counts_arrays_and_objects_only() -> None:
    assert not depth_exceeds("text", 0)
    assert depth_exceeds([], 0)
    assert not depth_exceeds({"a": [1, 2], "b": {"c": "d"}}, 2)
    assert depth_exceeds({"a": [1, 2], "b": {"c": ["d"]}}, 2)


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b'{"a": 1,}', b"NaN-ish"])
def test_what_is_not_json_is_said_in_french(raw: bytes) -> None:
    with pytest.raises(JsonBodyError) as refused:
        parse_json(raw)
    assert refused.value.reason == "bad_json"
    assert refused.value.message == "Le corps de la requête n'est pas un JSON valide."

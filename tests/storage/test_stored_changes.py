"""An audit event's changes read back as written (lottrack.storage.audit_hash: read with
the json module's scanner, and what is not one compact JSON value with json.loads)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lottrack.storage.audit_hash import canonical_json, stored_changes

values = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
"""What a field may hold, NaN, infinities and integers of any size included."""


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@given(st.dictionaries(st.text(), st.tuples(values, values).map(list)))
def test_changes_read_back_as_written(changes: dict[str, list[Any]]) -> None:
    read = stored_changes(canonical_json(changes))
    assert read.keys() == changes.keys()
    for field, pair in changes.items():
        assert same(read[field], pair), (field, read[field], pair)


def test_spaces_around_the_value_are_read_and_nothing_is_read_as_no_change() -> None:
    assert stored_changes(' {"a": [1, 2]} ') == {"a": [1, 2]}
    assert stored_changes(None) == {}
    assert stored_changes("") == {}


@pytest.mark.parametrize("text", ['{"a": [1, 2]} x', '{"a": [1, 2]}{}', "x", '{"a": '])
def test_text_that_is_not_one_json_value_is_refused_as_json_loads_refuses_it(
    text: str,
) -> None:
    with pytest.raises(json.JSONDecodeError):
        stored_changes(text)

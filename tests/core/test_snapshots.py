"""Frozen copies of records (lottrack.kernel.snapshots)."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from lottrack.kernel.snapshots import snapshot


@dataclasses.dataclass(frozen=True)
class Info:
    id: int
    code: str


def test_a_snapshot_copies_each_field_by_name_and_nothing_else() -> None:
    row = SimpleNamespace(id=3, code="TLS-003", secret="not copied")
    info = snapshot(Info, row)
    assert info == Info(3, "TLS-003")
    row.code = "changed"
    assert info.code == "TLS-003"  # a copy, not a view of the row


def test_a_row_without_an_id_is_refused() -> None:
    with pytest.raises(ValueError, match="has no id yet"):
        snapshot(Info, SimpleNamespace(id=None, code="x"))

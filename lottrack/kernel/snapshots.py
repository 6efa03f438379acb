"""Plain, frozen copies of records: what services hand out instead of live ORM rows (a
widget holding one can never lazy-load from a closed session in another thread)."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def snapshot(cls: type[T], row: Any) -> T:
    """A ``cls`` (a dataclass) whose every field is the attribute of that name of ``row``;
    ``row`` must have an id (it was flushed)."""
    if getattr(row, "id", None) is None:
        raise ValueError(f"{type(row).__name__} has no id yet: flush it first")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    return cls(**{f.name: getattr(row, f.name) for f in fields})

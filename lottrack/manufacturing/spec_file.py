"""The specification file format (design §6.8, §10), as a pydantic schema.

An import file is refused whole when a key is unknown (a typo such as ``"maxx"`` would
otherwise drop a limit), a value has the wrong type, or a test that §10 requires for
release is missing, not required for release, or only reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from lottrack.kernel.errors import ValidationError

Kind = Literal["numeric", "categorical", "report-only", "endotoxin"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ItemFile(_Strict):
    """One test of the file."""

    code: str
    test_name: str
    kind: Kind
    dimension: str = ""
    min: float | None = None
    max: float | None = None
    accepted: list[str] = Field(default_factory=list)
    required: bool | None = None


class SpecFile(_Strict):
    """The whole file: a name, the §10 settings and the tests."""

    name: str | None = None
    max_passage: int | None = None
    min_replicates: int | None = None
    max_cv_pct: float | None = None
    fresh_shelf_life_hours: float | None = None
    thaw_max_minutes: float | None = None
    items: list[ItemFile] = Field(min_length=1)


def _where(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate(raw: Any) -> None:
    """Refuse a file that does not follow :class:`SpecFile`, naming the key and where."""
    try:
        SpecFile.model_validate(raw)
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        if error["type"] == "extra_forbidden":
            parent = _where(loc[:-1])
            raise ValidationError(
                f'Specification file: unknown key "{loc[-1]}"'
                f"{f' in {parent}' if parent else ''}; nothing was imported.",
                field=str(loc[-1]),
            ) from None
        if loc == ("items",) and error["type"] in ("missing", "too_short", "list_type"):
            raise ValidationError(
                "Specification file: expected an object with a list of items.", field="items"
            ) from None
        where = _where(loc) or "the file"
        raise ValidationError(
            f"Specification file: {where}: {error['msg']} (found {error.get('input')!r:.60}).",
            field=where,
        ) from None


REQUIRED_TESTS: dict[str, str] = {
    "sterility": "sterility",
    "mycoplasma": "mycoplasma",
    "endotoxin": "endotoxin",
    "viability_fresh": "viability",
    "cd73": "identity marker CD73",
    "cd90": "identity marker CD90",
    "cd105": "identity marker CD105",
    "cd45": "identity marker CD45",
    "cd34": "identity marker CD34",
    "cd14": "identity marker CD14",
    "cd19": "identity marker CD19",
    "hla_dr": "identity marker HLA-DR",
}
"""Item code → what design §10 requires a release specification to test."""
MIN_REPLICATES = 2
"""A count's CV needs two replicates at least."""


def check_required(items: Iterable[tuple[str, str, bool]], min_replicates: int) -> None:
    """Refuse a version lacking a §10 test: each code of :data:`REQUIRED_TESTS` present,
    required for release and judged (not report-only). ``items`` are (code, kind,
    required)."""
    given = {code: (kind, required) for code, kind, required in items}
    lacking = [
        what
        for code, what in REQUIRED_TESTS.items()
        if code not in given or not given[code][1] or given[code][0] == "report-only"
    ]
    if lacking:
        raise ValidationError(
            "Specification file: a release specification must test, as required for "
            f"release and against a limit: {', '.join(lacking)} (design §10); codes "
            f"{', '.join(c for c, w in REQUIRED_TESTS.items() if w in lacking)}.",
            field="items",
        )
    if min_replicates < MIN_REPLICATES:
        raise ValidationError(
            f"Specification file: min_replicates must be at least "
            f"{MIN_REPLICATES} (a count's CV needs two replicates).",
            field="min_replicates",
        )

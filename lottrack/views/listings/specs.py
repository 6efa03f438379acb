"""Specification versions as the screens and ``lottrack spec show`` list them: one
reading and one wording for both.

Specifications hold no confidential data, so this read asks for no permission: ``lottrack
spec show`` prints the current version without a login, as an administrator's screen
lists every version.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from lottrack.manufacturing import specifications
from lottrack.storage.models import Specification


@dataclass(frozen=True)
class SpecItemRow:
    """One test of a version."""

    code: str
    test: str
    kind: str
    unit: str
    """The unit of a numeric test, ``—`` for the others."""
    limit: str
    required: bool

    @property
    def need(self) -> str:
        """``required`` or ``not required for release``."""
        return "required" if self.required else "not required for release"


@dataclass(frozen=True)
class SpecVersion:
    """One specification version with its tests (plain values, not ORM rows)."""

    version: int
    name: str
    current: bool
    """True for the version in force: the one new lots are tested against."""
    created_at: dt.datetime
    settings: str
    """The version's manufacturing limits in one line (:func:`settings_text`)."""
    items: tuple[SpecItemRow, ...]
    status: str = specifications.IN_FORCE
    """``in force``, ``proposed`` (awaiting QA approval) or ``superseded``."""


def settings_text(spec: Specification) -> str:
    """``maximum passage P4 · replicate counts ≥ 2, CV ≤ 10 % · fresh shelf life 24 h ·
    thaw to infusion ≤ 60 min``."""
    return (
        f"maximum passage P{spec.max_passage} · replicate counts ≥ "
        f"{spec.min_replicates}, CV ≤ {spec.max_cv_pct:g} % · fresh shelf life "
        f"{spec.fresh_shelf_life_hours:g} h · thaw to infusion ≤ "
        f"{spec.thaw_max_minutes:g} min"
    )


def spec_versions(session: Session, *, current_only: bool = False) -> tuple[SpecVersion, ...]:
    """Every version, newest first (proposed ones included), each with its tests and
    status; only the one in force when ``current_only``."""
    specs = (
        [specifications.current_spec(session)] if current_only else specifications.versions(session)
    )
    status = specifications.status_of(session)
    out = []
    for spec in specs:
        assert spec.id is not None
        items = tuple(
            SpecItemRow(
                item.code,
                item.test_name,
                item.kind,
                item.unit or "—",
                specifications.limit_text(item),
                item.required,
            )
            for item in specifications.items(session, spec.id)
        )
        state = status[spec.version]
        out.append(
            SpecVersion(
                spec.version,
                spec.name,
                state == specifications.IN_FORCE,
                spec.created_at,
                settings_text(spec),
                items,
                state,
            )
        )
    return tuple(out)

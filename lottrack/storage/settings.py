"""Configurable defaults of design.md §10 that are trial- or site-wide (not per spec)."""

from __future__ import annotations

from sqlmodel import Session

from lottrack.storage.models import Setting

DEFAULTS: dict[str, str] = {
    "dose_min_cells_per_kg": "1000000",
    "dose_max_cells_per_kg": "2000000",
    "weight_max_age_days": "7",
    "lockout_failures": "5",
    "password_max_age_days": "180",
    "password_min_length": "12",
    "period2_week": "24",
    "visit_window_days": "7",
    "randomisation_block_size": "4",
    "administration_window_minutes": "30",
    "idle_logout_minutes": "15",
    "counting_error_pct": "10",
}


def get_float(session: Session, key: str) -> float:
    """A setting as a number (the stored value, else the §10 default)."""
    row = session.get(Setting, key)
    return float(row.value if row is not None else DEFAULTS[key])


def get_int(session: Session, key: str) -> int:
    """A setting as a whole number."""
    return int(get_float(session, key))

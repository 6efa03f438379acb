"""A small trial database for the pharmacy, ward and blinding tests, at a frozen moment.

The core's clock (``utcnow``) is frozen at the app's frozen clock while the template is
built and while each test runs, so bag expiry, weight age and the times on screen are the
same on every run; kit codes come from a seeded generator for the same reason.

The template holds the demo people (same usernames and passwords) and three subjects:

* ``TLS-101`` MSC-first: period 1 planned, a released fresh bag ready to dispense;
* ``TLS-102`` placebo-first: period 1 dispensed (placebo) and verified, at the bedside;
* ``TLS-103`` MSC-first: period 1 dispensed (MSC) and verified, at the bedside.
"""

from __future__ import annotations

import datetime as dt
import importlib
import random
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from lottrack.demo import database as demo
from lottrack.demo.scenario import Cast, Scenario
from lottrack.facility.subjects import UNAMBIGUOUS_ALPHABET
from lottrack.install import bootstrap
from lottrack.records import accounts
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.storage.models import base
from lottrack.trial.allocation import MSC_FIRST, PLACEBO_FIRST
from tests.conftest import add_account
from tests.tui.helpers import FROZEN_NOW

FROZEN_UTC = FROZEN_NOW.astimezone(dt.UTC)
CAST_ROLES = {
    "admin": "admin",
    "technician": "tech",
    "qa": "qa",
    "pharmacist": "pharm",
    "pharmacist2": "pharm2",
    "clinician": "ward",
    "investigator": "inv",
}
DOB = {
    "TLS-101": dt.date(1975, 12, 24),
    "TLS-102": dt.date(1969, 3, 12),
    "TLS-103": dt.date(1961, 2, 14),
}
_CORE = (
    "lottrack.trial.dispensing",
    "lottrack.trial.ward",
    "lottrack.trial.visits",
    "lottrack.trial.listings",
    "lottrack.demo.scenario",
    "lottrack.views.documents.issue",
    "lottrack.views.documents.builders",
    "lottrack.views.documents.blinded_builders",
    "lottrack.manufacturing.formulation",
    "lottrack.release.disposition",
)


def freeze_core(mp: pytest.MonkeyPatch, at: dt.datetime = FROZEN_UTC) -> None:
    """Make every ``utcnow`` of the core return ``at``; kit codes become reproducible."""
    for name in _CORE:
        importlib.import_module(name)
    original = base.utcnow
    for name, module in list(sys.modules.items()):
        if name.startswith(("lottrack", "tui")) and getattr(module, "utcnow", None) is original:
            mp.setattr(module, "utcnow", lambda: at)
    rng = random.Random(20250314)

    def code(session: Session, column: Any, prefix: str, length: int) -> str:
        while True:
            text = prefix + "".join(rng.choice(UNAMBIGUOUS_ALPHABET) for _ in range(length))
            if session.exec(select(column).where(column == text)).first() is None:
                return text

    mp.setattr("lottrack.manufacturing.bag_codes.new_random_code", code)


@dataclass
class TrialIds:
    """Ids of the template's records, for tests to act on."""

    visits: dict[str, tuple[int, int]]
    bags: dict[str, int]
    dispensings: dict[str, int]


def _cast(db: Database) -> Cast:
    passwords = {u.username: u.password for u in demo.DEMO_USERS}
    people: dict[str, CurrentUser] = {}
    with db.session() as session:
        admin = accounts.create_first_admin(session, "admin", "Ada Admin", passwords["admin"])
        people["admin"] = CurrentUser.of(admin)
    for user in demo.DEMO_USERS:
        if user.username == "admin":
            continue
        with db.session() as session:
            people[user.username] = add_account(
                session,
                people["admin"],
                username=user.username,
                full_name=user.full_name,
                roles=user.roles,
                password=user.password,
            )
    return Cast(
        {part: people[name] for part, name in CAST_ROLES.items()},
        {part: passwords[name] for part, name in CAST_ROLES.items()},
    )


def build(db: Database) -> TrialIds:
    """Build the template's people and subjects (call with the core frozen)."""
    bootstrap.initialise(db)
    sc = Scenario.create(db, _cast(db))
    ids = TrialIds({}, {}, {})
    for code, sequence in (
        ("TLS-101", MSC_FIRST),
        ("TLS-102", PLACEBO_FIRST),
        ("TLS-103", MSC_FIRST),
    ):
        subject = sc.subject(code, DOB[code], "AB")
        lot_id, bag = sc.made_lot(subject)
        sc.release(lot_id)
        ids.visits[code] = sc.enrol(subject, sequence, FROZEN_UTC.date())
        ids.bags[code] = bag
    ids.dispensings["TLS-102"] = sc.dispense(ids.visits["TLS-102"][0])
    ids.dispensings["TLS-103"] = sc.dispense(ids.visits["TLS-103"][0], msc_bag=ids.bags["TLS-103"])
    return ids


_BUILT: dict[str, tuple[Path, TrialIds]] = {}


@pytest.fixture(scope="session")
def trial_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TrialIds]:
    """The template file, built once per session (each test module imports this fixture,
    so the file is kept here rather than in each module's fixture cache)."""
    if "template" not in _BUILT:
        path = tmp_path_factory.mktemp("trial") / "trial.db"
        with pytest.MonkeyPatch.context() as mp:
            freeze_core(mp)
            db = Database(f"sqlite:///{path}")
            ids = build(db)
            db.dispose()
        _BUILT["template"] = (path, ids)
    return _BUILT["template"]


@pytest.fixture
def trial(
    trial_template: tuple[Path, TrialIds], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Database, TrialIds]]:
    """A private copy of the template, with the core frozen for the test."""
    source, ids = trial_template
    target = tmp_path / "trial.db"
    for suffix in ("", "-wal"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy(Path(f"{source}{suffix}"), Path(f"{target}{suffix}"))
    freeze_core(monkeypatch)
    monkeypatch.setenv("LOTTRACK_DOCUMENTS_DIR", str(tmp_path / "documents"))
    db = Database(f"sqlite:///{target}")
    yield db, ids
    db.dispose()

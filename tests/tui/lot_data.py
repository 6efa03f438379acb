"""A small, fixed manufacturing data set for the lot, form and QA screen tests.

Built through the real services (so the audit trail verifies) with the clock of the core
frozen at the tests' ``FROZEN_NOW`` and the random codes (chain-of-identity ids, kit
codes, bag divisions) drawn from a seeded generator: the same data, DINs and times every
run, so snapshots of these screens stay stable. The demo's accounts are made (``tech``,
``qa``… with the demo passwords), not the demo trial, which changes as the demo grows.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import os
import random
import secrets
import shutil
import tempfile
import types
from pathlib import Path

import pytest

from lottrack.demo import database as demo
from lottrack.demo.scenario import CONFORMING_QC, Cast, Scenario
from lottrack.install.bootstrap import initialise
from lottrack.records import accounts
from lottrack.records.permissions import CurrentUser
from lottrack.release import disposition
from lottrack.storage import anchors
from lottrack.storage.db import Database
from lottrack.storage.models import base
from tests.conftest import add_account
from tests.tui.helpers import FROZEN_NOW

CAST = {
    "admin": "admin",
    "technician": "tech",
    "qa": "qa",
    "pharmacist": "pharm",
    "pharmacist2": "pharm2",
    "clinician": "ward",
    "investigator": "inv",
}
PASSWORDS = {u.username: u.password for u in demo.DEMO_USERS}


class _FrozenDatetime(dt.datetime):
    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
        moment = FROZEN_NOW.astimezone(dt.UTC)
        return moment.astimezone(tz) if tz else moment.replace(tzinfo=None)


def _frozen_dt_module() -> types.SimpleNamespace:
    namespace = types.SimpleNamespace(
        **{k: getattr(dt, k) for k in dir(dt) if not k.startswith("__")}
    )
    namespace.datetime = _FrozenDatetime
    return namespace


def build(path: Path) -> dict[str, int]:
    """The data set in a new SQLite file; returns lot ids by subject code."""
    rng = random.Random(2025)
    db = Database(f"sqlite:///{path}")
    # Accounts and reagent lots at the real time: passwords must not have aged, and the
    # reagents must still be in date when a test records a passage.
    users = _accounts(db)
    cast = Cast(
        {part: users[name] for part, name in CAST.items()},
        {part: PASSWORDS[name] for part, name in CAST.items()},
    )
    sc = Scenario.create(db, cast)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(base, "dt", _frozen_dt_module())  # utcnow() of the whole core
        mp.setattr(secrets, "choice", rng.choice)
        lots = _lots(sc, base.utcnow())
        db.dispose()
    return lots


def _accounts(db: Database) -> dict[str, CurrentUser]:
    """The demo's people (same usernames and passwords), made through the services."""
    initialise(db)
    first, *others = demo.DEMO_USERS
    with db.session() as session:
        admin = CurrentUser.of(
            accounts.create_first_admin(session, first.username, first.full_name, first.password)
        )
    users = {first.username: admin}
    for person in others:
        with db.session() as session:
            users[person.username] = add_account(
                session,
                admin,
                username=person.username,
                full_name=person.full_name,
                roles=person.roles,
                password=person.password,
            )
    return users


def _lots(sc: Scenario, now: dt.datetime) -> dict[str, int]:
    def day(n: float) -> dt.datetime:
        return now - dt.timedelta(days=n)

    lots: dict[str, int] = {}
    born = dt.date(1962, 5, 4)
    # growing: P0, P1 harvested, P2 seeded (the growth chart has two points).
    lots["TLS-101"] = sc.harvest_and_lot(sc.subject("TLS-101", born, "AB"), day(9))
    sc.passages(lots["TLS-101"], day(9) + dt.timedelta(hours=3), n=2)
    # ready for release; out of specification; released (with a valid signature).
    lots["TLS-102"], _ = sc.made_lot(sc.subject("TLS-102", born, "CD"), weight="82 kg")
    lots["TLS-103"], _ = sc.made_lot(
        sc.subject("TLS-103", born, "EF"), qc_results=dict(CONFORMING_QC, viability_fresh="75 %")
    )
    sc.conclude_investigations(lots["TLS-103"])  # QA: no laboratory error, the 75 % stands
    lots["TLS-104"], _ = sc.made_lot(sc.subject("TLS-104", born, "GH"))
    sc.release(lots["TLS-104"])
    # ready to formulate: P0–P1 harvested, final product counted.
    lots["TLS-105"] = sc.harvest_and_lot(sc.subject("TLS-105", born, "IJ"), day(8))
    last = sc.passages(lots["TLS-105"], day(8) + dt.timedelta(hours=2), n=2)
    sc.final_count(lots["TLS-105"], last + dt.timedelta(minutes=20))
    # quarantined.
    lots["TLS-106"], _ = sc.made_lot(sc.subject("TLS-106", born, "KL"))
    with sc.db.session() as s:
        disposition.quarantine(
            s,
            sc.cast.who("qa"),
            lots["TLS-106"],
            sc.cast.creds("qa"),
            "incubator excursion under investigation",
        )
    # a subject registered but not yet harvested (for the harvest form).
    sc.subject("TLS-107", born, "MN")
    return lots


@functools.cache
def template() -> tuple[Path, dict[str, int]]:
    """The data set, built once per test process into a temporary file."""
    folder = Path(tempfile.mkdtemp(prefix="lottrack-lots-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "lots.db"
    with pytest.MonkeyPatch.context() as env:  # its audit checkpoints beside it
        env.setenv(anchors.CHECKPOINT_DIR_ENV, str(folder))
        return path, build(path)


def private_copy(tmp_path: Path) -> tuple[Database, dict[str, int]]:
    """A copy of the data set that one test owns (always named ``lots.db``)."""
    source, lots = template()
    target = tmp_path / "lots.db"
    for suffix in ("", "-wal"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy(Path(f"{source}{suffix}"), Path(f"{target}{suffix}"))
    # Its checkpoints to the test's folder: the copy's audit trail verifies intact.
    checkpoints = os.environ.get(anchors.CHECKPOINT_DIR_ENV)
    for kept in source.parent.glob("audit-*.checkpoints") if checkpoints else ():
        shutil.copy(kept, Path(checkpoints or "") / kept.name)
    return Database(f"sqlite:///{target}"), lots

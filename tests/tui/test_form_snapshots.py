"""The forms and dialogs of a day's work at 80x24 and 120x40 (pytest-textual-snapshot),
as they open, on the frozen lot data set with every clock frozen: a QC result, the
formulation, a new account, a new site. Review the pictures before accepting.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import select
from textual.pilot import Pilot

from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import User
from tests.tui import trial_data
from tests.tui.helpers import frozen_clock, login, login_and_open, settle
from tests.tui.lot_data import private_copy
from tui.app import make_app
from tui.manufacturing.lot_detail import LotDetailScreen

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
Compare = Callable[..., bool]


def _lots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Database, dict[str, int]]:
    """The data set with the core's clock frozen; the accounts, made at the real time so
    that their passwords have not aged in other tests, are dated at the frozen moment too,
    so the account list behind the new-account dialog reads the same on every day."""
    db, ids = private_copy(tmp_path)
    trial_data.freeze_core(monkeypatch)
    with db.session() as session, audit.reason(session, "test data: dated at the frozen time"):
        audit.set_actor(session, None, "system:test-data")
        for user in session.exec(select(User)):
            user.password_changed_at = user.created_at = trial_data.FROZEN_UTC
            session.add(user)
    return db, ids


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("key", ["t", "f"], ids=["qc-result", "formulation"])
def test_lot_form(
    snap_compare: Compare,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
    key: str,
) -> None:
    """A technician's form opened from the record of a lot ready to formulate, empty.
    (The passage form is left out: the reagents' expiry it lists follows the real date.)"""
    db, ids = _lots(tmp_path, monkeypatch)

    async def run_before(pilot: Pilot[None]) -> None:
        await login_and_open(pilot, "tech", LotDetailScreen(ids["TLS-105"]), key)

    assert snap_compare(make_app(db, clock=frozen_clock), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("keys", [("u", "a"), ("t", "n")], ids=["new-user", "new-site"])
def test_admin_form(
    snap_compare: Compare,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
    keys: tuple[str, str],
) -> None:
    """The administrator's dialogs: a new account, a new site."""
    db, _ = _lots(tmp_path, monkeypatch)

    async def run_before(pilot: Pilot[None]) -> None:
        await login(pilot, "admin")
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    assert snap_compare(make_app(db, clock=frozen_clock), terminal_size=size, run_before=run_before)

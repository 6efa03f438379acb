"""The audit, users, sites and specifications screens at 80x24 and 120x40
(pytest-textual-snapshot), on data sets whose shown times are frozen, with the app and
core clocks frozen: the pictures change only when the layout does. Review them before
accepting.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from lottrack.storage.db import Database
from lottrack.storage.models import base
from tests.tui import trial_data
from tests.tui.helpers import frozen_clock, login, settle, tables_painted, until
from tests.tui.lot_data import _frozen_dt_module, private_copy
from tui.app import make_app

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
Compare = Callable[..., bool]


def _freeze_all(mp: pytest.MonkeyPatch) -> None:
    """Every clock of the core at the frozen moment, the column defaults (a row's
    ``created_at``, a password's date) too."""
    mp.setattr(base, "dt", _frozen_dt_module())
    trial_data.freeze_core(mp)


@pytest.fixture(scope="module")
def frozen_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trial data set with every date frozen: accounts, specification, site."""
    path = tmp_path_factory.mktemp("frozen-trial") / "trial.db"
    with pytest.MonkeyPatch.context() as mp:
        _freeze_all(mp)
        db = Database(f"sqlite:///{path}")
        trial_data.build(db)
        db.dispose()
    return path


@pytest.fixture
def frozen_trial(
    frozen_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Database]:
    """A copy of it, used with every clock frozen (the passwords are not old)."""
    target = tmp_path / "trial.db"
    for suffix in ("", "-wal"):
        if Path(f"{frozen_template}{suffix}").exists():
            shutil.copy(Path(f"{frozen_template}{suffix}"), Path(f"{target}{suffix}"))
    _freeze_all(monkeypatch)
    db = Database(f"sqlite:///{target}")
    yield db
    db.dispose()


def _lots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    """The lot data set with its audit checkpoints (the trail verifies intact, so no
    folder is named), then the core clock frozen."""
    db, _ = private_copy(tmp_path)
    trial_data.freeze_core(monkeypatch)
    return db


async def _open(pilot: Pilot[None], username: str, key: str) -> None:
    await login(pilot, username)
    await pilot.press(key)
    await settle(pilot)
    await until(pilot, lambda: tables_painted(pilot.app), "every table's first row on screen")


@pytest.mark.parametrize("size", SIZES)
def test_audit_screen(
    snap_compare: Compare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    """The newest events with their records named, the verification's result."""
    db = _lots(tmp_path, monkeypatch)

    async def run_before(pilot: Pilot[None]) -> None:
        await _open(pilot, "admin", "a")

    assert snap_compare(make_app(db, clock=frozen_clock), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    ("username", "key"),
    [("admin", "u"), ("admin", "t"), ("qa", "s")],
    ids=["users", "sites", "specifications"],
)
def test_admin_screen(
    snap_compare: Compare, frozen_trial: Database, size: tuple[int, int], username: str, key: str
) -> None:
    """Each screen as it opens, on the trial data set built with every clock frozen (the
    dates of the passwords and the specification stay the same)."""

    async def run_before(pilot: Pilot[None]) -> None:
        await _open(pilot, username, key)

    assert snap_compare(
        make_app(frozen_trial, clock=frozen_clock), terminal_size=size, run_before=run_before
    )

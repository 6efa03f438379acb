"""The main screens of each role at 80x24 and 120x40 (pytest-textual-snapshot), on data
sets whose times and codes are frozen (``lot_data``, ``trial_data``) with the app clock
frozen too: the pictures change only when the layout does. Review the report before
accepting an update.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from lottrack.storage.db import Database
from tests.tui import trial_data
from tests.tui.helpers import (
    frozen_clock,
    login,
    login_and_open,
    settle,
    tables_painted,
    type_text,
    until,
)
from tests.tui.lot_data import private_copy
from tests.tui.trial_data import TrialIds
from tui.app import make_app
from tui.manufacturing.lot_detail import LotDetailScreen
from tui.qa.review import QAReviewScreen

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
Compare = Callable[..., bool]
trial_template, trial = trial_data.trial_template, trial_data.trial


def _lots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Database, dict[str, int]]:
    copy = private_copy(tmp_path)  # the session's data set, built as every test builds it
    trial_data.freeze_core(monkeypatch)  # then the logins of the test get the frozen time
    return copy


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("tab", ["3", "4", "6"], ids=["counts", "qc", "decisions"])
def test_lot_detail_tab(
    snap_compare: Compare,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
    tab: str,
) -> None:
    """A released lot's counts, QC results and decisions: nothing cut off at 80 columns
    (long names and texts wrap inside their column)."""
    db, ids = _lots(tmp_path, monkeypatch)

    async def run_before(pilot: Pilot[None]) -> None:
        await login_and_open(pilot, "tech", LotDetailScreen(ids["TLS-104"]), tab)

    assert snap_compare(make_app(db, clock=frozen_clock), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_qa_home_and_review(
    snap_compare: Compare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    """QA's review of a lot out of specification, its results tab."""
    db, ids = _lots(tmp_path, monkeypatch)

    async def run_before(pilot: Pilot[None]) -> None:
        await login_and_open(pilot, "qa", QAReviewScreen(ids["TLS-103"]))

    assert snap_compare(make_app(db, clock=frozen_clock), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("username", ["tech", "qa"])
def test_lab_home(
    snap_compare: Compare,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
    username: str,
) -> None:
    """The technician's lots in process with what is due, QA's lots awaiting review."""
    db, _ = _lots(tmp_path, monkeypatch)

    async def run_before(pilot: Pilot[None]) -> None:
        await login(pilot, username)
        await until(pilot, lambda: tables_painted(pilot.app), "every table's first row on screen")

    assert snap_compare(make_app(db, clock=frozen_clock), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_qa_review_audit_trail(
    snap_compare: Compare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    """QA's review, the lot's audit trail: records named for people, wrapped, never cut;
    the highlighted event in full under the list."""
    db, ids = _lots(tmp_path, monkeypatch)

    async def run_before(pilot: Pilot[None]) -> None:
        await login_and_open(pilot, "qa", QAReviewScreen(ids["TLS-103"]), "2")
        await until(pilot, lambda: tables_painted(pilot.app), "every table's first row on screen")

    assert snap_compare(make_app(db, clock=frozen_clock), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("username", ["pharm", "ward", "inv"])
def test_trial_home(
    snap_compare: Compare, trial: tuple[Database, TrialIds], size: tuple[int, int], username: str
) -> None:
    """The pharmacist's visits due, the ward's patients, the investigator's two tabs."""
    db, _ = trial

    async def run_before(pilot: Pilot[None]) -> None:
        await login(pilot, username)
        await settle(pilot)
        await until(pilot, lambda: tables_painted(pilot.app), "every table's first row on screen")

    assert snap_compare(make_app(db, clock=frozen_clock), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_find_a_patient(
    snap_compare: Compare, trial: tuple[Database, TrialIds], size: tuple[int, int]
) -> None:
    """The ward's Find a patient, searched: the home's columns, the page line, no arm."""
    db, _ = trial

    async def run_before(pilot: Pilot[None]) -> None:
        await login(pilot, "ward")
        await pilot.press("slash")
        await settle(pilot)
        await type_text(pilot, "tls-10")
        await pilot.press("enter")  # to the list, searched at once
        await settle(pilot)
        await until(pilot, lambda: tables_painted(pilot.app), "every table's first row on screen")

    assert snap_compare(make_app(db, clock=frozen_clock), terminal_size=size, run_before=run_before)

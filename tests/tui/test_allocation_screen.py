"""The Allocation screen (unblinded pharmacy): subjects, sequences, frozen allocations and
visits; import the statistician's CSV, generate by permuted blocks, schedule visits; never
reachable by blinded roles."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlmodel import col, select
from textual.pilot import Pilot
from textual.widgets import Input

from lottrack.kernel.errors import PermissionDenied
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.storage.models import Allocation, Subject, User, Visit
from lottrack.trial import allocation, allocation_list
from lottrack.trial.allocation import MSC_FIRST, PLACEBO_FIRST, permuted_blocks
from tests.tui.helpers import (
    login,
    more_subjects,
    screen_text,
    settle,
    shown,
    type_text,
    until,
)
from tui.app import LotTrackApp
from tui.home import HomeScreen
from tui.pharmacy.allocation import AllocationScreen

pytestmark = pytest.mark.asyncio

# The demo: TLS-005, -008, -010 have a dispensed visit (frozen), TLS-009 is allocated
# with visits planned; the eight others are not allocated.
UNALLOCATED = (
    "TLS-001",
    "TLS-002",
    "TLS-003",
    "TLS-004",
    "TLS-006",
    "TLS-007",
    "TLS-011",
    "TLS-012",
)


def sequences(db: Database) -> dict[str, tuple[str, str]]:
    """Subject code → (sequence, source) as stored."""
    with db.reader() as s:
        rows = s.exec(
            select(Subject.code, Allocation.sequence, Allocation.source).join(
                Allocation, col(Allocation.subject_id) == col(Subject.id)
            )
        ).all()
    return {code: (seq, source) for code, seq, source in rows}


def row_line(app: LotTrackApp, code: str) -> str:
    """The table line of a subject, spaces collapsed."""
    for line in screen_text(app).splitlines():
        if line.strip().startswith(code):
            return " ".join(line.split())
    raise AssertionError(f"{code} is not on the screen")


def codes_shown(app: LotTrackApp) -> list[str]:
    """The subject codes of the table lines on the screen, top to bottom."""
    return [
        line.split()[0]
        for line in screen_text(app).splitlines()
        if re.match(r"TLS-\d+ ", line.strip())
    ]


def footer(app: LotTrackApp) -> str:
    """The bottom line."""
    return screen_text(app).splitlines()[-1]


async def open_allocation(pilot: Pilot[None], username: str = "pharm") -> AllocationScreen:
    """Log in and press o."""
    await login(pilot, username)
    await pilot.press("o")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, AllocationScreen)
    return screen


async def import_path(pilot: Pilot[None], path: Path) -> None:
    """i, the path, Enter; then wait until the page fits the table again (the path field
    hides and the status line changes: the table's height follows once laid out)."""
    await pilot.press("i")
    await type_text(pilot, str(path))
    await pilot.press("enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, AllocationScreen)
    await until(
        pilot,
        lambda: (
            screen.query_state.limit == screen._rows_that_fit()
            and not screen.query_one("#alloc-table").loading
        ),
        "the page fitted to the table's height",
    )
    await settle(pilot)


async def test_pharmacist_sees_sequences_frozen_allocations_and_visits(
    app: LotTrackApp,
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "pharm")
        assert "o Allocation" in screen_text(app)
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, AllocationScreen)
        assert (
            shown(app, "#alloc-summary") == "12 subjects: 4 allocated (3 frozen), 8 not allocated."
        )
        assert row_line(app, "TLS-001") == "TLS-001 not allocated — — —"
        assert row_line(app, "TLS-005").startswith("TLS-005 MSC-first frozen ")
        assert row_line(app, "TLS-005").count("infused") == 2
        line8 = row_line(app, "TLS-008")
        assert line8.startswith("TLS-008 placebo-first frozen ")
        assert "dispensed" in line8
        assert "planned" in line8
        assert row_line(app, "TLS-009").startswith("TLS-009 MSC-first can change ")
        footer = screen_text(app).splitlines()[-1]
        assert "i Import" in footer
        assert "g Generate" in footer
        # TLS-001 (highlighted) has no allocation: no visits to schedule yet.
        assert "Schedule" not in footer
        assert shown(app, "#alloc-detail") == "TLS-001: not allocated."


async def test_importing_a_good_csv_shows_and_stores_the_sequences(
    app: LotTrackApp, demo_db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "allocation.csv"
    path.write_text(
        "subject_code,sequence\nTLS-001,MSC-first\nTLS-002,placebo-first\nTLS-009,MSC-first\n",
        encoding="utf-8",
    )
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_allocation(pilot)
        await import_path(pilot, path)
        assert (
            shown(app, "#alloc-status") == "Imported 3 row(s) from allocation.csv: "
            "2 allocation(s) created or changed."
        )
        assert screen.query_one("#alloc-status").has_class("success")
        assert row_line(app, "TLS-001").startswith("TLS-001 MSC-first can change")
        assert row_line(app, "TLS-002").startswith("TLS-002 placebo-first can change")
        assert (
            shown(app, "#alloc-summary") == "12 subjects: 6 allocated (3 frozen), 6 not allocated."
        )
        assert screen.query_one("#alloc-path", Input).value == ""
        assert shown(app, "#alloc-detail") == ("TLS-001: MSC-first, from import allocation.csv.")
    stored = sequences(demo_db)
    assert stored["TLS-001"] == (MSC_FIRST, "import allocation.csv")
    assert stored["TLS-002"] == (PLACEBO_FIRST, "import allocation.csv")
    assert stored["TLS-009"][0] == MSC_FIRST
    assert len(stored) == 6


async def test_a_bad_csv_names_the_line_and_stores_nothing(
    app: LotTrackApp, demo_db: Database, tmp_path: Path
) -> None:
    before = sequences(demo_db)
    bad = tmp_path / "bad.csv"
    bad.write_text("TLS-001,MSC-first\nTLS-002,placebo-first\nTLS-003,MSC\n", encoding="utf-8")
    frozen = tmp_path / "frozen.csv"
    frozen.write_text("TLS-001,MSC-first\nTLS-005,placebo-first\n", encoding="utf-8")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_allocation(pilot)
        await import_path(pilot, bad)
        status = shown(app, "#alloc-status")
        assert "Allocation file line 3: sequence 'MSC' is not MSC-first or placebo-first." in status
        assert status.endswith("Nothing was stored.")
        assert screen.query_one("#alloc-status").has_class("error")
        # The path stays typed, to be corrected; the table is unchanged.
        assert screen.query_one("#alloc-path", Input).value == str(bad)
        assert row_line(app, "TLS-001") == "TLS-001 not allocated — — —"
        # A frozen subject's sequence cannot change: the valid first line is not kept.
        screen.query_one("#alloc-path", Input).value = ""
        await type_text(pilot, str(frozen))
        await pilot.press("enter")
        await settle(pilot)
        status = shown(app, "#alloc-status")
        assert (
            "The allocation of TLS-005 cannot change: a visit of that subject has "
            "already been dispensed. Nothing was stored." == status
        )
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert row_line(app, "TLS-001") == "TLS-001 not allocated — — —"
    assert sequences(demo_db) == before


async def test_generate_allocates_every_unallocated_subject_in_balanced_blocks(
    app: LotTrackApp, demo_db: Database
) -> None:
    before = sequences(demo_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_allocation(pilot)
        await pilot.press("g")
        await settle(pilot)
        text = screen_text(app)
        assert "Allocate the 8 subjects not yet allocated" in text
        assert app.focused is not None
        assert app.focused.id == "generate-seed"
        # The block size comes from the settings.
        assert app.screen.query_one("#generate-block", Input).value == "4"
        await type_text(pilot, "seven")
        await pilot.press("enter", "enter")
        await settle(pilot)
        assert 'Seed: "seven" is not a whole number' in screen_text(app)
        app.screen.query_one("#generate-seed", Input).value = ""
        await type_text(pilot, "20250314")
        await pilot.press("enter", "enter")  # Enter in the block size asks first
        await settle(pilot)
        assert "Allocate 8 subjects by 1:1 permuted blocks of 4, seed 20250314?" in screen_text(app)
        assert sequences(demo_db) == before  # nothing yet
        await pilot.press("n")  # not yet: back in the dialog, the complaint gone with the fix
        await settle(pilot)
        assert shown(app, "#dialog-message") == ""
        await pilot.press("ctrl+s")
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is screen
        assert (
            shown(app, "#alloc-status")
            == "Allocated 8 subject(s) by 1:1 permuted blocks of 4, seed 20250314."
        )
        assert (
            shown(app, "#alloc-summary") == "12 subjects: 12 allocated (3 frozen), 0 not allocated."
        )
        assert "not allocated —" not in screen_text(app)
        # Nobody is left to allocate: g is gone.
        assert screen.check_action("generate", ()) is False
        assert "Generate" not in screen_text(app).splitlines()[-1]
    after = sequences(demo_db)
    expected = permuted_blocks(8, seed=20250314, block_size=4)
    assert [after[c][0] for c in UNALLOCATED] == expected
    for start in (0, 4):  # each block of four is 1:1
        block = expected[start : start + 4]
        assert block.count(MSC_FIRST) == block.count(PLACEBO_FIRST) == 2
    assert {after[c][1] for c in UNALLOCATED} == {"permuted blocks of 4, seed 20250314"}
    assert {c: after[c] for c in before} == before


async def test_generate_with_an_odd_block_size_is_refused(
    app: LotTrackApp, demo_db: Database
) -> None:
    before = sequences(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_allocation(pilot)
        await pilot.press("g")
        await settle(pilot)
        await type_text(pilot, "5")
        await pilot.press("enter")
        app.screen.query_one("#generate-block", Input).value = ""
        await type_text(pilot, "3")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert (
            shown(app, "#alloc-status") == "Block size: must be an even number of at "
            "least 2. Nothing was stored."
        )
    assert sequences(demo_db) == before


async def test_schedule_both_visits_of_an_allocated_subject(
    app: LotTrackApp, demo_db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "allocation.csv"
    path.write_text("TLS-001,placebo-first\n", encoding="utf-8")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_allocation(pilot)
        await import_path(pilot, path)
        # TLS-001 (first row) is allocated and has no visits: v schedules them.
        assert "v Schedule" in screen_text(app).splitlines()[-1]
        await pilot.press("v")
        await settle(pilot)
        assert "Schedule the visits of TLS-001" in screen_text(app)
        assert "period 2 24 weeks later" in screen_text(app)
        week0 = app.screen.query_one("#week0", Input)
        assert week0.value == "2025-03-14"  # today at the site
        week0.value = ""
        await type_text(pilot, "14.03.2025")
        await pilot.press("enter")
        await settle(pilot)
        assert 'Week 0: "14.03.2025" is not a date; expected YYYY-MM-DD' in screen_text(app)
        week0.value = ""
        await type_text(pilot, "2025-03-17")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert (
            shown(app, "#alloc-status")
            == "Scheduled both visits of TLS-001, period 1 on 2025-03-17."
        )
        assert (
            row_line(app, "TLS-001") == "TLS-001 placebo-first can change 2025-03-17 "
            "planned 2025-09-01 planned"
        )
        # Visits exist now: v is gone for this subject, and for one with visits already.
        assert "Schedule" not in screen_text(app).splitlines()[-1]
        assert screen.check_action("schedule", ()) is False
    with demo_db.reader() as s:
        rows = s.exec(
            select(col(Visit.period), col(Visit.planned_date), col(Visit.status))
            .join(Subject, col(Subject.id) == col(Visit.subject_id))
            .where(col(Subject.code) == "TLS-001")
            .order_by(col(Visit.period))
        ).all()
    assert [tuple(r) for r in rows] == [
        (1, dt.date(2025, 3, 17), "planned"),
        (2, dt.date(2025, 9, 1), "planned"),
    ]


@pytest.mark.parametrize("username", ["ward", "inv", "qa", "tech", "admin"])
async def test_blinded_and_other_roles_cannot_open_it(app: LotTrackApp, username: str) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, username)
        assert isinstance(app.screen, HomeScreen)
        assert app.check_action("open", ("allocation",)) is False
        assert "Allocation" not in [c.name for c in app.palette_commands(app.screen)]
        assert "Allocation" not in screen_text(app).splitlines()[-1]
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        app.open_destination("allocation")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        # Pushed by hand, the screen shows nothing: the core refuses to read.
        app.push_screen(AllocationScreen())
        await settle(pilot)
        assert "TLS-001" not in screen_text(app)
        assert "MSC-first" not in screen_text(app)


async def test_the_services_refuse_a_clinician_again(demo_db: Database, tmp_path: Path) -> None:
    path = tmp_path / "allocation.csv"
    path.write_text("TLS-001,MSC-first\n", encoding="utf-8")
    with demo_db.reader() as s:
        ward = CurrentUser.of(s.exec(select(User).where(User.username == "ward")).one())
    with demo_db.session() as s, pytest.raises(PermissionDenied):
        allocation_list.allocation_list(s, ward)
    with demo_db.session() as s, pytest.raises(PermissionDenied):
        allocation_list.unallocated_subject_ids(s, ward)
    with demo_db.session() as s, pytest.raises(PermissionDenied):
        allocation.import_csv(s, ward, path)
    with demo_db.session() as s, pytest.raises(PermissionDenied):
        allocation.generate(s, ward, subject_ids=[1], seed=1)


async def test_pages_turn_with_pgdn_and_pgup_at_80_by_24(
    app: LotTrackApp, demo_db: Database
) -> None:
    more_subjects(demo_db, 30)  # 42 subjects: four pages of twelve at 80×24
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_allocation(pilot)
        assert shown(app, "#alloc-page") == "Subjects 1–12 of 42 · page 1 of 4"
        assert codes_shown(app) == [f"TLS-{i:03}" for i in range(1, 13)]
        assert (
            shown(app, "#alloc-summary") == "42 subjects: 4 allocated (3 frozen), 38 not allocated."
        )
        assert "pgdn Next page" in footer(app)
        assert "pgup" not in footer(app)
        await pilot.press("pagedown")
        await settle(pilot)
        assert shown(app, "#alloc-page") == "Subjects 13–24 of 42 · page 2 of 4"
        assert codes_shown(app) == [f"TLS-{i}" for i in range(100, 112)]
        assert shown(app, "#alloc-detail") == "TLS-100: not allocated."
        # Both page keys share one place; every key still fits in 80 columns.
        line = footer(app)
        for key in (
            "pgup pgdn Page",
            "esc Back",
            "i Import",
            "g Generate",
            "f1 Help",
            "^p palette",
        ):
            assert key in line, key
        await pilot.press("pagedown", "pagedown")
        await settle(pilot)
        assert shown(app, "#alloc-page") == "Subjects 37–42 of 42 · page 4 of 4"
        assert codes_shown(app) == [f"TLS-{i}" for i in range(124, 130)]
        assert "pgdn" not in footer(app)
        await pilot.press("pagedown")  # nothing after the last page
        await settle(pilot)
        assert shown(app, "#alloc-page") == "Subjects 37–42 of 42 · page 4 of 4"
        await pilot.press("pageup")
        await settle(pilot)
        assert shown(app, "#alloc-page") == "Subjects 25–36 of 42 · page 3 of 4"
        assert codes_shown(app)[0] == "TLS-112"
        await pilot.press("pageup", "pageup")
        await settle(pilot)
        assert shown(app, "#alloc-page") == "Subjects 1–12 of 42 · page 1 of 4"
        assert codes_shown(app)[0] == "TLS-001"
        assert screen.check_action("page", (-1,)) is False


async def test_actions_on_a_later_page_refresh_that_page(
    app: LotTrackApp, demo_db: Database, tmp_path: Path
) -> None:
    more_subjects(demo_db, 30)
    path = tmp_path / "allocation.csv"
    path.write_text("TLS-105,placebo-first\n", encoding="utf-8")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_allocation(pilot)
        await pilot.press("pagedown")
        await settle(pilot)
        await pilot.press(*["down"] * 5)
        assert shown(app, "#alloc-detail") == "TLS-105: not allocated."
        await import_path(pilot, path)
        # Still page 2, TLS-105 still highlighted, its sequence shown.
        assert shown(app, "#alloc-page") == "Subjects 13–24 of 42 · page 2 of 4"
        assert row_line(app, "TLS-105") == "TLS-105 placebo-first can change — —"
        assert shown(app, "#alloc-detail") == (
            "TLS-105: placebo-first, from import allocation.csv."
        )
        assert (
            shown(app, "#alloc-summary") == "42 subjects: 5 allocated (3 frozen), 37 not allocated."
        )
        assert "v Schedule" in footer(app)
        await pilot.press("v")
        await settle(pilot)
        assert "Schedule the visits of TLS-105" in screen_text(app)
        await pilot.press("enter")  # today's date, as offered
        await settle(pilot)
        assert isinstance(app.screen, AllocationScreen)
        assert shown(app, "#alloc-page") == "Subjects 13–24 of 42 · page 2 of 4"
        assert (
            row_line(app, "TLS-105") == "TLS-105 placebo-first can change 2025-03-14 "
            "planned 2025-08-29 planned"
        )
        # g allocates every subject left, on every page; the dialog names the first few.
        await pilot.press("g")
        await settle(pilot)
        text = screen_text(app)
        assert "Allocate the 37 subjects not yet allocated (TLS-001, TLS-002," in text
        assert "TLS-003, TLS-004, TLS-006, TLS-007 and 31 more)" in text
        await type_text(pilot, "7")
        await pilot.press("enter", "enter")
        await settle(pilot)
        await pilot.press("y")  # allocations are final: it asks first
        await settle(pilot)
        assert shown(app, "#alloc-page") == "Subjects 13–24 of 42 · page 2 of 4"
        assert codes_shown(app) == [f"TLS-{i}" for i in range(100, 112)]
        for code in codes_shown(app):
            assert "not allocated" not in row_line(app, code), code
        assert (
            shown(app, "#alloc-summary") == "42 subjects: 42 allocated (3 frozen), 0 not allocated."
        )


async def test_search_filters_by_subject_code_as_you_type(
    app: LotTrackApp, demo_db: Database
) -> None:
    more_subjects(demo_db, 30)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_allocation(pilot)
        await pilot.press("slash")
        assert app.focused is screen.query_one("#alloc-search")
        assert "↓ List" in footer(app)
        await pilot.press("t", "l", "s", "-", "1", "2")
        # The search waits for a pause in the typing.
        await until(
            pilot,
            lambda: "matching" in shown(app, "#alloc-page"),
            "the page line of the search's result",
        )
        assert codes_shown(app) == [f"TLS-{i}" for i in range(120, 130)]
        assert shown(app, "#alloc-page") == 'Subjects 1–10 of 10 matching "tls-12" · page 1 of 1'
        # The trial's numbers do not follow the search.
        assert (
            shown(app, "#alloc-summary") == "42 subjects: 4 allocated (3 frozen), 38 not allocated."
        )
        # Spaces and case do not matter; a search of many pages pages.
        screen.query_one("#alloc-search", Input).value = ""
        await type_text(pilot, "T L S - 1")
        await pilot.press("enter")  # to the table, searching at once
        await settle(pilot)
        assert app.focused is screen.query_one("#alloc-table")
        matching = 'of 30 matching "T L S - 1"'
        assert shown(app, "#alloc-page") == f"Subjects 1–12 {matching} · page 1 of 3"
        await pilot.press("pagedown")
        await settle(pilot)
        assert shown(app, "#alloc-page") == f"Subjects 13–24 {matching} · page 2 of 3"
        assert codes_shown(app)[0] == "TLS-112"
        # Typed wildcards and quotes are looked for as they are: nothing has them.
        for typed in ("%", "_", "TLS_001", "'", '"'):
            await pilot.press("slash")
            await type_text(pilot, typed)  # replaces the selected search
            await pilot.press("enter")
            await settle(pilot)
            assert codes_shown(app) == [], typed
            assert shown(app, "#alloc-page") == f'No subject code contains "{typed}".'
        # Too long for a subject code: refused, said under the table.
        await pilot.press("slash")
        await type_text(pilot, "T" * 40)
        await pilot.press("enter")
        await settle(pilot)
        assert "Search: at most 32 characters" in shown(app, "#alloc-page")
        assert screen.query_one("#alloc-page").has_class("error")
        # A control character pasted (PostgreSQL text cannot even hold a NUL): refused.
        await pilot.press("slash")
        await type_text(pilot, "TLS\x00")
        await pilot.press("enter")
        await settle(pilot)
        assert shown(app, "#alloc-page") == (
            'Search: "TLS\\x00" contains control or invisible characters.'
        )
        assert screen.query_one("#alloc-page").has_class("error")
        # Cleared, the whole list is back from its first page.
        await pilot.press("slash", "backspace", "enter")
        await settle(pilot)
        assert shown(app, "#alloc-page") == "Subjects 1–12 of 42 · page 1 of 4"
        assert codes_shown(app)[0] == "TLS-001"

"""Find a patient (blinded ward): from the ward's home, which lists the first 50 patients,
every other patient is found by subject code or initials, one page of lines at a time;
Enter opens a visit, w the patient's weights."""

from __future__ import annotations

import pytest
from sqlmodel import select
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.storage.models import User
from lottrack.trial import listings
from tests.tui.helpers import (
    login,
    more_subjects,
    screen_text,
    settle,
    shown,
    tables_painted,
    type_text,
    until,
)
from tui.app import LotTrackApp
from tui.common.weights import WeightsScreen
from tui.home import HomeScreen
from tui.panes import clinician
from tui.panes.clinician import PatientsPane
from tui.ward.patients import NO_VISIT_NOTE, FindPatientScreen
from tui.ward.visit import WardVisitScreen

pytestmark = pytest.mark.asyncio

# The demo's twelve patients (TLS-005, -008, -009 and -010 with both visits: 16 lines),
# and 45 more (TLS-100 … TLS-144, no visits): 57 patients, 61 lines.
MORE = 45


def ward_lines(db: Database) -> listings.WardLinePage:
    """Every line, as the service reads them for the ward."""
    with db.reader() as s:
        nurse = CurrentUser.of(s.exec(select(User).where(User.username == "ward")).one())
        return listings.ward_line_page(s, nurse, limit=listings.blinded.MAX_PAGE)


def lines_shown(app: LotTrackApp) -> list[tuple[str, str]]:
    """(subject, period) of each line of the Find-a-patient table."""
    table: DataTable[object] = app.screen.query_one("#ward-table", DataTable)
    return [
        (str(table.get_row_at(n)[0]), str(table.get_row_at(n)[2])) for n in range(table.row_count)
    ]


async def search(pilot: Pilot[None], typed: str) -> FindPatientScreen:
    """/ (the search box, its text selected), ``typed``, Enter (to the list, searched at
    once). From the search box itself, ↓ to the list first (there / is typed)."""
    screen = pilot.app.screen
    assert isinstance(screen, FindPatientScreen)
    if pilot.app.focused is screen.query_one("#ward-search"):
        await pilot.press("down")
    await pilot.press("slash")
    assert pilot.app.focused is screen.query_one("#ward-search", Input)
    await type_text(pilot, typed)
    await pilot.press("enter")
    await settle(pilot)
    assert pilot.app.focused is screen.query_one("#ward-table")
    return screen


async def test_the_home_lists_50_patients_and_finds_every_other_one(
    app: LotTrackApp, demo_db: Database
) -> None:
    more_subjects(demo_db, MORE)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "ward")
        pane = app.screen.query_one(PatientsPane)
        table: DataTable[object] = pane.query_one(DataTable)
        await until(pilot, lambda: tables_painted(app), "the patients' rows on screen")
        codes = [str(table.get_row_at(n)[0]) for n in range(table.row_count - 1)]
        assert len(set(codes)) == clinician.PAGE_SIZE == 50
        assert codes[-1] == "TLS-137"  # by subject code: TLS-138 … TLS-144 are not here
        last = table.row_count - 1
        assert pane.subjects.index(None) == last  # the 'more patients' line, and only it
        assert str(table.get_row_at(last)[4]) == "7 more patients: press / to find"
        assert "/ Find patient" in screen_text(app).splitlines()[-1]
        # Enter on the last line opens Find a patient, its search box ready for a code.
        table.move_cursor(row=last)
        await until(pilot, lambda: "press / to find" in screen_text(app), "the last line shown")
        await pilot.press("enter")
        await settle(pilot)
        opened = app.screen
        assert isinstance(opened, FindPatientScreen)
        assert app.focused is opened.query_one("#ward-search")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        # / does too; the list follows the search box as a code is typed ...
        await pilot.press("slash")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FindPatientScreen)
        assert app.focused is screen.query_one("#ward-search")
        await pilot.press(*"tls-14")
        await until(pilot, lambda: "matching" in shown(app, "#ward-page"), "the search's page line")
        assert lines_shown(app) == [(f"TLS-{n}", "—") for n in range(140, 145)]
        # ... and a whole code beyond the home's 50 finds that one patient.
        await search(pilot, "tls-144")
        assert lines_shown(app) == [("TLS-144", "—")]
        assert shown(app, "#ward-page") == (
            'Lines 1–1 of 1 (1 patient) matching "tls-144" · page 1 of 1'
        )
        # No visit yet: Enter says why, w opens the patient's weights.
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FindPatientScreen)
        assert shown(app, "#ward-note") == NO_VISIT_NOTE
        assert NO_VISIT_NOTE in screen_text(app)  # whole at 80 columns
        assert "w Weights" in screen_text(app).splitlines()[-1]
        await pilot.press("w")
        await settle(pilot)
        weights = app.screen
        assert isinstance(weights, WeightsScreen)
        assert (weights.subject_code, weights.subject_id) == (
            "TLS-144",
            next(r.subject_id for r in ward_lines(demo_db).rows if r.subject_code == "TLS-144"),
        )
        assert "Weights of TLS-144" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        # A patient with visits: a line for each; Enter opens the highlighted visit.
        assert app.screen is screen
        await search(pilot, " TLS 008 ")  # spaces, dashes and case do not matter
        assert lines_shown(app) == [("TLS-008", "1"), ("TLS-008", "2")]
        await search(pilot, "tls–008")  # an en dash, pasted
        assert lines_shown(app) == [("TLS-008", "1"), ("TLS-008", "2")]
        await search(pilot, "tls-008")
        assert lines_shown(app) == [("TLS-008", "1"), ("TLS-008", "2")]
        assert shown(app, "#ward-page") == (
            'Lines 1–2 of 2 (1 patient) matching "tls-008" · page 1 of 1'
        )
        period_1 = next(
            r.visit_id
            for r in ward_lines(demo_db).rows
            if (r.subject_code, r.period) == ("TLS-008", 1)
        )
        await pilot.press("enter")
        await settle(pilot)
        visit = app.screen
        assert isinstance(visit, WardVisitScreen)
        assert visit.visit_id == period_1
        await until(pilot, lambda: "TLS-008" in screen_text(app), "the visit on screen")
        assert "period 1" in screen_text(app)
        # Back: the search and the highlighted line are as they were.
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        assert lines_shown(app) == [("TLS-008", "1"), ("TLS-008", "2")]
        # The same patient found by initials: the demo gave TLS-008 "OP".
        await search(pilot, "op")
        assert lines_shown(app) == [("TLS-008", "1"), ("TLS-008", "2")]


async def test_pages_cover_every_line_once_and_say_so_truthfully(
    app: LotTrackApp, demo_db: Database
) -> None:
    """The demo and ten more patients at 80x24: 22 patients, 26 lines, two pages; a bad
    search is refused under the table. The home has no 'more' line (every patient is on
    it)."""
    more_subjects(demo_db, 10)
    every = [
        (r.subject_code, "—" if r.period is None else str(r.period))
        for r in ward_lines(demo_db).rows
    ]
    assert len(every) == 26
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "ward")
        pane = app.screen.query_one(PatientsPane)
        await until(pilot, lambda: tables_painted(app), "the patients' rows on screen")
        assert None not in pane.subjects  # no 'more patients' line
        assert "more patient" not in screen_text(app)
        await pilot.press("slash")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FindPatientScreen)
        await until(pilot, lambda: screen.page is not None, "the first page")
        first = lines_shown(app)
        size = screen.query_state.limit
        assert 13 <= len(first) == size < 26
        assert shown(app, "#ward-page") == f"Lines 1–{size} of 26 (22 patients) · page 1 of 2"
        assert "pgdn" in screen_text(app).splitlines()[-1]
        await pilot.press("pagedown")
        await settle(pilot)
        second = lines_shown(app)
        assert shown(app, "#ward-page") == f"Lines {size + 1}–26 of 26 (22 patients) · page 2 of 2"
        assert first + second == every
        await pilot.press("pagedown")  # nothing after the last page
        await settle(pilot)
        assert lines_shown(app) == second
        await pilot.press("pageup")
        await settle(pilot)
        assert lines_shown(app) == first
        # Refused by the service, said where the page line was; the list stays.
        await search(pilot, "T" * 40)
        assert shown(app, "#ward-page") == (
            "Search: at most 32 characters (a subject code is no longer)."
        )
        assert screen.query_one("#ward-page").has_class("error")
        await search(pilot, "tls\x00")  # a control character pasted: refused alike
        assert shown(app, "#ward-page") == (
            'Search: "tls\\x00" contains control or invisible characters.'
        )
        assert screen.query_one("#ward-page").has_class("error")
        await search(pilot, "zz")
        assert lines_shown(app) == []
        assert shown(app, "#ward-page") == 'No patient\'s subject code or initials contain "zz".'
        assert not screen.query_one("#ward-page").has_class("error")


async def test_f1_explains_the_screen_and_the_home_says_how_to_reach_it(
    app: LotTrackApp,
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "ward")
        home = app.screen
        assert isinstance(home, HomeScreen)
        assert "**/** opens *Find a patient*" in home.help_markdown()
        await pilot.press("slash")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FindPatientScreen)
        help_text = screen.help_markdown()
        assert help_text.startswith("# Find a patient (blinded)")
        for words in ("subject code", "initials", "PgDn / PgUp", "**Enter**", "**w**"):
            assert words in help_text, words

"""Nothing cut off, nothing broken inside a word, at 80x24 and 120x40 (issue 19): the
passages table, QC test names, the sites table, the pharmacy check lines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import col, select
from textual.widgets import DataTable

from lottrack.manufacturing import qc
from lottrack.storage.db import Database
from lottrack.storage.models import CellCount, CountReplicate
from tests.tui import trial_data
from tests.tui.helpers import (
    frozen_clock,
    login,
    login_and_open,
    screen_text,
    settle,
    shown,
    tables_painted,
    until,
)
from tests.tui.lot_data import private_copy
from tests.tui.trial_data import TrialIds
from tui.app import LotTrackApp, make_app
from tui.manufacturing.lot_detail import LotDetailScreen
from tui.qa.review import QAReviewScreen
from tui.widgets.wrapped_rows import wrap_words

trial_template, trial = trial_data.trial_template, trial_data.trial


@pytest.fixture
def lots_db(tmp_path: Path) -> Iterator[tuple[Database, dict[str, int]]]:
    db, ids = private_copy(tmp_path)
    yield db, ids
    db.dispose()


words = st.text(st.sampled_from("ab/-( ),.5"), max_size=60)


@given(words, st.integers(min_value=1, max_value=20))
def test_wrapped_lines_fit_and_keep_every_character(text: str, width: int) -> None:
    lines = wrap_words(text, width)
    assert all(len(line) <= width for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


@given(
    st.lists(st.text(st.sampled_from("abc"), min_size=1, max_size=8), min_size=1),
    st.integers(min_value=8, max_value=20),
)
def test_a_word_that_fits_the_width_is_never_broken(parts: list[str], width: int) -> None:
    lines = wrap_words(" ".join(parts), width)
    assert [w for line in lines for w in line.split()] == parts


def test_a_long_name_breaks_after_a_slash_not_inside_a_word() -> None:
    assert wrap_words("Sterility (aerobic/anaerobic culture)", 14) == [
        "Sterility",
        "(aerobic/",
        "anaerobic",
        "culture)",
    ]
    assert wrap_words("of TLS-103 kit K-ATW5CJYK", 10) == ["of TLS-103", "kit", "K-ATW5CJYK"]


@pytest.mark.asyncio
async def test_qc_test_names_wrap_between_words(lots_db: tuple[Database, dict[str, int]]) -> None:
    db, ids = lots_db
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login_and_open(pilot, "tech", LotDetailScreen(ids["TLS-104"]), "4")
        table = app.screen.query_one("#lot-qc", DataTable)
        names = [str(table.get_row_at(n)[0]).splitlines() for n in range(table.row_count)]
        sterility = next(lines for lines in names if lines[0] == "Sterility")
        assert sterility == ["Sterility", "(aerobic/", "anaerobic", "culture)"]
        assert "(aer" not in [line.strip() for line in screen_text(app).splitlines()]


@pytest.mark.asyncio
@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_qc_cells_keep_their_words_whole_and_use_the_room_there_is(
    lots_db: tuple[Database, dict[str, int]], size: tuple[int, int]
) -> None:
    """At 80 columns no word of a QC cell is cut ("proliferati" / "on", "inhibitio" /
    "n"); at 120 every test's name is on one line (it wrapped at the 80-column width)."""
    db, ids = lots_db
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=size) as pilot:
        await login_and_open(pilot, "tech", LotDetailScreen(ids["TLS-104"]), "4")
        table = app.screen.query_one("#lot-qc", DataTable)
        rows = [[str(c) for c in table.get_row_at(n)] for n in range(table.row_count)]
    with db.reader() as s:
        results = qc.results(s, ids["TLS-104"], include_voided=True)
    assert len(rows) == len(results)
    for row, result in zip(rows, results, strict=True):
        for cell, text in zip(
            (row[0], row[1], row[3]),
            (result.test_name, result.value_text, result.limit_text),
            strict=True,
        ):
            assert cell.replace("/\n", "/").split() == text.split(), (cell, text)
    if size == (120, 40):
        names = [row[0] for row in rows]
        assert "Potency (T-cell proliferation inhibition)" in names
        assert all("\n" not in name for name in names), names


@pytest.mark.asyncio
async def test_a_qc_note_is_read_in_whole_words_at_80_columns(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    """TLS-103's out-of-specification viability carries the note of its investigation;
    the QC tab scrolls in its table alone, so the note column keeps room for its words."""
    db, ids = lots_db
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login_and_open(pilot, "tech", LotDetailScreen(ids["TLS-103"]), "4")
        table = app.screen.query_one("#lot-qc", DataTable)
        notes = [str(table.get_row_at(n)[-1]) for n in range(table.row_count)]
        note = next(text for text in notes if "investigation" in text)
        on_screen = [line.split() for line in screen_text(app).splitlines()]
        assert any("(investigation" in words for words in on_screen), note
        for line in note.splitlines():  # each line of the cell is whole words of the note
            assert f" {line.strip()} " in f" {' '.join(note.split())} "


@pytest.mark.asyncio
@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_investigations_and_deviations_are_read_whole(
    lots_db: tuple[Database, dict[str, int]], size: tuple[int, int]
) -> None:
    """The Decisions tab's quality records: what was found wraps in whole words and the
    state shows (at 80 columns it ran off the screen at "(limi")."""
    db, ids = lots_db
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=size) as pilot:
        await login_and_open(pilot, "tech", LotDetailScreen(ids["TLS-103"]), "6")
        table = app.screen.query_one("#lot-quality", DataTable)
        await until(pilot, lambda: tables_painted(app), "the decisions tab's rows")
        # Its columns fit again once the tab's scrollbar has appeared (a resize).
        await until(
            pilot,
            lambda: table.virtual_size.width <= table.scrollable_content_region.width,
            "the investigations within the screen's width",
        )
        text = screen_text(app)
        row = [str(cell) for cell in table.get_row_at(0)]
    assert row[0] == "Investigation #1"
    assert " ".join(row[2].split()).startswith("Viability, fresh final product 75 %")
    assert " ".join(row[3].split()) == "closed by Quinn Quality"
    lines = text.splitlines()
    for cell in row:  # the first lines are on screen whole (the tab scrolls for the rest)
        line = cell.splitlines()[0]
        assert any(line.strip() in screen for screen in lines), (line, text)
    if size == (120, 40):
        assert "\n" not in row[2]


@pytest.mark.asyncio
async def test_the_review_audit_trail_names_every_record_whole_at_80_columns(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    """The QA review's audit tab cut "Human platelet lysate used on P0 of L-A99992" at the
    right edge; the record's name now wraps, and the line under the list has the rest."""
    db, ids = lots_db
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login_and_open(pilot, "qa", QAReviewScreen(ids["TLS-103"]), "2")
        table = app.screen.query_one("#review-audit", DataTable)
        await until(pilot, lambda: tables_painted(app), "the audit trail's rows")

        def overflow() -> int:
            return table.virtual_size.width - table.scrollable_content_region.width

        # The table fits its columns again once its scrollbar has appeared.
        await until(pilot, lambda: overflow() <= 0, "the audit trail within the screen's width")
        records = [str(table.get_row_at(n)[4]) for n in range(table.row_count)]
        reagent = next(r for r in records if r.startswith("Human platelet lysate"))
        detail = shown(app, "#audit-detail")
        table.focus()
        await pilot.press("enter")  # the highlighted event in full, one change a line
        await settle(pilot)
        full = shown(app, "#text-view-text").splitlines()
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, QAReviewScreen)
    assert full[0] == detail.splitlines()[0]
    assert "anticoagulant=heparin" in full
    lot = " ".join(reagent.split()).rsplit(" ", 1)[1]
    assert " ".join(reagent.split()) == f"Human platelet lysate used on P0 of {lot}"
    assert lot.startswith("L-A9999")
    assert "\n" in reagent  # wrapped, not cut
    assert detail.startswith(f"#{table.get_row_at(0)[0]} insert ")  # the highlighted event


@pytest.mark.asyncio
async def test_an_empty_table_still_says_so_after_the_terminal_is_resized(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    """Widening the terminal wraps a table's rows again; the "No decision" line was lost."""
    db, ids = lots_db
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login_and_open(pilot, "tech", LotDetailScreen(ids["TLS-101"]), "6")
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        table = app.screen.query_one("#lot-decisions", DataTable)
        await until(pilot, lambda: tables_painted(app), "the decisions tab's rows")
        assert [str(table.get_row_at(n)[0]) for n in range(table.row_count)] == ["No decision"]
        assert "No decision" in screen_text(app)


@pytest.mark.asyncio
@pytest.mark.parametrize(("size", "address_lines"), [((120, 40), 1), ((80, 24), 3)])
async def test_the_site_address_takes_the_room_left(
    app: LotTrackApp, size: tuple[int, int], address_lines: int
) -> None:
    async with app.run_test(size=size) as pilot:
        await login(pilot, "admin")
        await pilot.press("t")
        await settle(pilot)
        table = app.screen.query_one("#sites-table", DataTable)
        address = str(table.get_row_at(0)[-1])
        assert len(address.splitlines()) >= address_lines
        if address_lines == 1:
            assert len(address.splitlines()) == 1
            assert address in screen_text(app)


@pytest.mark.asyncio
async def test_every_passage_column_and_the_reagent_lots_show_at_80_columns(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, ids = lots_db
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login_and_open(pilot, "tech", LotDetailScreen(ids["TLS-104"]), "2")
        lines = screen_text(app).splitlines()
        header = next(line for line in lines if "Seeded" in line)
        for title in ("Harvested", "Viab.", "PD", "cPD", "DT h", "Per cm²"):
            assert title in header
        p0 = lines.index(next(line for line in lines if line.strip().startswith("P0 ")))
        assert "2.86×10⁴" in lines[p0]  # 5e6 cells on 175 cm²: every column on screen
        assert "5.00×10⁶" in lines[p0 + 1]
        assert "4.00×10⁷" in lines[p0 + 1]
        reagents = " ".join(" ".join(lines).split())
        assert "Reagent lots P0: " in reagents
        assert lines[p0].rstrip().endswith("2.86×10⁴")


@pytest.mark.asyncio
async def test_the_pharmacy_check_lines_wrap_whole_at_80_columns(
    trial: tuple[Database, TrialIds],
) -> None:
    app = make_app(trial[0], clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "pharm")
        await pilot.press("enter")  # TLS-101, period 1
        await settle(pilot)
        await until(pilot, lambda: "✔ 6" in screen_text(app), "the checks shown")
        text = screen_text(app)
        assert "…" not in text
        words = " ".join(text.split())
        assert "belongs to TLS-101 (born 1975-12-24); " in words
        assert "1.0 days ago (limit 7 days) ✔ 5 dose within window" in words
        assert "cells/kg — inside the window 1.00–2.00 × 10⁶ cells/kg ✔ 6" in words


@pytest.mark.asyncio
async def test_every_specification_column_shows_at_80_columns(app: LotTrackApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")
        await pilot.press("s")
        await settle(pilot)
        header = next(line for line in screen_text(app).splitlines() if "For release" in line)
        for title in ("Test", "Limit", "Kind", "Unit"):
            assert title in header
        table = app.screen.query_one("#specs-items", DataTable)
        rows = [
            [" ".join(str(c).split()) for c in table.get_row_at(n)] for n in range(table.row_count)
        ]
        assert [
            "Endotoxin",
            "required",
            "≤ 5 EU/kg × weight ÷ volume",
            "endotoxin",
            "EU/mL",
        ] in rows  # the long limit wrapped in its row, whole


@pytest.mark.asyncio
async def test_a_long_reagent_lot_wraps_in_the_passage_form(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, ids = lots_db
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login_and_open(pilot, "tech", LotDetailScreen(ids["TLS-101"]), "p")
        text = screen_text(app)
        assert "…" not in text
        assert "Human platelet lysate PL-0412 (supplement)" in " ".join(text.split()), text


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("username", "words"),
    [
        ("tech", "Viability, fresh final product 75 % (limit ≥ 80 %)"),
        ("qa", "INVESTIGATION OPEN, OUT OF SPEC"),
    ],
)
async def test_what_is_due_on_a_home_list_is_read_whole_at_80_columns(
    app: LotTrackApp, username: str, words: str
) -> None:
    """The technician's Due column and QA's Results column wrap inside the room left;
    the technician's "Waiting since" stays on screen (it was pushed off the right)."""
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, username)
        await until(pilot, lambda: "TLS-003" in screen_text(app), "the home list")
        lines = screen_text(app).splitlines()
        assert all(len(line.rstrip()) <= 80 for line in lines)
        text = " ".join(" ".join(line.split()) for line in lines)
        for word in words.split():
            assert word in text
        if username == "tech":
            assert "Waiting since" in text


@pytest.mark.asyncio
async def test_the_home_list_keeps_its_cursor_on_the_lot_after_a_refresh(app: LotTrackApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")
        await until(pilot, lambda: "TLS-011" in screen_text(app), "the review queue")
        table = app.screen.query_one(DataTable)
        await pilot.press("down", "down")
        await settle(pilot)
        chosen = table.get_row_at(table.cursor_row)[1]
        await pilot.press("r")
        await settle(pilot)
        assert table.get_row_at(table.cursor_row)[1] == chosen


@pytest.mark.asyncio
async def test_a_multi_role_home_gives_its_list_the_keys_at_once(app: LotTrackApp) -> None:
    """The investigator (ward and investigator tabs) presses w at once, as the ward
    nurse does: the list has the focus and the footer names the key."""
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "inv")
        await until(pilot, lambda: "TLS-001" in screen_text(app), "the ward list")
        assert isinstance(app.focused, DataTable)
        assert "w Weights" in screen_text(app).splitlines()[-1]
        await pilot.press("w")
        await until(pilot, lambda: "Weights of TLS-001" in screen_text(app), "the weights")


@pytest.mark.asyncio
@pytest.mark.parametrize("username", ["admin", "tech", "qa", "pharm", "ward", "inv"])
async def test_every_home_footer_shows_its_keys_whole_at_80_columns(
    app: LotTrackApp, username: str
) -> None:
    """QA's footer ended "f1 Hel" at 80 columns: the last key shown is F1 Help, whole,
    on every role's home."""
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, username)
        footer = screen_text(app).splitlines()[-1]
        assert "f1 Help" in footer, footer


@pytest.mark.asyncio
async def test_every_qa_review_footer_shows_its_keys_whole_at_80_columns(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    """The review of a lot out of specification ended "d Batch record f▏": whatever the
    lot's state, the footer draws every key it offers whole, F1 Help last, and wider
    (two spaces between keys) when there is room."""
    db, ids = lots_db
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")
        for code in ("TLS-102", "TLS-103", "TLS-104", "TLS-106"):
            app.push_screen(QAReviewScreen(ids[code]))
            await settle(pilot)
            footer = screen_text(app).splitlines()[-1]
            offered = [
                binding.description
                for key, (_, binding, _, _) in app.screen.active_bindings.items()
                if binding.show and key != app.COMMAND_PALETTE_BINDING
            ]
            for text in offered:
                assert text in footer, (code, footer)
            assert "f1 Help" in footer, (code, footer)
            app.pop_screen()
            await settle(pilot)
        await pilot.resize_terminal(120, 40)
        app.push_screen(QAReviewScreen(ids["TLS-103"]))
        await settle(pilot)
        assert "  f1 Help" in screen_text(app).splitlines()[-1]


@pytest.mark.asyncio
@pytest.mark.parametrize("where", ["lot detail", "QA review"])
async def test_counts_fit_80_columns_and_the_highlighted_row_is_read_in_full(
    lots_db: tuple[Database, dict[str, int]], where: str
) -> None:
    """The counts table ran past 80 columns (its method column cut to "hemo", each
    replicate as typed to "live"); the table now fits and the line under it holds the
    highlighted count's method, or the replicate as it was typed, whole."""
    db, ids = lots_db
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")
        if where == "lot detail":
            app.push_screen(LotDetailScreen(ids["TLS-103"]))
            table_id, detail_id, tab = "#lot-counts", "#lot-count-detail", "3"
        else:
            app.push_screen(QAReviewScreen(ids["TLS-103"]))
            table_id, detail_id, tab = "#review-counts", "#review-count-detail", "4"
        await settle(pilot)
        await pilot.press(tab)
        await settle(pilot)
        table = app.screen.query_one(table_id, DataTable)
        table.focus()
        await pilot.pause()
        assert table.virtual_size.width <= table.size.width  # no column past the edge
        count = " ".join(shown(app, detail_id).split())
        assert count.startswith("Count of final-product, ")
        assert count.endswith(": hemocytometer")
        await pilot.press("down")
        await settle(pilot)
        with db.reader() as s:
            typed = s.exec(
                select(CountReplicate.entered_text)
                .join(CellCount, col(CellCount.id) == col(CountReplicate.count_id))
                .where(CellCount.lot_id == ids["TLS-103"], CountReplicate.position == 1)
            ).first()
        replicate = " ".join(shown(app, detail_id).split())
        assert replicate.startswith("Replicate 1 of the count of final-product, as typed: ")
        assert typed
        assert " ".join(typed.split()) in replicate

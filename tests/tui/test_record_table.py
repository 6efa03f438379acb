"""A table filled again while the screen paints shows its rows in full (#13: the
thawed bag's row stayed cut off at the width of its heading on a busy machine)."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Vertical

from tests.tui.helpers import settle
from tui.widgets.record_table import RecordTable
from tui.widgets.wrapped_rows import StretchTable, add_wrapped_row, add_wrapped_rows

pytestmark = pytest.mark.asyncio

THAWED = "blinded · thawed 03-14 09:10"


class OneTable(App[None]):
    def compose(self) -> ComposeResult:
        yield RecordTable(id="bags")

    def fill(self) -> None:
        table = self.query_one(RecordTable)
        table.clear(columns=True)
        table.add_column("Kit code")
        table.add_column("Status")
        table.add_row(Text("bag R0"), Text(THAWED), key="1")


def painted(table: RecordTable[Text]) -> str:
    return "\n".join(table.render_line(y).text for y in range(table.size.height))


async def test_a_row_painted_before_it_was_measured_is_painted_again_in_full() -> None:
    app = OneTable()
    async with app.run_test(size=(80, 6)) as pilot:
        table = app.query_one(RecordTable)
        app.fill()
        await settle(pilot)
        assert THAWED in painted(table)
        # Filled again, and painted before the table is idle (what a busy machine does):
        # the first paint can only use the headings' widths.
        app.fill()
        assert THAWED not in painted(table)
        await settle(pilot)
        assert THAWED in painted(table), painted(table)


RESULT = "INVESTIGATION OPEN, OUT OF SPEC"


class StretchedTable(App[None]):
    CSS = "StretchTable { height: 5; }"  # no resize of its own tells it to wrap again

    def compose(self) -> ComposeResult:
        yield StretchTable(id="queue")

    def fill(self, lot: str) -> None:
        table = self.query_one(StretchTable)
        if not table.columns:
            table.add_column("Lot")
            table.add_column("Results", width=12)
        table.clear()
        add_wrapped_row(table, Text(lot), Text(RESULT), key="1")


async def test_wrapped_rows_are_wrapped_again_to_the_room_left_once_measured() -> None:
    """QA's home at 80 columns once showed "INVESTIGATION OPEN, OUT OF" cut at the right
    edge: its rows were wrapped to the room left beside columns not yet measured."""
    app = StretchedTable()
    async with app.run_test(size=(60, 6)) as pilot:
        table = app.query_one(StretchTable)
        app.fill("L-1")
        await settle(pilot)
        # The lot column grows from 3 to 30 cells, measured only when the table is idle.
        app.fill("L-" + "9" * 28)
        await settle(pilot)
        lines = painted(table).splitlines()
        words = " ".join(" ".join(line.split()) for line in lines)
        assert RESULT in words, painted(table)
        assert table.virtual_size.width <= table.scrollable_content_region.width, painted(table)


class HiddenTable(App[None]):
    """A table hidden while its rows are read, as a home's list is."""

    CSS = "StretchTable { height: 1fr; display: none; }"

    def compose(self) -> ComposeResult:
        yield StretchTable(id="queue")

    def fill(self, rows: int) -> None:
        table = self.query_one(StretchTable)
        table.add_column("Lot")
        table.add_column("Due", width=10)
        add_wrapped_rows(
            table,
            [
                ((Text(f"L-{n}"), Text(f"QC result missing: sterility {n}")), str(n))
                for n in range(rows)
            ],
        )


@pytest.mark.parametrize("rows", [3, 40])
async def test_rows_added_while_the_table_is_hidden_are_wrapped_to_the_room_it_gets(
    rows: int,
) -> None:
    """The rows are wrapped to the width the table gets once shown (less its scrollbar
    when they will not fit), not to nothing: the wrapping seen once it is shown is the
    one made when the rows were added (#18: a home's hundred rows were added twice)."""
    app = HiddenTable()
    async with app.run_test(size=(50, 12)) as pilot:
        app.fill(rows)
        table = app.query_one(StretchTable)
        before = [str(table.get_row_at(n)[1]) for n in range(table.row_count)]
        assert "\n" not in before[0], before[0]  # "QC result missing: sterility 0" fits
        table.display = True
        await settle(pilot)
        after = [str(table.get_row_at(n)[1]) for n in range(table.row_count)]
        assert after == before
        assert table.show_vertical_scrollbar == (rows > 10)


class FilledAtMount(App[None]):
    """A table filled the moment it is mounted, inside a padded box not yet laid out, as
    a home's list read at login is (#18)."""

    CSS = "#box { padding: 1 3; } StretchTable { height: 1fr; }"

    def __init__(self, rows: int) -> None:
        super().__init__()
        self.rows = rows
        self.at_mount: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield StretchTable(id="queue")

    def on_mount(self) -> None:
        table = self.query_one(StretchTable)
        assert table.size.width == 0, "the table is not laid out yet"
        table.add_column("Lot")
        table.add_column("Due", width=10)
        add_wrapped_rows(
            table,
            [
                ((Text(f"L-{n}"), Text(f"QC result missing: sterility {n} endotoxin")), str(n))
                for n in range(self.rows)
            ],
        )
        self.at_mount = [str(table.get_row_at(n)[1]) for n in range(table.row_count)]


@pytest.mark.parametrize("rows", [3, 40])
async def test_rows_added_before_any_ancestor_is_laid_out_are_wrapped_to_the_room_it_gets(
    rows: int,
) -> None:
    """The room is read off the screen, less the padding of the boxes around the table
    (and its scrollbar when the rows will not fit): the wrapping made at mount is the one
    shown, so the rows are not added and painted a second time."""
    app = FilledAtMount(rows)
    async with app.run_test(size=(60, 14)) as pilot:
        await settle(pilot)
        table = app.query_one(StretchTable)
        after = [str(table.get_row_at(n)[1]) for n in range(table.row_count)]
        assert after == app.at_mount
        assert "\n" not in after[0], after[0]  # fits beside the lot, in the 54 cells inside the box
        assert table.show_vertical_scrollbar == (rows > 10)

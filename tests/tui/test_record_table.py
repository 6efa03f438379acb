"""A table filled again while the screen paints shows its rows in full (#13: the
thawed bag's row stayed cut off at the width of its heading on a busy machine)."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.app import App, ComposeResult

from tests.tui.helpers import settle
from tui.widgets.record_table import RecordTable

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

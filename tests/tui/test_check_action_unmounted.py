"""A screen's key check that reads a widget not on the screen (still mounting, or
already removed) answers "not now" instead of ending the app."""

from __future__ import annotations

from textual.widgets import DataTable

from tui.common.screen import AppScreen


class _Picks(AppScreen):
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pick":
            return self.query_one("#picks", DataTable).row_count > 0
        return True


def test_a_check_that_reads_a_missing_table_answers_false() -> None:
    screen = _Picks()  # composed nothing: the table is not there
    assert screen.check_action("pick", ()) is False
    assert screen.check_action("other", ()) is True

"""The one dialog base (tui/dialogs/base.py): Enter walks the fields and submits from the
last, Esc and Cancel close with None (asking first when something was typed), and a
cancelled dialog stores nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, func, select
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Input
from typing_extensions import override

from lottrack.storage.db import Database
from lottrack.storage.models import WeightMeasurement
from tests.tui.helpers import login, screen_text, settle, shown, type_text
from tui.app import LotTrackApp
from tui.common.weights import WeightsScreen
from tui.dialogs.base import ModalForm
from tui.dialogs.confirm import ConfirmModal
from tui.dialogs.weight import WeightModal

pytestmark = pytest.mark.asyncio


class PairModal(ModalForm[tuple[str, str]]):
    """Two fields; the first is required."""

    DIALOG_TITLE = "Two things"
    SUBMIT = "Keep"
    FIELDS = ("#first", "#second")

    @override
    def compose_body(self) -> ComposeResult:
        yield Input(id="first", compact=True)
        yield Input(id="second", compact=True)

    @override
    def submit(self) -> None:
        first = self.query_one("#first", Input).value
        if not first:
            self.say("Type the first thing.", focus="#first")
            return
        self.dismiss((first, self.query_one("#second", Input).value))


class Host(App[None]):
    """Opens the dialog and keeps what it returned."""

    def __init__(self) -> None:
        super().__init__()
        self.returned: list[tuple[str, str] | None] = []

    def on_mount(self) -> None:
        self.push_screen(PairModal(), self.returned.append)


async def test_enter_moves_to_the_next_field_and_submits_from_the_last() -> None:
    host = Host()
    async with host.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "Two things" in screen_text(host)
        assert "Keep" in screen_text(host)
        await type_text(pilot, "apple")
        await pilot.press("enter")  # to the second field, not submitted
        await settle(pilot)
        assert isinstance(host.screen, PairModal)
        assert host.returned == []
        await type_text(pilot, "pear")
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(host.screen, PairModal)
    assert host.returned == [("apple", "pear")]


async def test_a_refusal_stays_in_the_dialog_with_a_message_on_the_field() -> None:
    host = Host()
    async with host.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter", "enter")  # nothing typed in the first: refused
        await settle(pilot)
        assert isinstance(host.screen, PairModal)
        assert shown(host, "#dialog-message") == "Type the first thing."
        assert host.focused is host.screen.query_one("#first")
        assert host.returned == []


@pytest.mark.parametrize("key", ["escape", "cancel button"])
async def test_esc_or_cancel_closes_with_nothing(key: str) -> None:
    host = Host()
    async with host.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await type_text(pilot, "apple")
        if key == "escape":
            await pilot.press("escape")
        else:
            await pilot.click("#cancel")
        await settle(pilot)
        assert isinstance(host.screen, ConfirmModal)  # "apple" was typed: asked first
        assert host.returned == []
        await pilot.press("y")  # Discard
        await settle(pilot)
        assert not isinstance(host.screen, PairModal)
    assert host.returned == [None]


def _weights(db: Database) -> int:
    with db.reader() as s:
        return s.exec(select(func.count(col(WeightMeasurement.id)))).one()


async def test_a_weight_dialog_closed_with_esc_stores_no_weight(
    app: LotTrackApp, demo_db: Database
) -> None:
    before = _weights(demo_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "ward")
        await pilot.press("w")  # the first patient's weights
        await settle(pilot)
        assert isinstance(app.screen, WeightsScreen)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, WeightModal)
        await type_text(pilot, "71.5 kg")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")  # Discard
        await settle(pilot)
        assert isinstance(app.screen, WeightsScreen)  # back on the list, nothing added
        assert "No weight is recorded yet" in screen_text(app)
    assert _weights(demo_db) == before


async def test_ctrl_s_submits_from_any_field_and_the_footer_names_it() -> None:
    host = Host()
    async with host.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        footer = screen_text(host).splitlines()[-1]
        assert "esc Cancel" in footer, footer
        assert "^s Keep" in footer, footer
        await type_text(pilot, "apple")
        await pilot.press("ctrl+s")  # from the first field: submitted, the second empty
        await settle(pilot)
        assert not isinstance(host.screen, PairModal)
    assert host.returned == [("apple", "")]


async def test_every_dialog_names_ctrl_s_as_its_submit_button() -> None:
    def subclasses(cls: type[ModalForm[Any]]) -> list[type[ModalForm[Any]]]:
        found: list[type[ModalForm[Any]]] = []
        for sub in cls.__subclasses__():
            found += [sub, *subclasses(sub)]
        return found

    import tui.app  # noqa: F401  (every dialog the program opens is imported by then)

    dialogs = [c for c in subclasses(ModalForm) if c.__module__.startswith("tui.")]
    assert len(dialogs) >= 10
    for dialog in dialogs:
        ctrl_s = [  # the nearest class's binding is the one in force
            b
            for cls in dialog.__mro__
            for b in cls.__dict__.get("BINDINGS", ())
            if isinstance(b, Binding) and b.key == "ctrl+s"
        ]
        assert ctrl_s, dialog
        binding = ctrl_s[0]
        assert binding.action == "submit", dialog
        assert binding.description, dialog
        if dialog.SUBMIT != "OK":  # named as its button (Sign…, Record, Add, …)
            assert binding.description == dialog.SUBMIT, (dialog, binding.description)


async def test_a_dialog_shows_its_own_keys_not_those_of_the_screen_below(
    app: LotTrackApp,
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "ward")
        await pilot.press("w")  # the first patient's weights
        await settle(pilot)
        below = screen_text(app).splitlines()[-1]
        assert "a Record" in below, below
        assert "esc Back" in below, below
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, WeightModal)
        footer = screen_text(app).splitlines()[-1]
        assert "esc Cancel" in footer, footer
        assert "^s Record" in footer, footer
        assert "a Record" not in footer, footer
        assert "Back" not in footer, footer
        await type_text(pilot, "71.5 kg")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        footer = screen_text(app).splitlines()[-1]
        assert footer.split() == ["esc", "No"], footer


async def test_quitting_from_a_filled_dialog_names_the_dialog(app: LotTrackApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "ward")
        await pilot.press("w")  # the first patient's weights
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, WeightModal)
        await type_text(pilot, "71.5 kg")
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        question = " ".join(screen_text(app).split())
        assert "Quit and discard what you typed?" in question
        assert f"{dialog.input_title()}: nothing has been saved." in question
        assert dialog.input_title().startswith("Record a weight")
        assert "this screen" not in question

"""The technician's forms: a lot recorded from harvest to QC through the keyboard; a bad
quantity and an out-of-order step are refused on screen and store nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import func
from sqlmodel import col, select
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Select, SelectionList

from lottrack.manufacturing import formulation, lots
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.storage.models import (
    CellCount,
    CountReplicate,
    Harvest,
    Lot,
    Passage,
    PassageReagent,
    QCResult,
    Subject,
    User,
)
from tests.conftest import verify_ok
from tests.tui.helpers import (
    frozen_clock,
    login,
    login_and_open,
    screen_text,
    settle,
    shown,
    type_text,
)
from tests.tui.lot_data import private_copy
from tui.app import make_app
from tui.home import HomeScreen
from tui.manufacturing.forms.count import CountForm
from tui.manufacturing.forms.harvest import HarvestForm
from tui.manufacturing.forms.passage_harvest import PassageHarvestForm
from tui.manufacturing.forms.passage_seed import PassageSeedForm
from tui.manufacturing.forms.qc_result import QCResultForm
from tui.manufacturing.forms.start_lot import StartLotForm
from tui.manufacturing.lot_detail import LotDetailScreen
from tui.manufacturing.lots import LotsScreen
from tui.widgets.quantity_input import QuantityField

AnyScreen = TypeVar("AnyScreen", bound=Screen[Any])

pytestmark = pytest.mark.asyncio
TABLES = (Harvest, Lot, Passage, PassageReagent, CellCount, CountReplicate, QCResult)


@pytest.fixture
def lots_db(tmp_path: Path) -> Iterator[tuple[Database, dict[str, int]]]:
    db, ids = private_copy(tmp_path)
    yield db, ids
    db.dispose()


def row_counts(db: Database) -> dict[str, int]:
    with db.reader() as s:
        return {t.__name__: int(s.exec(select(func.count()).select_from(t)).one()) for t in TABLES}


async def fill(pilot: Pilot[None], widget_id: str, text: str) -> None:
    """Replace the text of a field (an Input, or the input of a quantity/time field)."""
    widget = pilot.app.screen.query_one(f"#{widget_id}")
    box = widget if isinstance(widget, Input) else widget.query_one(Input)
    box.focus()
    await pilot.pause()
    box.select_all()
    await type_text(pilot, text)


async def save(pilot: Pilot[None]) -> None:
    await pilot.press("ctrl+s")
    await settle(pilot)


async def opened(pilot: Pilot[None], key: str, kind: type[AnyScreen]) -> AnyScreen:
    await pilot.press(key)
    await settle(pilot)
    assert isinstance(pilot.app.screen, kind), screen_text(pilot.app)
    return pilot.app.screen


async def test_technician_records_harvest_to_qc_through_the_forms(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, _ = lots_db
    before = row_counts(db)
    with db.reader() as s:
        subject_id = s.exec(select(Subject.id).where(Subject.code == "TLS-107")).one()
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        # Harvest, without starting the lot at once.
        form = await opened(pilot, "h", HarvestForm)
        form.query_one("#subject", Select).value = subject_id
        await fill(pilot, "collected", "2025-03-01 08:00")
        assert "Sat 01 Mar 2025 08:00 CET" in shown(app, "#collected .mf-preview")
        await fill(pilot, "volume", "90 mL")
        await fill(pilot, "tnc", "1.4e9 cells")
        assert shown(app, "#tnc .qf-preview") == "= 1.40 × 10⁹ cells"
        form.query_one("#start-lot").focus()
        await pilot.press("space")
        await save(pilot)
        assert isinstance(app.screen, HomeScreen)
        # Start the lot from the lot list.
        await opened(pilot, "l", LotsScreen)
        await pilot.press("down")  # from the search box to the list
        start = await opened(pilot, "s", StartLotForm)
        harvest = start.query_one("#harvest", Select)
        harvest.value = harvest._options[1][1]  # the one harvest without a lot
        await save(pilot)
        assert isinstance(app.screen, LotsScreen)
        await pilot.press("enter")  # the newest lot: the one just started
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, LotDetailScreen)
        assert "Seed P0" in screen_text(app)
        # Seed P0 with the three released reagents ticked.
        await opened(pilot, "p", PassageSeedForm)
        await fill(pilot, "seeded-at", "2025-03-01 10:00")
        await fill(pilot, "cells", "5e6 cells")
        await fill(pilot, "area", "175 cm2")
        await fill(pilot, "vessels", "T175 flask")
        picker = app.screen.query_one("#reagents", SelectionList)
        picker.focus()
        for _ in range(picker.option_count):
            await pilot.press("space", "down")
        await save(pilot)
        assert app.screen is detail, screen_text(app)
        # Harvest P0.
        await opened(pilot, "h", PassageHarvestForm)
        await fill(pilot, "harvested-at", "2025-03-05 10:00")
        await fill(pilot, "cells", "4.0e7 cells")
        await fill(pilot, "viability", "95 %")
        await save(pilot)
        assert app.screen is detail, screen_text(app)
        # Count the final product with the hemocytometer calculator.
        await opened(pilot, "c", CountForm)
        await fill(pilot, "counted-at", "2025-03-05 11:00")
        rows = app.screen.query(".rep-row")
        for row, (live, dead) in zip(rows, (("100", "4"), ("104", "5")), strict=True):
            row.query_one(".rep-live", Input).focus()
            await pilot.pause()
            await type_text(pilot, live)
            await pilot.press("tab")
            await type_text(pilot, dead)
        await pilot.pause()
        summary = shown(app, ".rep-summary")
        assert "Mean 5.10 × 10⁵ cells/mL viable" in summary
        assert "viability 95.8 % · CV 2.77 % (≤ 10 %)" in summary
        await save(pilot)
        assert app.screen is detail, screen_text(app)
        # A QC result.
        qc_form = await opened(pilot, "t", QCResultForm)
        qc_form.query_one("#test", Select).value = "sterility"
        await pilot.pause()
        await fill(pilot, "value-text", "no growth")
        await fill(pilot, "tested-at", "2025-03-05 12:00")
        await save(pilot)
        assert app.screen is detail, screen_text(app)
        assert "Formulate" in screen_text(app)  # the next step
    after = row_counts(db)
    assert {k: after[k] - before[k] for k in after} == {
        "Harvest": 1,
        "Lot": 1,
        "Passage": 1,
        "PassageReagent": 3,
        "CellCount": 1,
        "CountReplicate": 2,
        "QCResult": 1,
    }
    with db.reader() as s:
        lot = s.exec(select(Lot).order_by(col(Lot.id).desc())).first()
        assert lot is not None
        assert lot.subject_id == subject_id
        assert lot.status == lots.IN_PROCESS
        harvest_row = s.get(Harvest, lot.harvest_id)
        assert harvest_row is not None
        assert (harvest_row.volume_ml, harvest_row.tnc_cells_total) == (90.0, 1.4e9)
        (passage,) = s.exec(select(Passage).where(Passage.lot_id == lot.id)).all()
        assert (
            passage.cells_seeded,
            passage.area_cm2,
            passage.cells_harvested,
            passage.viability_pct,
        ) == (5e6, 175.0, 4e7, 95.0)
        (count,) = s.exec(select(CellCount).where(CellCount.lot_id == lot.id)).all()
        assert (count.method, count.target, count.recount_required) == (
            "hemocytometer",
            "final-product",
            False,
        )
        (result,) = s.exec(select(QCResult).where(QCResult.lot_id == lot.id)).all()
        assert (result.value_text, result.conforms) == ("no growth", True)
    verify_ok(db)


async def test_a_volume_as_cells_seeded_is_refused_inline_and_nothing_is_stored(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, ids = lots_db
    before = row_counts(db)
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        app.push_screen(PassageSeedForm(ids["TLS-101"]))
        await settle(pilot)
        await fill(pilot, "cells", "70 mL")
        await fill(pilot, "area", "175 cm2")
        await fill(pilot, "vessels", "T175")
        await save(pilot)
        message = 'Cells seeded: "70 mL" is a volume; expected a cell count such as 1.2e8 cells.'
        assert shown(app, "#cells .qf-error") == message
        assert app.screen.query_one("#cells", QuantityField).has_class("-invalid")
        assert shown(app, "#form-message") == message
        assert isinstance(app.screen, PassageSeedForm)  # the form stays open
        assert "is a volume; expected a cell count" in screen_text(app)
    assert row_counts(db) == before


async def test_a_time_the_clocks_skip_is_refused_on_screen_and_nothing_is_stored(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    """2025-03-30 02:30 did not happen in the site's zone (Europe/Berlin): the field names
    the two moments it could mean instead of storing 03:30."""
    db, ids = lots_db
    before = row_counts(db)
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        app.push_screen(PassageSeedForm(ids["TLS-101"]))
        await settle(pilot)
        await fill(pilot, "seeded-at", "2025-03-30 02:30")
        await fill(pilot, "cells", "5e6 cells")
        await fill(pilot, "area", "175 cm2")
        await fill(pilot, "vessels", "T175")
        await save(pilot)
        assert shown(app, "#seeded-at .mf-error") == (
            "Seeded at: 2025-03-30 02:30 did not happen in Europe/Berlin (the clocks went "
            "forward); it is either 2025-03-30 01:30 CET or 2025-03-30 03:30 CEST: type one "
            "of them."
        )
        assert isinstance(app.screen, PassageSeedForm)  # the form stays open
    assert row_counts(db) == before


async def test_a_passage_after_formulation_is_refused_with_the_rule(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, ids = lots_db
    lot_id = ids["TLS-105"]  # counted, ready to formulate
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login_and_open(pilot, "tech", LotDetailScreen(lot_id))
        form = await opened(pilot, "p", PassageSeedForm)
        assert "P2" in shown(app, "#passage-number")
        # Meanwhile another terminal formulates the lot.
        with db.session() as s:
            tech = CurrentUser.of(s.exec(select(User).where(User.username == "tech2")).one())
            formulation.formulate(s, tech, lot_id=lot_id, volume_text="25 mL", storage="2–8 °C")
        before = row_counts(db)
        await fill(pilot, "seeded-at", "now")
        await fill(pilot, "cells", "2e7 cells")
        await fill(pilot, "area", "1272 cm2")
        await fill(pilot, "vessels", "CellSTACK")
        picker = form.query_one("#reagents", SelectionList)
        picker.select_all()
        await save(pilot)
        message = shown(app, "#form-message")
        assert message.startswith("Not allowed now: Cannot record passage P2: lot L-")
        assert (
            "manufacturing records can only be added while a lot is in process (no "
            "passage after formulation). Nothing was saved." in message
        )
        assert app.screen is form
    assert row_counts(db) == before
    verify_ok(db)

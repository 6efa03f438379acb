"""QA review: the home queue, the review of a lot, and a release signed through the
signature dialog — a wrong password stores nothing and counts as a failure."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from lottrack.manufacturing import expansion, lots
from lottrack.records.permissions import CurrentUser
from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import Disposition, Lot, Passage, Signature, Site, User
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
from tests.tui.lot_data import PASSWORDS, private_copy
from tui.app import make_app
from tui.dialogs.signature import SignatureModal
from tui.manufacturing.lot_detail import LotDetailScreen
from tui.panes.qa import LotsAwaitingReviewPane
from tui.qa.decision_form import DecisionForm
from tui.qa.review import QAReviewScreen
from tui.widgets.lazy_tabs import LazyTabs, TabBar

pytestmark = pytest.mark.asyncio


@pytest.fixture
def lots_db(tmp_path: Path) -> Iterator[tuple[Database, dict[str, int]]]:
    db, ids = private_copy(tmp_path)
    yield db, ids
    db.dispose()


def decisions(db: Database, lot_id: int) -> list[Disposition]:
    with db.reader() as s:
        return list(s.exec(select(Disposition).where(Disposition.lot_id == lot_id)).all())


def failed_logins(db: Database, username: str) -> int:
    with db.reader() as s:
        return s.exec(select(User.failed_logins).where(User.username == username)).one()


async def sign(pilot: Pilot[None], username: str, password: str) -> None:
    """Type both components into the signature dialog and sign."""
    await type_text(pilot, username)
    await pilot.press("enter")
    await type_text(pilot, password)
    await pilot.press("enter")
    await settle(pilot)


async def test_qa_releases_a_ready_lot_through_the_signature_dialog(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, ids = lots_db
    lot_id = ids["TLS-102"]
    with db.reader() as s:
        signatures_before = len(s.exec(select(Signature)).all())
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")
        # The queue: ready, out of specification, quarantined.
        pane = app.screen.query_one(LotsAwaitingReviewPane)
        table = pane.query_one(DataTable)
        flags = [str(table.get_row_at(i)[-1]) for i in range(table.row_count)]
        assert flags == ["ready", "OUT OF SPEC", "ready"]
        assert app.focused is table
        await pilot.press("enter")  # the first: TLS-102, ready
        await settle(pilot)
        review = app.screen
        assert isinstance(review, QAReviewScreen)
        assert "Every required result is in and conforms." in shown(app, "#review-readiness")
        footer = screen_text(app).splitlines()[-1]
        assert "r Release" in footer
        assert "Exceptional" not in footer  # only for a lot out of specification
        await pilot.press("r")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, DecisionForm)
        await type_text(pilot, "batch record and audit trail reviewed")
        await pilot.press("ctrl+s")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, SignatureModal)
        text = screen_text(app)
        assert "Release lot L-A999925000002 (subject TLS-102)" in text
        assert "“I release this lot for clinical use” (released)" in text
        # A wrong password: the service's message, nothing stored, the failure counted.
        await sign(pilot, "qa", "not-my-password")
        assert app.screen is form
        assert shown(app, "#form-message") == (
            "Signature refused: Wrong password; nothing was signed. Nothing was saved."
        )
        assert decisions(db, lot_id) == []
        assert failed_logins(db, "qa") == 1
        # Again, with the right password.
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, SignatureModal)
        await sign(pilot, "qa", PASSWORDS["qa"])
        assert app.screen is review
        assert "released" in shown(app, "#review-head")
        footer = screen_text(app).splitlines()[-1]
        assert "Release" not in footer
    (decision,) = decisions(db, lot_id)
    assert decision.decision == "released"
    assert decision.justification == "batch record and audit trail reviewed"
    with db.reader() as s:
        lot = s.get(Lot, lot_id)
        assert lot is not None
        assert lot.status == lots.RELEASED
        signature = s.get(Signature, decision.signature_id)
        assert signature is not None
        assert (signature.meaning, signature.printed_name) == ("released", "Quinn Quality")
        assert len(s.exec(select(Signature)).all()) == signatures_before + 1
    verify_ok(db)


async def test_out_of_specification_is_flagged_and_released_under_exception(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, ids = lots_db
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login_and_open(pilot, "qa", QAReviewScreen(ids["TLS-103"]))
        review = app.screen
        assert shown(app, "#review-readiness").startswith(
            "OUT OF SPECIFICATION: Viability, fresh final product 75 % (limit ≥ 80 %)"
        )
        footer = screen_text(app).splitlines()[-1]
        assert "e Exceptional" in footer
        assert "r Release" not in footer
        results = app.screen.query_one("#review-results", DataTable)
        assert " ".join(str(results.get_row_at(0)[2]).split()) == "✗ OUT OF SPEC"  # wrapped
        await pilot.press("2")
        await settle(pilot)
        audit = app.screen.query_one("#review-audit", DataTable)
        actions = [str(audit.get_row_at(i)[3]) for i in range(audit.row_count)]
        assert "insert" in actions
        assert not any(a.startswith("✎") for a in actions)  # nothing corrected
        # The exceptional release, with its four records.
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, DecisionForm)
        for field, text in (
            ("justification", "patient has no other option"),
            ("request", "Dr Who, letter of 2025-03-13"),
            ("risk", "viability 75 % judged acceptable; see RE-12"),
            ("acceptance", "accepted by Dr Who, 2025-03-14 08:00"),
            ("sponsor", "2025-03-14 08:15"),
        ):
            box = form.query_one(f"#{field}")
            (box if isinstance(box, Input) else box.query_one(Input)).focus()
            await pilot.pause()
            await type_text(pilot, text)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, SignatureModal)
        await sign(pilot, "qa", PASSWORDS["qa"])
        assert app.screen is review
    (decision,) = decisions(db, ids["TLS-103"])
    assert decision.decision == "released-exceptional"
    assert decision.risk_evaluation == "viability 75 % judged acceptable; see RE-12"
    assert decision.sponsor_notified_at is not None
    assert decision.sponsor_notified_at.isoformat() == "2025-03-14T07:15:00+00:00"
    verify_ok(db)


async def test_a_released_lot_shows_its_valid_signature(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, ids = lots_db
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login_and_open(pilot, "qa", QAReviewScreen(ids["TLS-104"]), "3")
        table = app.screen.query_one("#review-decisions", DataTable)
        row = [" ".join(str(c).split()) for c in table.get_row_at(0)]  # wrapped cells
        assert row[1:5] == [
            "released",
            "valid",
            "Quinn Quality",
            "I release this lot for clinical use",
        ]


async def test_the_audit_tab_counts_corrections_and_a_click_on_a_tab_shows_it(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, ids = lots_db
    lot_id = ids["TLS-104"]
    with db.session() as s:
        tech = CurrentUser.of(s.exec(select(User).where(User.username == "tech")).one())
        p1 = s.exec(select(Passage).where(Passage.lot_id == lot_id, Passage.number == 1)).one()
        assert p1.id is not None
        expansion.correct_passage(
            s, tech, p1.id, reason="transcription error", cells_harvested_text="1.6e8 cells"
        )
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login_and_open(pilot, "qa", QAReviewScreen(lot_id))
        tabs = app.screen.query_one(LazyTabs)
        labels = next(line for line in screen_text(app).splitlines() if "1 Results" in line)
        assert " 1 Results  2 Audit trail ✎1  3 Decisions " in labels
        assert isinstance(app.focused, DataTable)
        assert app.focused.id == "review-results"
        assert not tabs.built("decisions")
        bar = app.screen.query_one(TabBar)
        await pilot.click(TabBar, offset=(labels.index("3 Decisions") - bar.region.x, 0))
        await settle(pilot)
        assert tabs.active == "decisions"
        table = app.screen.query_one("#review-decisions", DataTable)
        assert app.focused is table
        assert table.row_count == 1
        assert "INVALIDATED" in screen_text(app)  # the release the correction undid


@pytest.mark.parametrize("screen_type", [QAReviewScreen, LotDetailScreen])
async def test_the_head_writes_numbers_with_the_sites_decimal_separator(
    lots_db: tuple[Database, dict[str, int]], screen_type: type[QAReviewScreen | LotDetailScreen]
) -> None:
    """The review reads the lot's site with its summary (not the lab's form context,
    which it no longer reads: #18): a site that writes 12,3 shows the cumulative PD so."""
    db, ids = lots_db
    with db.session() as s:
        audit.set_actor(s, None, "system:test")
        with audit.reason(s, "The site writes decimal commas"):
            for site in s.exec(select(Site)).all():
                site.decimal_separator = ","
            s.flush()
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await login_and_open(pilot, "qa", screen_type(ids["TLS-102"]))
        head = shown(app, "#review-head" if screen_type is QAReviewScreen else "#lot-head")
        pd = re.search(r"cum\. PD (\S+)", head)
        assert pd is not None, head
        assert re.fullmatch(r"\d+,\d+", pd.group(1)), head

"""Blinding (design §7): the ward's screens of an MSC visit and of a placebo visit are the
same apart from identifiers and times — same lines, same words, same order, same keys."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select
from textual.widgets import DataTable

from lottrack.records.permissions import CurrentUser
from lottrack.records.signatures import Credentials
from lottrack.storage.db import Database
from lottrack.storage.models import User
from lottrack.trial import ward
from tests.tui import trial_data
from tests.tui.helpers import PASSWORDS, frozen_clock, login, screen_text, settle
from tests.tui.trial_data import TrialIds
from tui.app import make_app
from tui.panes.clinician import PatientsPane
from tui.ward.visit import WardVisitScreen

pytestmark = pytest.mark.asyncio
Trial = tuple[Database, TrialIds]
trial_template, trial = trial_data.trial_template, trial_data.trial

MASKS = (
    (re.compile(r"TLS-\d{3}"), "<subject>"),
    (re.compile(r"K-[0-9A-Z]{8}"), "<kit>"),
    (re.compile(r"\b[A-Z0-9]{5} \d\d \d{6} [0-9A-Z*]\b"), "<din>"),
    (re.compile(r"\d{4}-\d\d-\d\d"), "<date>"),
    (re.compile(r"\b\d\d:\d\d( [A-Z]{3,4})?"), "<time>"),
    (re.compile(r"\b\d\d [A-Z][a-z]{2}\b"), "<day>"),
)


def masked(text: str) -> str:
    """``text`` with identifiers and times replaced by placeholders."""
    for pattern, placeholder in MASKS:
        text = pattern.sub(placeholder, text)
    return text


def infuse(db: Database, visit_id: int, code: str) -> None:
    """Bedside check, start and signed end through the ward service, as the ward."""
    with db.reader() as s:
        who = CurrentUser.of(s.exec(select(User).where(User.username == "ward")).one())
        view = ward.ward_visit(s, who, visit_id)
    assert view.kit_code is not None
    with db.session() as s:
        infusion = ward.bedside_check(
            s,
            who,
            visit_id=visit_id,
            subject_code=code,
            date_of_birth=trial_data.DOB[code],
            kit_code=view.kit_code,
        )
    with db.session() as s:
        ward.start_infusion(s, who, infusion, trial_data.FROZEN_UTC)
    with db.session() as s:
        ward.end_infusion(
            s,
            who,
            Credentials("ward", PASSWORDS["ward"]),
            infusion,
            ended_at=trial_data.FROZEN_UTC,
            reactions="chills",
            reaction_grade=1,
        )


async def ward_screens(db: Database, size: tuple[int, int]) -> dict[str, str]:
    """The masked home row and visit screen of each period-1 visit at the bedside."""
    shown: dict[str, str] = {}
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=size) as pilot:
        await login(pilot, "ward")
        table = app.screen.query_one(PatientsPane).query_one(DataTable)
        for code, row in (("TLS-102", 2), ("TLS-103", 4)):
            shown[f"{code} row"] = masked(" | ".join(str(c) for c in table.get_row_at(row)))
            table.move_cursor(row=row)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, WardVisitScreen)
            assert code in screen_text(app)
            shown[code] = masked(screen_text(app))
            await pilot.press("f1")
            await pilot.pause()
            shown[f"{code} help"] = screen_text(app)
            await pilot.press("escape", "escape")
            await settle(pilot)
    return shown


async def test_ward_screens_of_msc_and_placebo_visits_are_the_same(trial: Trial) -> None:
    """At the bedside (80x24), then infused (120x40)."""
    db, ids = trial
    before = await ward_screens(db, (80, 24))  # TLS-102 holds placebo, TLS-103 MSC
    for part in ("row", "", "help"):
        key = f" {part}" if part else ""
        assert before[f"TLS-102{key}"] == before[f"TLS-103{key}"], part
    assert "ready for bedside check" in before["TLS-102"]
    assert not re.search(
        r"\b(msc|placebo|cells?|dose|released|lot|arm)\b", before["TLS-102"], re.IGNORECASE
    )

    infuse(db, ids.visits["TLS-102"][0], "TLS-102")
    infuse(db, ids.visits["TLS-103"][0], "TLS-103")
    after = await ward_screens(db, (120, 40))
    for part in ("row", "", "help"):
        key = f" {part}" if part else ""
        assert after[f"TLS-102{key}"] == after[f"TLS-103{key}"], part
    assert "State: infused" in after["TLS-102"]
    assert "Reactions: chills (grade 1)" in after["TLS-102"]

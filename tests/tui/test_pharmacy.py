"""Pharmacy screens: dispensing with the dose signed, second verification, then the ward.

Driven through the real app (Pilot) on a SQLite file; the records are then read back.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import ColumnElement
from sqlmodel import Session, col, func, select
from textual.pilot import Pilot
from textual.widgets import DataTable

from lottrack.records.permissions import CurrentUser
from lottrack.records.signatures import Credentials
from lottrack.storage.db import Database
from lottrack.storage.models import (
    AuditEvent,
    Certificate,
    Dispensing,
    DispensingCheck,
    Infusion,
    ProductUnit,
    Signature,
    User,
    Visit,
)
from lottrack.trial import dispensing
from lottrack.views.documents import signing
from tests.conftest import verify_ok
from tests.tui import trial_data
from tests.tui.helpers import (
    PASSWORDS,
    frozen_clock,
    login,
    screen_text,
    settle,
    shown,
    type_text,
)
from tests.tui.trial_data import TrialIds
from tui.app import make_app
from tui.dialogs.signature import SignatureModal
from tui.pharmacy.verify import PharmacyVerifyScreen
from tui.pharmacy.visit import PharmacyVisitScreen
from tui.ward.visit import WardVisitScreen

pytestmark = pytest.mark.asyncio
Trial = tuple[Database, TrialIds]
trial_template, trial = trial_data.trial_template, trial_data.trial


async def sign(pilot: Pilot[None], username: str, password: str | None = None) -> None:
    """Fill in the signature dialog and sign."""
    app = pilot.app
    assert isinstance(app.screen, SignatureModal), type(app.screen).__name__
    await type_text(pilot, username)
    await pilot.press("enter")
    await type_text(pilot, PASSWORDS[username] if password is None else password)
    await pilot.press("enter")
    await settle(pilot)


async def relogin(pilot: Pilot[None], username: str) -> None:
    """Log out and in as someone else."""
    await pilot.press("ctrl+l")
    await login(pilot, username)


def count(db: Database, model: type, *where: ColumnElement[bool] | bool) -> int:
    with db.reader() as s:
        return int(s.exec(select(func.count()).select_from(model).where(*where)).one())


async def test_dispense_verify_and_infuse_through_the_screens(
    trial: Trial, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, ids = trial
    signing.ensure_facility_key(tmp_path / "keys", facility_name="Demo University Hospital")
    monkeypatch.setenv(signing.KEY_DIR_ENV, str(tmp_path / "keys"))
    documents = Path(os.environ["LOTTRACK_DOCUMENTS_DIR"])
    visit_id = ids.visits["TLS-101"][0]
    before = {m: count(db, m) for m in (Dispensing, Infusion, Signature, ProductUnit)}
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "pharm")
        text = screen_text(app)
        assert "TLS-101" in text
        assert "MSC" in text
        await pilot.press("enter")  # the first visit due: TLS-101, period 1
        await settle(pilot)
        assert isinstance(app.screen, PharmacyVisitScreen)
        assert app.screen.visit_id == visit_id
        text = screen_text(app)
        assert "Arm: MSC" in text
        for n, name in enumerate(
            (
                "chain of identity",
                "lot released",
                "not expired",
                "current weight",
                "dose within window",
                "arm matches allocation",
            ),
            start=1,
        ):
            assert f"✔ {n} {name}" in text
        assert "inside the window" in text
        assert "Volume inside the window" in text
        await pilot.press("s")
        await pilot.pause()
        await sign(pilot, "pharm")
        assert "Dispensed: kit" in screen_text(app)
        assert "awaiting second verification" in screen_text(app)
        await pilot.press("p")
        await settle(pilot)
        assert shown(app, "#trial-status").startswith("Label LBL-")

        await pilot.press("escape")
        await relogin(pilot, "pharm2")
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, PharmacyVerifyScreen)
        assert app.screen.query_one("#verify-table", DataTable).row_count == 1
        assert "✔ 3 not expired" in screen_text(app)
        await pilot.press("s")
        await pilot.pause()
        await sign(pilot, "pharm2")
        assert "Verified: kit" in screen_text(app)
        assert "No dispensing is awaiting verification." in screen_text(app)

        await pilot.press("escape")
        await relogin(pilot, "ward")
        await pilot.press("enter")  # TLS-101 period 1 is the first row
        await settle(pilot)
        assert isinstance(app.screen, WardVisitScreen)
        assert "ready for bedside check" in screen_text(app)
        with db.reader() as s:
            kit = s.exec(
                select(ProductUnit.kit_code)
                .join(Dispensing, col(Dispensing.unit_id) == col(ProductUnit.id))
                .where(Dispensing.visit_id == visit_id)
            ).one()
        await pilot.press("b")
        await pilot.pause()
        for value in ("TLS-101", "1975-12-24", kit):
            await type_text(pilot, value)
            await pilot.press("enter")
        await settle(pilot)
        assert "Identity confirmed" in screen_text(app)
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("enter")  # started now
        await settle(pilot)
        assert "Infusion started." in screen_text(app)
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("enter")  # ended now → reactions
        await type_text(pilot, "mild chills")
        await pilot.press("enter")  # → grade
        await pilot.press("enter", "down", "enter")  # grade 1
        await pilot.press("ctrl+s")
        await pilot.pause()
        await sign(pilot, "ward")
        assert "Infusion complete and signed." in screen_text(app)
        assert "State: infused" in screen_text(app)
        await pilot.press("p")
        await settle(pilot)
        assert shown(app, "#trial-status").startswith("Infusion certificate INF-")

    with db.reader() as s:
        d = s.exec(select(Dispensing).where(Dispensing.visit_id == visit_id)).one()
        checks = s.exec(
            select(DispensingCheck)
            .where(DispensingCheck.dispensing_id == d.id)
            .order_by(col(DispensingCheck.id))
        ).all()
        infusion = s.exec(select(Infusion).where(Infusion.dispensing_id == d.id)).one()
        sigs = s.exec(select(Signature).order_by(col(Signature.id))).all()[-3:]
        visit = s.get(Visit, visit_id)
        unit = s.get(ProductUnit, d.unit_id)
    assert (d.status, d.unit_id, visit and visit.status, unit and unit.status) == (
        "infused",
        ids.bags["TLS-101"],
        "infused",
        "infused",
    )
    assert [(c.stage, c.number, c.passed) for c in checks] == (
        [("prepare", n, True) for n in range(1, 7)] + [("verify", n, True) for n in (1, 2, 3)]
    )
    assert (infusion.reactions, infusion.reaction_grade) == ("mild chills", 1)
    assert infusion.started_at is not None
    assert infusion.ended_at is not None
    assert [(g.meaning, g.record_type) for g in sigs] == [
        ("dose-verified", "dispensing"),
        ("second-verified", "dispensing"),
        ("administered", "infusion"),
    ]
    assert [g.printed_name for g in sigs] == ["Pia Pharmacist", "Paul Pharmacist", "Wendy Ward"]
    assert sorted(p.name for p in documents.iterdir()) == [
        f"infusion-{kit}.pdf",
        f"label-{kit}.pdf",
    ]
    assert count(db, Certificate) == 2
    after = {m: count(db, m) for m in before}
    assert {m.__name__: after[m] - before[m] for m in before} == {
        "Dispensing": 1,
        "Infusion": 1,
        "Signature": 3,
        "ProductUnit": 0,
    }
    verify_ok(db)


async def test_the_preparer_cannot_verify_and_nothing_is_stored(trial: Trial) -> None:
    db, ids = trial
    with db.session() as s:
        pharm = _who(s, "pharm")
        prep = dispensing.prepare(
            s,
            pharm,
            Credentials("pharm", PASSWORDS["pharm"]),
            visit_id=ids.visits["TLS-101"][0],
            unit_id=ids.bags["TLS-101"],
        )
    before = count(db, DispensingCheck)
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await login(pilot, "pharm")
        await pilot.press("v")
        await settle(pilot)
        assert "You prepared this dispensing" in screen_text(app)
        await pilot.press("s")
        await settle(pilot)
        # Refused before the password is asked: nobody types it for nothing.
        assert not isinstance(app.screen, SignatureModal)
        text = screen_text(app)
        assert "The second verifier must be a different person" in text
    with db.reader() as s:
        d = s.get(Dispensing, prep.dispensing_id)
        assert d is not None
        assert (d.status, d.verified_by) == ("prepared", None)
    assert count(db, DispensingCheck) == before
    assert count(db, Signature, Signature.meaning == "second-verified") == 2  # the template's
    verify_ok(db)


async def test_a_wrong_signature_password_asks_again(trial: Trial) -> None:
    db, _ = trial
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "pharm")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("s")
        await pilot.pause()
        await sign(pilot, "pharm", "not-my-password")
        assert isinstance(app.screen, SignatureModal)
        assert "password" in screen_text(app).lower()
        await pilot.press("escape")
        await pilot.pause()
        assert "Not signed" in screen_text(app)
    assert count(db, Dispensing) == 2
    assert count(db, AuditEvent, AuditEvent.action == "dispense-refused") == 0


async def test_an_unusual_weight_is_recorded_with_its_warning_as_on_the_ward(
    trial: Trial,
) -> None:
    db, _ = trial
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "pharm")
        await pilot.press("enter")  # the first visit due: TLS-101, period 1
        await settle(pilot)
        assert isinstance(app.screen, PharmacyVisitScreen)
        await pilot.press("w")
        await pilot.pause()
        await type_text(pilot, "25 kg")
        await pilot.press("enter")  # outside 30–200 kg: the dialog asks to confirm first
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert shown(app, "#trial-status").startswith(
            "Weight 25 kg recorded. Warning: Weight 25 kg is outside the usual 30–200 kg"
        )
        assert shown(app, "#pv-weight").startswith("Weight: 25 kg, measured 2025-03-14 09:30 CET")


def _who(session: Session, username: str) -> CurrentUser:
    user = session.exec(select(User).where(col(User.username) == username)).one()
    return CurrentUser.of(user)

"""The pharmacy's ZPL label (design §9): after dispensing, **z** writes the label as ZPL
for a thermal printer and sends it to ``$LOTTRACK_LABEL_PRINTER`` (a raw-TCP server on
127.0.0.1 here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlmodel import select

from lottrack.storage.db import Database
from lottrack.storage.models import Certificate, Dispensing, ProductUnit
from lottrack.views.documents import signing
from tests.certificates.zpl import RawPrinter, texts
from tests.tui import trial_data
from tests.tui.helpers import frozen_clock, login, settle, shown
from tests.tui.test_pharmacy import sign
from tests.tui.trial_data import TrialIds
from tui.app import make_app
from tui.pharmacy.documents import LABEL_PRINTER_ENV
from tui.pharmacy.visit import PharmacyVisitScreen

pytestmark = pytest.mark.asyncio
trial_template, trial = trial_data.trial_template, trial_data.trial


async def test_z_writes_the_zpl_label_and_sends_it_to_the_printer(
    trial: tuple[Database, TrialIds], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, ids = trial
    signing.ensure_facility_key(tmp_path / "keys", facility_name="Demo University Hospital")
    monkeypatch.setenv(signing.KEY_DIR_ENV, str(tmp_path / "keys"))
    printer = RawPrinter()
    monkeypatch.setenv(LABEL_PRINTER_ENV, f"127.0.0.1:{printer.port}")
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "pharm")
        await pilot.press("enter")  # TLS-101, period 1
        await settle(pilot)
        assert isinstance(app.screen, PharmacyVisitScreen)
        await pilot.press("s")
        await pilot.pause()
        await sign(pilot, "pharm")
        await pilot.press("z")
        await settle(pilot)
        status = shown(app, "#trial-status")
    sent = printer.close()
    with db.reader() as s:
        kit = s.exec(
            select(ProductUnit.kit_code)
            .join(Dispensing, Dispensing.unit_id == ProductUnit.id)  # type: ignore[arg-type]
            .where(Dispensing.visit_id == ids.visits["TLS-101"][0])
        ).one()
        certificate = s.exec(select(Certificate)).one()
    zpl = Path(os.environ["LOTTRACK_DOCUMENTS_DIR"]) / f"label-{kit}.zpl"
    assert status.startswith(f"Label {certificate.document_id} written to")
    assert status.replace("\n", " ").endswith(f"and sent to printer 127.0.0.1:{printer.port}.")
    assert sent == zpl.read_bytes()
    assert kit in texts(sent)
    assert "TLS-101" in texts(sent)

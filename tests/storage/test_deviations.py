"""Deviations (design §6.7): opened on a lot by who records on it, closed by QA with a
signature; an open deviation blocks release; an exceptional release names those it
accepts, and the certificate lists them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from lottrack.demo.scenario import CONFORMING_QC, Scenario
from lottrack.kernel.errors import (
    InvalidTransition,
    PermissionDenied,
    SignatureRejected,
    ValidationError,
)
from lottrack.manufacturing import deviations, lots, qc
from lottrack.records.signatures import Credentials
from lottrack.release import disposition
from lottrack.storage.models import Deviation, DeviationLink, utcnow
from lottrack.views.documents.builders import build_release_data
from lottrack.views.listings import review_queue
from tests.conftest import verify_ok

BORN = dt.date(1971, 9, 9)
WHAT = {
    "description": "Incubator door left ajar for 20 min during P1",
    "impact": "Temperature fell to 33 °C; cells recovered, no impact expected",
    "corrective_action": "Door alarm re-enabled; staff retrained",
}


def _open(sc: Scenario, lot_id: int, who: str = "technician", **changes: object) -> int:
    fields = dict(WHAT, planned=False) | changes
    with sc.db.session() as s:
        return deviations.open_deviation(s, sc.cast.who(who), lot_id=lot_id, **fields)  # type: ignore[arg-type]


def _close(sc: Scenario, dev_id: int, who: str = "qa", password: str | None = None) -> None:
    creds = sc.cast.creds(who)
    if password is not None:
        creds = Credentials(creds.username, password)
    with sc.db.session() as s:
        deviations.close_deviation(
            s, sc.cast.who(who), creds, dev_id, "Impact assessed: none; CAPA effective"
        )


def _flag(sc: Scenario, lot_id: int) -> str:
    with sc.db.reader() as s:
        return next(i for i in review_queue(s, sc.cast.who("qa")) if i.lot_id == lot_id).flag


def _rows(sc: Scenario) -> list[Deviation]:
    with sc.db.reader() as s:
        return list(s.exec(select(Deviation)).all())


def test_an_open_deviation_blocks_release_until_qa_closes_it(sc: Scenario) -> None:
    lot_id, _ = sc.made_lot(sc.subject("TLS-501", BORN))
    dev_id = _open(sc, lot_id)
    (row,) = _rows(sc)
    assert (row.lot_id, row.planned, row.description, row.closed_at) == (
        lot_id,
        False,
        WHAT["description"],
        None,
    )
    assert _flag(sc, lot_id) == "DEVIATION OPEN"
    with (
        sc.db.session() as s,
        pytest.raises(InvalidTransition, match=f"deviation #{dev_id} open: Incubator"),
    ):
        disposition.release(s, sc.cast.who("qa"), lot_id, sc.cast.creds("qa"))
    with pytest.raises(PermissionDenied, match="close investigations and deviations"):
        _close(sc, dev_id, who="technician")
    with pytest.raises(SignatureRejected):
        _close(sc, dev_id, password="not-my-password")
    assert _rows(sc)[0].closed_at is None
    _close(sc, dev_id)
    with sc.db.reader() as s:
        (view,) = deviations.list_for_lot(s, sc.cast.who("qa"), lot_id)
    assert (view.is_open, view.closed_by, view.closure) == (
        False,
        "Person Qa",
        "Impact assessed: none; CAPA effective",
    )
    assert view.signature is not None
    assert view.signature.valid
    with pytest.raises(InvalidTransition, match="already closed"):
        _close(sc, dev_id)
    assert _flag(sc, lot_id) == "ready"
    sc.release(lot_id)
    with sc.db.reader() as s:
        (line,) = build_release_data(s, sc.cast.who("qa"), lot_id).quality_records
    assert (line.kind, line.reference) == ("Deviation", f"#{dev_id} (unplanned)")
    assert line.outcome == "closed — Impact assessed: none; CAPA effective (Person Qa)"
    verify_ok(sc.db)


def test_opening_needs_every_field_and_the_right_role(sc: Scenario) -> None:
    lot_id, _ = sc.made_lot(sc.subject("TLS-502", BORN))
    with pytest.raises(ValidationError, match="Impact on the product: nothing was typed"):
        _open(sc, lot_id, impact="  ")
    with pytest.raises(ValidationError, match="Corrective action"):
        _open(sc, lot_id, corrective_action="")
    with pytest.raises(PermissionDenied, match="open deviations"):
        _open(sc, lot_id, who="pharmacist")
    assert _rows(sc) == []
    dev_id = _open(sc, lot_id, who="qa", planned=True)
    with pytest.raises(PermissionDenied, match="opened deviation #[0-9]+ and so may not close it"):
        _close(sc, dev_id, who="qa")
    _close(sc, dev_id, who="qa2")
    with sc.db.session() as s:
        disposition.reject(s, sc.cast.who("qa"), lot_id, sc.cast.creds("qa"), "test lot")
    with pytest.raises(InvalidTransition, match="is rejected"):
        _open(sc, lot_id)


def test_an_exceptional_release_names_the_deviations_it_accepts(sc: Scenario) -> None:
    lot_id, _ = sc.made_lot(
        sc.subject("TLS-503", BORN), qc_results=dict(CONFORMING_QC, cd105="93.5 %")
    )
    sc.conclude_investigations(lot_id)
    dev_id = _open(sc, lot_id)
    records = disposition.ExceptionalRelease(
        "Dr A: written request",
        "risk judged low",
        "Dr A accepted",
        utcnow() - dt.timedelta(minutes=5),
    )

    def release(accepted: tuple[int, ...]) -> None:
        with sc.db.session() as s:
            disposition.release_exceptional(
                s,
                sc.cast.who("qa"),
                lot_id,
                sc.cast.creds("qa"),
                records,
                "clinical need",
                accepted_deviations=accepted,
            )

    with pytest.raises(InvalidTransition, match=f"open deviation\\(s\\) #{dev_id} not named"):
        release(())
    with pytest.raises(ValidationError, match="#999 is not a deviation of lot"):
        release((dev_id, 999))
    release((dev_id,))
    with sc.db.reader() as s:
        link = s.exec(select(DeviationLink)).one()
        status = lots.get_lot(s, lot_id).status
        (dev_line,) = [
            q
            for q in build_release_data(s, sc.cast.who("qa"), lot_id).quality_records
            if q.kind == "Deviation"
        ]
    assert (link.deviation_id, link.record_type) == (dev_id, "disposition")
    assert status == lots.RELEASED_EXCEPTIONAL
    assert dev_line.outcome == "OPEN; accepted by the exceptional release"
    with sc.db.reader() as s:
        assert qc.readiness(s, lots.get_lot(s, lot_id)).open_records == (
            f"deviation #{dev_id} open: {WHAT['description']}",
        )
    verify_ok(sc.db)

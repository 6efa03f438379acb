"""Where the lab and QA see their work, an open OOS investigation or deviation says so
(design §6.6–§6.7, issue #16): the technician's work list, the lot list and the export."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from lottrack.demo.scenario import CONFORMING_QC, Scenario
from lottrack.manufacturing import deviations, investigations
from lottrack.storage.models import utcnow
from lottrack.trial import export
from lottrack.views import listings

BORN = dt.date(1968, 6, 30)


def _lots(sc: Scenario) -> tuple[int, int, int]:
    """An awaiting lot with an OOS endotoxin (investigation open), a lot in process with
    an open deviation, and the investigation's id."""
    oos, _ = sc.made_lot(
        sc.subject("TLS-901", BORN), qc_results={**CONFORMING_QC, "endotoxin": "9 EU/mL"}
    )  # limit 7
    growing = sc.harvest_and_lot(sc.subject("TLS-902", BORN), utcnow() - dt.timedelta(days=3))
    with sc.db.session() as s:
        deviations.open_deviation(
            s,
            sc.cast.who("technician"),
            lot_id=growing,
            planned=False,
            description="Incubator door left ajar for 20 minutes",
            impact="Temperature stayed within 36-38 °C",
            corrective_action="Door alarm set",
        )
    with sc.db.reader() as s:
        (inv,) = investigations.views(s, oos)
    return oos, growing, inv.id


def _due(sc: Scenario) -> dict[int, str]:
    with sc.db.reader() as s:
        return {i.lot_id: i.due for i in listings.technician_worklist(s, sc.cast.who("technician"))}


def test_the_lab_work_list_names_open_investigations_and_deviations(sc: Scenario) -> None:
    oos, growing, inv_id = _lots(sc)
    due = _due(sc)
    assert due[oos] == (
        f"Retest: Investigation #{inv_id} open: Endotoxin 9 EU/mL (limit ≤ 7 EU/mL)"
    )
    assert due[growing] == "DEVIATION OPEN · Seed P0"
    with sc.db.session() as s:
        investigations.close(
            s,
            sc.cast.who("qa"),
            sc.cast.creds("qa"),
            inv_id,
            lab_error=False,
            conclusion="no laboratory error",
        )
    assert oos not in _due(sc)  # nothing left for the lab: QA decides


def test_the_lot_list_counts_what_is_open_on_each_lot(sc: Scenario) -> None:
    oos, growing, _inv = _lots(sc)
    page = listings.lot_page(sc.db, sc.cast.who("qa"))
    rows = {r.id: r for r in page.rows}
    assert (rows[oos].open_investigations, rows[oos].open_deviations) == (1, 0)
    assert rows[oos].open_note == "investigation open"
    assert rows[growing].open_note == "deviation open"
    assert listings.open_note(2, 1) == "2 investigations and deviation open"


def test_the_export_lists_every_investigation_and_deviation_and_whether_open(
    sc: Scenario, tmp_path: Path
) -> None:
    oos, _growing, inv_id = _lots(sc)
    with sc.db.session() as s:
        export.export(s, sc.cast.who("qa"), fmt="json", directory=tmp_path)
    rows = json.loads((tmp_path / "quality_records.json").read_text())
    assert [(r["subject_code"], r["record"], r["state"]) for r in rows] == [
        ("TLS-901", f"investigation #{inv_id}", "open"),
        ("TLS-902", "unplanned deviation #1", "open"),
    ]
    assert rows[0]["what"] == "Endotoxin 9 EU/mL (limit ≤ 7 EU/mL)"
    assert rows[1]["what"] == "Incubator door left ajar for 20 minutes"
    with sc.db.session() as s:
        investigations.close(
            s,
            sc.cast.who("qa"),
            sc.cast.creds("qa"),
            inv_id,
            lab_error=False,
            conclusion="no laboratory error",
        )
        export.export(s, sc.cast.who("qa"), fmt="csv", directory=tmp_path)
    text = (tmp_path / "quality_records.csv").read_text()
    assert f"investigation #{inv_id},{rows[0]['opened_at']},closed: no-lab-error" in text


def test_qa_queue_holds_lots_in_process_with_a_record_to_close(sc: Scenario) -> None:
    oos, growing, _inv = _lots(sc)

    def queue() -> dict[int, tuple[str, str]]:
        with sc.db.reader() as s:
            return {
                i.lot_id: (i.status, i.flag) for i in listings.review_queue(s, sc.cast.who("qa"))
            }

    assert queue() == {
        oos: ("awaiting-release", "INVESTIGATION OPEN, OUT OF SPEC"),
        growing: ("in-process", "DEVIATION OPEN"),
    }
    with sc.db.reader() as s:
        (dev,) = deviations.list_for_lot(s, sc.cast.who("qa"), growing)
    with sc.db.session() as s:
        deviations.close_deviation(
            s,
            sc.cast.who("qa"),
            sc.cast.creds("qa"),
            dev.id,
            "No impact: temperature within limits.",
        )
    assert growing not in queue()

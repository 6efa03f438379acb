"""The release builder against real records: what the certificate states comes from the
batch record, the QC service, the disposition history and the audit trail."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from certificates.release import render_release
from lottrack.kernel.errors import InvalidTransition, PermissionDenied
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.views.documents.builders import build_release_data
from tests.certificates import records
from tests.certificates.pdftext import text


def test_release_data_of_a_released_lot(
    db: Database, make_user: Callable[..., CurrentUser]
) -> None:
    p = records.people(make_user)
    site_id = records.site(db, p.tech)
    subject_id, harvest_id = records.subject(db, p.tech, site_id, 3)
    lot_id, _ = records.manufactured_lot(db, p.tech, subject_id, harvest_id)
    with db.session() as s, pytest.raises(InvalidTransition, match="in-process"):
        build_release_data(s, p.qa, lot_id)
    records.release(db, p, lot_id, hold_first=True)
    with db.session() as s, pytest.raises(PermissionDenied):
        build_release_data(s, p.tech, lot_id)
    with db.session() as s:
        data = build_release_data(s, p.qa, lot_id)

    assert (data.lot_number, data.subject_code, data.coi_id) == (
        "L-24-0001",
        "TLS-003",
        "COI-7KX2M3",
    )
    assert (data.din.code, data.din.check) == ("A999924000123", "M")
    assert data.timezone == "Europe/Berlin"
    assert data.specification_version == 1
    assert [p.number for p in data.passages] == [0, 1, 2]
    assert data.passages[0].population_doublings == pytest.approx(0.678, abs=1e-3)
    assert data.passages[1].seeding_density_per_cm2 == pytest.approx(1000.0)
    assert data.passages[2].cumulative_population_doublings == pytest.approx(
        sum(p.population_doublings or 0 for p in data.passages)
    )
    assert [round(g.days_in_culture, 2) for g in data.growth_curve] == [10.0, 15.08, 19.17]
    by_test = {q.test: q for q in data.qc_results}
    assert by_test["CD73"].value_text == "97.2 %"
    assert by_test["Endotoxin"].limit_text == "≤ 7 EU/mL"  # 5 EU/kg × 70 kg ÷ 50 mL
    assert by_test["Karyotype"].conforms is None
    assert data.disposition.decision == "released"
    assert not data.disposition.exceptional
    # The corrected seeding count (an update of a saved value) is reported; first entries
    # (the harvest of each passage was entered with it) are not.
    assert len(data.changed_after_first_entry) == 1
    change = data.changed_after_first_entry[0]
    assert "Passage #2 (update): cells_seeded 4100000.0 → 4000000.0" in change
    assert "vessels 'T175' → '2 × T175'" in change
    assert "Theo Technician; reason: transcription error in the seeding count" in change
    # The hold and its lift were signed over the batch record before the last results:
    # they show as invalidated; the release signature is valid.
    assert [(s.meaning, s.valid) for s in data.signatures] == [
        ("reviewed", False),
        ("reviewed", False),
        ("released", True),
    ]
    assert {s.printed_name for s in data.signatures} == {"Quinn Quality"}

    # The bag made from the lot: 9.25 × 10⁷ viable cells dose 1.0–2.0 × 10⁶ cells/kg for
    # 46.25–92.5 kg.
    # QA is blinded: the bag by its division, its status masked; the pharmacy sees its kit
    # code (design §7).
    assert [(b.kit_code[:4], b.volume_ml, b.viable_cells, b.status) for b in data.bags] == [
        ("bag ", 50.0, 9.25e7, "blinded")
    ]
    with db.session() as s:
        unblinded = build_release_data(s, p.pharm, lot_id)
    assert [(b.kit_code, b.status) for b in unblinded.bags] == [("K-M3RZ9C2D", "available")]
    assert (data.bags[0].weight_min_kg, data.bags[0].weight_max_kg) == (46.25, 92.5)

    body = text(render_release(data))
    assert "INVALIDATED (record changed after signing)" in body
    assert "A9999 24 000123 M" in body
    assert f"{data.bags[0].kit_code} 50 mL 9.25 × 10⁷ cells 46.3–92.5 kg blinded" in body
    assert "K-M3RZ9C2D" not in body
    assert "EXCEPTIONAL" not in body


def test_exceptional_release_data_carries_the_four_records(
    db: Database, make_user: Callable[..., CurrentUser]
) -> None:
    p = records.people(make_user)
    site_id = records.site(db, p.tech)
    subject_id, harvest_id = records.subject(db, p.tech, site_id, 4)
    lot_id, _ = records.manufactured_lot(db, p.tech, subject_id, harvest_id)
    records.release(db, p, lot_id, exceptional=True)
    with db.session() as s:
        data = build_release_data(s, p.pharm, lot_id)
    d = data.disposition
    assert d.decision == "released-exceptional"
    assert d.exceptional
    assert d.exceptional_records is not None
    assert d.exceptional_records.risk_evaluation.startswith("Risk evaluation RE-2024-07")
    assert [q.conforms for q in data.qc_results if q.test == "CD73"] == [False]
    body = text(render_release(data))
    assert "LOT RELEASE CERTIFICATE — EXCEPTIONAL RELEASE" in body
    assert "Written request of Dr. Rita Request" in body

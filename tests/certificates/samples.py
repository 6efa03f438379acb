"""Data objects for the document tests: a released lot, an exceptional release, and the
blinded documents of an MSC bag and a placebo bag."""

from __future__ import annotations

import dataclasses
import datetime as dt

from lottrack.views.documents.data import (
    BagLabelData,
    BagLine,
    BedsideCheck,
    DinText,
    DispositionInfo,
    ExceptionalRelease,
    Facility,
    GrowthPoint,
    HarvestInfo,
    InfusionCertificateData,
    PassageLine,
    QCLine,
    ReleaseCertificateData,
    SignatureManifestation,
)

UTC = dt.UTC
FACILITY = Facility(
    "Demo University Hospital — Cell Therapy Facility", "1 Hospital Road, 10115 Demo City", "A9999"
)
ZONE = "Europe/Berlin"
LOT_DIN = DinText.of("A9999 24 000123")
MSC_DIN = DinText.of("A999924000124")
PLACEBO_DIN = DinText.of("A999924000131")


def t(day: int, hour: int, minute: int = 0, month: int = 5) -> dt.datetime:
    """A UTC time in 2024."""
    return dt.datetime(2024, month, day, hour, minute, tzinfo=UTC)


def passages() -> tuple[PassageLine, ...]:
    """Three passages, P0–P2."""
    return (
        PassageLine(0, t(2, 9), t(12, 9), 2.5e7, 4.0e7, 1250.0, 0.678, 0.678, 354.0),
        PassageLine(1, t(12, 11), t(17, 10), 4.0e6, 2.6e7, 1000.0, 2.70, 3.378, 44.1),
        PassageLine(2, t(17, 12), t(21, 15), 5.0e6, 3.1e7, 1000.0, 2.63, 6.01, 37.6),
    )


def growth() -> tuple[GrowthPoint, ...]:
    """Cumulative PD against days since the first seeding."""
    return (GrowthPoint(10.0, 0.678), GrowthPoint(15.04, 3.378), GrowthPoint(19.25, 6.01))


def qc_lines(*, cd73_ok: bool = True) -> tuple[QCLine, ...]:
    """A full v1 panel; a first CD73 result superseded by its retest."""
    return (
        QCLine("Viability, fresh final product", "92.5 %", "≥ 80 %", True, t(21, 16)),
        QCLine("CD73", "94.1 %", "≥ 95 %", False, t(21, 17), superseded=True),
        QCLine(
            "CD73", "97.2 %" if cd73_ok else "93.0 %", "≥ 95 %", cd73_ok, t(22, 9), is_retest=True
        ),
        QCLine("CD90", "98.9 %", "≥ 95 %", True, t(21, 17)),
        QCLine("CD105", "96.4 %", "≥ 95 %", True, t(21, 17)),
        QCLine("CD45", "0.4 %", "≤ 2 %", True, t(21, 17)),
        QCLine("CD34", "0.2 %", "≤ 2 %", True, t(21, 17)),
        QCLine("CD14", "0.6 %", "≤ 2 %", True, t(21, 17)),
        QCLine("CD19", "0.1 %", "≤ 2 %", True, t(21, 17)),
        QCLine("HLA-DR", "1.1 %", "≤ 2 %", True, t(21, 17)),
        QCLine("Sterility (aerobic/anaerobic culture)", "no growth", "no growth", True, t(28, 8)),
        QCLine("Mycoplasma", "not detected", "not detected", True, t(23, 8)),
        QCLine("Endotoxin", "0.8 EU/mL", "≤ 3.5 EU/mL", True, t(22, 11)),
        QCLine("Karyotype", "46,XY normal", "", None, t(27, 10)),
    )


def release_data(*, exceptional: bool = False, invalidated: bool = False) -> ReleaseCertificateData:
    """A released lot; ``exceptional`` gives the Part IV §11.5 variant; ``invalidated``
    adds an earlier signature that the record no longer matches."""
    records = (
        ExceptionalRelease(
            "Dr. Rita Request: written request of 2024-05-28, no alternative treatment.",
            "Risk evaluation RE-2024-07: CD73 93.0 % vs ≥ 95 %; identity otherwise confirmed.",
            "Dr. Rita Request accepted the risk evaluation on 2024-05-29.",
            t(29, 14, 30),
        )
        if exceptional
        else None
    )
    signatures = [
        SignatureManifestation(
            "Quinn Quality", "released", "I release this lot for clinical use", t(29, 15, 5), True
        )
    ]
    if invalidated:
        signatures.insert(
            0,
            SignatureManifestation(
                "Quentin Hold", "reviewed", "I reviewed this record", t(20, 8), False
            ),
        )
    return ReleaseCertificateData(
        document_id="REL-5B2E9F01AC37-00",
        facility=FACILITY,
        timezone=ZONE,
        product_name="Autologous bone-marrow mesenchymal stromal cells (MSC), fresh, for "
        "IV infusion",
        lot_number="L-24-0007",
        din=LOT_DIN,
        coi_id="COI-7KX2M9",
        subject_code="TLS-003",
        specification_version=1,
        specification_name="MSC release specification v1",
        harvest=HarvestInfo(t(1, 8, 40), 92.0),
        passages=passages(),
        growth_curve=growth(),
        qc_results=qc_lines(cd73_ok=not exceptional),
        disposition=DispositionInfo(
            "released-exceptional" if exceptional else "released",
            t(29, 15, 5),
            "Exceptional release per physician request" if exceptional else "",
            exceptional=exceptional,
            exceptional_records=records,
        ),
        changed_after_first_entry=(
            "QC result Endotoxin #41: value_text '0.9 EU/mL' → '0.8 EU/mL' "
            "(2024-05-22 14:03 CEST, Theo Technician; reason: transcription error)",
        ),
        signatures=tuple(signatures),
        bags=(
            BagLine("K-M3RZ9C2D", 50.0, 9.25e7, 46.25, 92.5, "released"),
            BagLine("K-Q8WN4T6H", 50.0, 9.25e7, 46.25, 92.5, "released"),
        ),
    )


def _signature(name: str, meaning: str, text: str, at: dt.datetime) -> SignatureManifestation:
    return SignatureManifestation(name, meaning, text, at, True)


def infusion_data(*, placebo: bool = False) -> InfusionCertificateData:
    """The infusion certificate of one bag; the placebo variant differs in identifiers and
    times only (as the builder guarantees for real records)."""
    shift = dt.timedelta(days=168, minutes=17) if placebo else dt.timedelta(0)
    din = PLACEBO_DIN if placebo else MSC_DIN
    kit = "K-7QH4WXTB" if placebo else "K-M3RZ9C2D"
    return InfusionCertificateData(
        document_id="INF-3F9A1C2B7D4E-00" if not placebo else "INF-8C01E5D2B7AA-00",
        facility=FACILITY,
        timezone=ZONE,
        subject_code="TLS-003",
        date_of_birth=dt.date(1961, 4, 12),
        visit_period=1,
        visit_week=0,
        kit_code=kit,
        din=din,
        product_name="MESEMS investigational product (MSC or placebo), suspension for IV infusion",
        volume_ml=50.0,
        expires_at=t(30, 9) + shift,
        storage="2–8 °C, do not freeze",
        release_reference="Release status confirmed by the pharmacy at dispensing "
        "(check 2) and at second verification",
        dose_verification=_signature(
            "Pia Pharmacist",
            "dose-verified",
            "I prepared this dispensing and verified the dose",
            t(30, 7, 10) + shift,
        ),
        second_verification=_signature(
            "Paul Pharmacist",
            "second-verified",
            "I independently verified identity, release and expiry",
            t(30, 7, 25) + shift,
        ),
        bedside_check=BedsideCheck(
            ("subject code", "date of birth"), kit, "Wendy Ward", t(30, 8, 2) + shift
        ),
        infusion_started_at=t(30, 8, 5) + shift,
        infusion_ended_at=t(30, 8, 41) + shift,
        administered_by="Wendy Ward",
    )


def label_data(*, placebo: bool = False) -> BagLabelData:
    """The label of one bag (blinded)."""
    shift = dt.timedelta(days=168, minutes=17) if placebo else dt.timedelta(0)
    return BagLabelData(
        document_id="LBL-1D2C3B4A5F6E-00" if not placebo else "LBL-9E8D7C6B5A40-00",
        facility=FACILITY,
        timezone=ZONE,
        din=PLACEBO_DIN if placebo else MSC_DIN,
        product_code="S99991C0" if placebo else "S99991F0",
        product_name="MESEMS investigational product (MSC or placebo), suspension for IV infusion",
        subject_code="TLS-003",
        date_of_birth=dt.date(1961, 4, 12),
        volume_ml=50.0,
        expires_at=t(30, 9) + shift,
        storage_temperature="2–8 °C, do not freeze",
        kit_code="K-7QH4WXTB" if placebo else "K-M3RZ9C2D",
    )


def with_id(data: ReleaseCertificateData, document_id: str) -> ReleaseCertificateData:
    """The same data under another document id."""
    return dataclasses.replace(data, document_id=document_id)

"""Blinded documents (design §7): an MSC bag and a placebo bag give infusion certificates
and labels of identical layout and wording, differing only in identifiers and times."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from collections.abc import Callable
from typing import TypeVar

import pytest
from pypdf import PdfReader
from sqlalchemy import text as sa_text

from certificates.infusion import render_infusion
from certificates.label import render_label
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.views.documents.blinded_builders import build_infusion_data, build_label_data
from lottrack.views.documents.data import BagLabelData, InfusionCertificateData
from lottrack.views.documents.issue import document_id_for
from tests.certificates import records, samples
from tests.certificates.pdftext import masked, text

ARM_REVEALING = (
    "kind",
    "arm",
    "allocation",
    "dose",
    "cell",
    "concentration",
    "viab",
    "lot",
    "reagent",
    "product_code",
    "division",
    "sequence",
)
# the pharmacist's signature, worded alike for both arms; the product code, which both arms
# carry as the site's MSC base code with a random division (an identifier, design §4.3)
ALLOWED = {"dose_verification", "product_code"}


def identifiers(data: InfusionCertificateData | BagLabelData) -> list[str]:
    """What may differ between the two documents besides times."""
    din = data.din
    out = [
        f"{din.eye_readable} {din.check}",
        din.eye_readable,
        din.code,
        data.kit_code,
        data.subject_code,
        data.document_id,
        data.content_sha256,
        data.content_sha256[:16],
        data.date_of_birth.isoformat(),
    ]
    return [i for i in out if i]


def assert_same_but_identifiers(
    msc: bytes,
    placebo: bytes,
    msc_data: InfusionCertificateData | BagLabelData,
    placebo_data: InfusionCertificateData | BagLabelData,
) -> None:
    assert len(PdfReader(io.BytesIO(msc)).pages) == len(PdfReader(io.BytesIO(placebo)).pages)
    left = masked(msc, identifiers(msc_data))
    right = masked(placebo, identifiers(placebo_data))
    assert left == right
    assert "<ID>" in left[0]
    assert "<TIME>" in left[0]


@pytest.mark.parametrize("cls", [InfusionCertificateData, BagLabelData])
def test_blinded_documents_have_no_field_that_could_reveal_the_arm(cls: type) -> None:
    names = [f.name for f in dataclasses.fields(cls)]
    assert not [n for n in names if n not in ALLOWED and any(word in n for word in ARM_REVEALING)]


@pytest.mark.parametrize("copy", [False, True])
def test_infusion_certificates_of_msc_and_placebo_read_the_same(copy: bool) -> None:
    msc, placebo = samples.infusion_data(), samples.infusion_data(placebo=True)
    assert_same_but_identifiers(
        render_infusion(msc, copy=copy), render_infusion(placebo, copy=copy), msc, placebo
    )


@pytest.mark.parametrize("copy", [False, True])
def test_labels_of_msc_and_placebo_read_the_same(copy: bool) -> None:
    msc, placebo = samples.label_data(), samples.label_data(placebo=True)
    assert_same_but_identifiers(
        render_label(msc, copy=copy), render_label(placebo, copy=copy), msc, placebo
    )


def test_a_difference_that_is_not_an_identifier_is_caught() -> None:
    msc = samples.label_data()
    placebo = dataclasses.replace(samples.label_data(placebo=True), storage_temperature="15–25 °C")
    with pytest.raises(AssertionError):
        assert_same_but_identifiers(render_label(msc), render_label(placebo), msc, placebo)


D = TypeVar("D", InfusionCertificateData, BagLabelData)


def _issued(data: D, kind: str, n: int) -> D:
    """``data`` as issued: with a document id."""
    return dataclasses.replace(
        data, document_id=document_id_for(kind, "record", n, 0, salt=b"test")
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_builders_give_the_same_documents_for_msc_and_placebo_bags(
    db: Database, make_user: Callable[..., CurrentUser]
) -> None:
    """Two subjects at their first visit, one given its MSC bag, the other a placebo bag
    made as the pharmacy makes it (suspension media, another division form)."""
    p = records.people(make_user)
    site_id = records.site(db, p.tech)
    msc_subject, msc_harvest = records.subject(db, p.tech, site_id, 1)
    _, msc_unit = records.manufactured_lot(
        db, p.tech, msc_subject, msc_harvest, kit_code="K-M3RZ9C2D"
    )
    placebo_subject, placebo_harvest = records.subject(db, p.tech, site_id, 2)
    placebo_unit = records.placebo_bag(db, p, placebo_subject, placebo_harvest, "K-7QH4WXTB")
    msc_infusion = records.infused(
        db,
        p,
        msc_subject,
        msc_unit,
        dose=1.5e6,
        check_2_detail="lot L-24-0001 is released",
        shift=dt.timedelta(0),
    )
    placebo_infusion = records.infused(
        db,
        p,
        placebo_subject,
        placebo_unit,
        dose=None,
        check_2_detail="Suspension media lot SM-0042 is released",
        shift=dt.timedelta(hours=3, minutes=7),
    )
    with db.session() as s:
        infusions = [build_infusion_data(s, p.ward, i) for i in (msc_infusion, placebo_infusion)]
        labels = [build_label_data(s, p.ward, u) for u in (msc_unit, placebo_unit)]
    # the one time printed on both that is not an event: the same after dispensing
    prepared = [records.prepared_at(db, i) for i in (msc_infusion, placebo_infusion)]
    assert (
        infusions[0].expires_at - prepared[0]
        == infusions[1].expires_at - prepared[1]
        == labels[0].expires_at - prepared[0]
        == labels[1].expires_at - prepared[1]
    )
    issued_infusions = [_issued(d, "infusion", n) for n, d in enumerate(infusions)]
    issued_labels = [_issued(d, "label", n) for n, d in enumerate(labels)]
    pdfs = [render_infusion(d) for d in issued_infusions]
    pdfs += [render_label(d) for d in issued_labels]
    pairs: list[
        tuple[
            bytes,
            bytes,
            InfusionCertificateData | BagLabelData,
            InfusionCertificateData | BagLabelData,
        ]
    ] = [
        (pdfs[0], pdfs[1], issued_infusions[0], issued_infusions[1]),
        (pdfs[2], pdfs[3], issued_labels[0], issued_labels[1]),
    ]
    for msc_pdf, placebo_pdf, msc, placebo in pairs:
        assert_same_but_identifiers(msc_pdf, placebo_pdf, msc, placebo)
        both = text(msc_pdf) + text(placebo_pdf)
        for leak in (
            "L-24-0001",
            "SM-0042",
            "Suspension media",
            "S1234100",
            "K3",
            "1.5",
            "msc",
            "placebo bag",
            "released-",
        ):
            assert leak not in both, leak
    infusion = infusions[0]
    assert infusion.dose_verification is not None
    assert infusion.second_verification is not None
    assert (infusion.dose_verification.printed_name, infusion.dose_verification.valid) == (
        "Pia Pharmacist",
        True,
    )
    assert (infusion.second_verification.printed_name, infusion.second_verification.valid) == (
        "Paul Pharmacist",
        True,
    )
    assert infusion.bedside_check.checked_by == "Wendy Ward"
    assert infusion.administered_by == "Wendy Ward"
    for data, pdf in zip(infusions, pdfs[:2], strict=True):  # identical for both arms
        assert data.administration is not None
        assert (data.administration.printed_name, data.administration.valid) == ("Wendy Ward", True)
        assert "Reactions mild chills at 20 min (grade 1)" in text(pdf)
        assert "Administration Wendy Ward" in text(pdf)
    assert infusion.kit_code == "K-M3RZ9C2D"
    assert infusion.release_reference.endswith("and at second verification")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_infusion_changed_after_signing_prints_the_administration_invalidated(
    db: Database, make_user: Callable[..., CurrentUser]
) -> None:
    p = records.people(make_user)
    site_id = records.site(db, p.tech)
    subject, harvest = records.subject(db, p.tech, site_id, 1)
    _, unit = records.manufactured_lot(db, p.tech, subject, harvest, kit_code="K-M3RZ9C2D")
    infusion_id = records.infused(
        db, p, subject, unit, dose=1.5e6, check_2_detail="released", shift=dt.timedelta(0)
    )
    with db.engine.begin() as conn:  # behind the program's back: the reaction disappears
        conn.execute(
            sa_text("UPDATE infusion SET reactions = '', reaction_grade = NULL WHERE id = :id"),
            {"id": infusion_id},
        )
    with db.session() as s:
        data = build_infusion_data(s, p.ward, infusion_id)
    assert data.administration is not None
    assert data.administration.valid is False
    printed = text(render_infusion(_issued(data, "infusion", 0)))
    assert "Reactions none recorded" in printed
    assert "INVALIDATED" in printed

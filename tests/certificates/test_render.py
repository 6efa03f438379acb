"""The documents of design §9 read back: every element is there with the right value."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import subprocess
import sys

import pytest
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from certificates.infusion import render_infusion
from certificates.label import render_label
from certificates.release import render_release
from lottrack.views.documents.data import Facility
from tests.certificates import samples
from tests.certificates.pdftext import pages, text


@pytest.fixture(scope="module")
def release_pdf() -> bytes:
    return render_release(samples.release_data())


def test_release_certificate_prints_every_element_of_section_9(release_pdf: bytes) -> None:
    data = samples.release_data()
    body = text(release_pdf)
    assert body.count("\f") == 1  # two pages
    for expected in [
        "LOT RELEASE CERTIFICATE",
        "Demo University Hospital — Cell Therapy Facility",
        "(FIN) A9999",
        "Autologous bone-marrow mesenchymal stromal cells (MSC)",
        "L-24-0007",
        "A9999 24 000123 M",  # eye-readable DIN with its check character
        "COI-7KX2M9",
        "TLS-003",
        "version 1 — MSC release specification v1",
        # harvest and passages, times in the site's zone with its abbreviation
        "collected 2024-05-01 10:40 CEST",
        "92 mL aspirated",
        "P0 2024-05-02 11:00 CEST 2024-05-12 11:00 CEST 2.50 × 10⁷ 4.00 × 10⁷ 1250 0.68 0.68 354.0",
        "P2 2024-05-17 14:00 CEST 2024-05-21 17:00 CEST 5.00 × 10⁶ 3.10 × 10⁷ 1000 2.63 6.01 37.6",
        "Days in culture",
        "Cumulative PD",
        # QC against limits with conformity; the superseded first result stays
        "Viability, fresh final product 92.5 % ≥ 80 % Yes",
        "CD73 94.1 % ≥ 95 % NO 2024-05-21 19:00 CEST Superseded (retest)",
        "CD73 97.2 % ≥ 95 % Yes 2024-05-22 11:00 CEST Retest",
        "Endotoxin 0.8 EU/mL ≤ 3.5 EU/mL Yes",
        "Karyotype 46,XY normal — report only",
        # the bags: kit code, volume, viable cells, the weights the dose window covers
        "Bags formulated from the lot",
        "Kit code Volume Viable cells Body weight dosed inside 1.00–2.00 × 10⁶ cells/kg Status",
        "K-M3RZ9C2D 50 mL 9.25 × 10⁷ cells 46.3–92.5 kg released",
        "K-Q8WN4T6H 50 mL 9.25 × 10⁷ cells 46.3–92.5 kg released",
        # disposition, changes after first entry, signatures
        "Decision released",
        "Decided at 2024-05-29 17:05 CEST",
        "value_text '0.9 EU/mL' → '0.8 EU/mL'",
        "Quinn Quality released: I release this lot for clinical use 2024-05-29 17:05 CEST valid",
        # document id and the certified content hash, in full
        "Document ID REL-5B2E9F01AC37-00",
        data.content_sha256,
    ]:
        assert expected in body, expected
    assert re.search(r"Page 1 of\s*2", body)
    assert re.search(r"Page 2 of\s*2", body)
    assert "COPY" not in body
    assert "EXCEPTIONAL" not in body
    assert "INVALIDATED" not in body


def test_exceptional_release_says_so_in_its_title_with_the_four_records() -> None:
    data = samples.release_data(exceptional=True)
    first, *_ = pages(render_release(data))
    assert first.startswith("Demo University Hospital")
    assert "LOT RELEASE CERTIFICATE — EXCEPTIONAL RELEASE" in first
    assert "Released out of specification under EU GMP Part IV §11.5" in first
    body = text(render_release(data))
    for expected in [
        "Decision released-exceptional",
        "CD73 93.0 % ≥ 95 % NO",
        "Treating physician's written request Dr. Rita Request: written request",
        "Manufacturer's risk evaluation Risk evaluation RE-2024-07",
        "Physician's recorded acceptance Dr. Rita Request accepted",
        "Sponsor notified at 2024-05-29 16:30 CEST",
    ]:
        assert expected in body, expected


def test_an_invalidated_signature_is_printed_as_invalidated() -> None:
    body = text(render_release(samples.release_data(invalidated=True)))
    assert (
        "Quentin Hold reviewed: I reviewed this record 2024-05-20 10:00 CEST "
        "INVALIDATED (record changed after signing)"
    ) in body
    assert "Quinn Quality released: I release this lot for clinical use" in body


@pytest.mark.parametrize("render", ["release", "infusion", "label"])
def test_a_reprint_says_copy_on_every_page(render: str) -> None:
    data, fn = {
        "release": (samples.release_data(), render_release),
        "infusion": (samples.infusion_data(), render_infusion),
        "label": (samples.label_data(), render_label),
    }[render]
    original = pages(fn(data))  # type: ignore[operator]
    reprint = pages(fn(data, copy=True))  # type: ignore[operator]
    assert all("COPY" not in page for page in original)
    assert len(reprint) == len(original)
    assert all("COPY" in page for page in reprint)


def test_same_data_gives_the_same_bytes_in_another_process(release_pdf: bytes) -> None:
    assert render_release(samples.release_data()) == release_pdf
    code = (
        "import hashlib, sys; from tests.certificates import samples; "
        "from certificates.release import render_release; "
        "sys.stdout.write(hashlib.sha256(render_release(samples.release_data()))"
        ".hexdigest())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == hashlib.sha256(release_pdf).hexdigest()
    changed = dataclasses.replace(samples.release_data(), lot_number="L-24-0008")
    assert render_release(changed) != release_pdf


def _fonts_used(pdf: bytes) -> set[str]:
    """Base font names of every font a page or form selects to show text."""
    used: set[str] = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        resources = page["/Resources"].get_object()
        contents = page.get_contents()
        assert isinstance(resources, DictionaryObject)
        assert contents is not None
        fonts = resources["/Font"].get_object()
        assert isinstance(fonts, DictionaryObject)
        streams = [contents.get_data()]
        forms = resources.get("/XObject")
        if forms is not None:
            streams += [form.get_object().get_data() for form in forms.get_object().values()]
        for stream in streams:
            for name in re.findall(rb"/(F[0-9+]+) [0-9.]+ Tf", stream):
                font = fonts["/" + name.decode()].get_object()
                assert isinstance(font, DictionaryObject)
                used.add(str(font["/BaseFont"]))
    return used


def test_text_is_set_only_in_the_embedded_font_and_metadata_is_fixed(release_pdf: bytes) -> None:
    used = _fonts_used(release_pdf) | _fonts_used(render_label(samples.label_data()))
    assert used == {"/AAAAAA+DejaVuSans", "/AAAAAA+DejaVuSans-Bold"}  # embedded subsets
    assert release_pdf.count(b"/FontFile2") == 2
    meta = PdfReader(io.BytesIO(release_pdf)).metadata
    assert meta is not None
    assert meta.creator == "lottrack"
    assert meta.author == samples.FACILITY.name
    assert "REL-5B2E9F01AC37-00" in (meta.title or "")
    body = text(release_pdf)
    for glyph in ("×", "≥", "≤", "⁷", "²", "—"):
        assert glyph in body, glyph


def test_infusion_certificate_prints_identity_verifications_and_bedside_check() -> None:
    data = samples.infusion_data()
    body = text(render_infusion(data))
    for expected in [
        "INFUSION CERTIFICATE",
        "Subject code TLS-003",
        "Date of birth 1961-04-12",
        "Visit Period 1 (week 0)",
        "Kit code K-M3RZ9C2D",
        "A9999 24 000124 K",
        "Volume 50 mL",
        "Expiry 2024-05-30 11:00 CEST",
        "Storage 2–8 °C, do not freeze",
        "FOR AUTOLOGOUS USE ONLY",
        data.release_reference,
        "Dose verification Pia Pharmacist I prepared this dispensing and verified the dose "
        "2024-05-30 09:10 CEST valid",
        "Second verification Paul Pharmacist",
        "2024-05-30 09:25 CEST valid",
        "Identifiers confirmed subject code, date of birth",
        "Kit code confirmed K-M3RZ9C2D",
        "Checked by Wendy Ward",
        "Checked at 2024-05-30 10:02 CEST",
        "Started at 2024-05-30 10:05 CEST",
        "Ended at 2024-05-30 10:41 CEST",
        "Administered by Wendy Ward",
        data.content_sha256,
    ]:
        assert expected in body, expected
    assert re.search(r"Page 1 of\s*1", body)


def test_label_is_one_page_of_the_label_size_with_every_statement() -> None:
    data = samples.label_data()
    pdf = render_label(data)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (100, 100)
    body = text(pdf)
    for expected in [
        "A9999 24 000124 K",
        "TLS-003",
        "K-M3RZ9C2D",
        data.product_name,
        "Volume 50 mL",
        "Date of birth (recipient) 1961-04-12",
        "2024-05-30 11:00 CEST",
        "2–8 °C, do not freeze",
        "FIN A9999",
        "FOR AUTOLOGOUS USE ONLY",
        "NOT EVALUATED FOR INFECTIOUS SUBSTANCES",
        "WARNING: This product may transmit infectious agents.",
        "For clinical trial use only",
        data.document_id,
    ]:
        assert expected in body, expected
    assert re.search(r"Page 1 of\s*1", body)


def test_the_statement_is_left_out_when_infectious_substances_were_evaluated() -> None:
    data = dataclasses.replace(samples.label_data(), not_evaluated_for_infectious_substances=False)
    assert "NOT EVALUATED" not in text(render_label(data))


def test_a_long_facility_name_is_fitted_not_run_into_the_title() -> None:
    name = "Universitätsklinikum Demostadt — Zentrum für Zell- und Gentherapie, GMP-Einheit 2"
    data = dataclasses.replace(
        samples.release_data(exceptional=True), facility=Facility(name, "Weg 1 " * 60, "A9999")
    )
    first = pages(render_release(data))[0]
    assert "LOT RELEASE CERTIFICATE — EXCEPTIONAL RELEASE" in first
    assert "Universitätsklinikum Demostadt" in first


def test_longest_texts_and_many_rows_flow_over_pages() -> None:
    base = samples.release_data(exceptional=True)
    records = base.disposition.exceptional_records
    assert records is not None
    long = "Risk evaluated in detail; " * 150  # about the 4000 characters a field may hold
    data = dataclasses.replace(
        base,
        passages=base.passages * 4,
        qc_results=base.qc_results * 4,
        changed_after_first_entry=base.changed_after_first_entry * 40,
        disposition=dataclasses.replace(
            base.disposition,
            justification=long,
            exceptional_records=dataclasses.replace(
                records, physician_request=long, risk_evaluation=long, physician_acceptance=long
            ),
        ),
    )
    found = pages(render_release(data))
    total = len(found)
    assert total >= 4
    for number, page in enumerate(found, start=1):
        assert re.search(rf"Page {number} of\s*{total}\b", page)
        assert "EXCEPTIONAL RELEASE" in page  # the header names the document on every page

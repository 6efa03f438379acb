"""Parity (design §7, issue #15 item 6): the same day recorded twice — one subject given
its MSC bag, the other a placebo bag, everything else identical — and every output a
blinded role can obtain compared, identifiers and times masked: services, command line,
export files, PDF text and metadata, audit views. Then every refusal a blinded person can
trigger, run for both arms, compared word for word. On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import io
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlmodel import select
from typer.testing import CliRunner

from lottrack.cli import app
from lottrack.demo.scenario import Scenario
from lottrack.kernel.errors import LotTrackError
from lottrack.kernel.isbt128 import check_character
from lottrack.manufacturing import formulation
from lottrack.storage.db import Database
from lottrack.storage.models import Dispensing, Lot, ProductUnit, Subject, utcnow
from lottrack.trial import allocation, export, ward
from lottrack.trial import listings as trial_listings
from lottrack.trial.listings import WardLinePage
from lottrack.views import listings
from lottrack.views.documents import signing
from lottrack.views.documents.blinded_builders import build_label_data, find_unit
from tests.certificates.pdftext import text as pdf_text
from tests.conftest import PASSWORD

DOB = dt.date(1968, 7, 14)
ARMS = ((allocation.MSC_FIRST, "TLS-501"), (allocation.PLACEBO_FIRST, "TLS-502"))
TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}| ?[A-Z]{2,5})?)?"
)
DOC_ID = re.compile(r"[A-Z]{3}-[0-9A-F]{12}-\d\d")
HASH = re.compile(r"\b[0-9a-f]{64}\b")
NUMBERED = re.compile(r"#\d+|\b(id|visit|infusion|dispensing) \d+\b")
runner = CliRunner()
SWAPPED = (
    (("TLS-511", allocation.MSC_FIRST), ("TLS-512", allocation.PLACEBO_FIRST)),
    (("TLS-521", allocation.PLACEBO_FIRST), ("TLS-522", allocation.MSC_FIRST)),
)
"""Two pairs of patients recorded alike, the second pair's arms swapped."""


@dataclasses.dataclass
class Day:
    """One subject's day: its records and the identifiers that may differ."""

    subject_id: int
    lot_id: int
    visit_id: int
    infusion_id: int
    identifiers: list[str]


def _record_day(sc: Scenario, sequence: str, code: str) -> Day:
    """Manufacture, release, enrol, dispense period 1, move the bag to the ward, infuse."""
    subject = sc.subject(code, DOB, "AB")
    lot_id, bag = sc.made_lot(subject)
    sc.release(lot_id)
    v1, _ = sc.enrol(subject, sequence, utcnow().date())
    sc.dispense(v1, msc_bag=bag if sequence == allocation.MSC_FIRST else None)
    with sc.db.reader() as s:
        unit = s.get(
            ProductUnit, s.exec(select(Dispensing.unit_id).where(Dispensing.visit_id == v1)).one()
        )
        assert unit is not None
    with sc.db.session() as s:
        formulation.record_custody(
            s,
            sc.cast.who("clinician"),
            kit_code=unit.kit_code,
            from_location="Pharmacy",
            to_location="Ward 3",
            at=utcnow(),
            temperature_text="4 °C",
        )
    infusion_id = sc.infuse(v1, reactions="mild chills", grade=1)
    with sc.db.reader() as s:
        lot = s.get(Lot, lot_id)
        subj = s.get(Subject, subject)
        units = s.exec(select(ProductUnit).where(ProductUnit.subject_id == subject)).all()
        assert lot is not None
        assert subj is not None
        ids = [code, lot.lot_number, subj.coi_id, subj.initials]
        for u in units:
            ids += [
                u.kit_code,
                u.din + check_character(u.din),
                u.din,
                u.product_code,
                f"bag {u.division}",
            ]
            eye = f"{u.din[:5]} {u.din[5:7]} {u.din[7:]}"
            ids += [f"{eye} {check_character(u.din)}", eye]
    return Day(subject, lot_id, v1, infusion_id, ids)


def _number(value: Any) -> Any:
    """A record number (or an old → new pair of them) as ``<N>``."""
    if isinstance(value, list):
        return [_number(v) for v in value]
    return None if value is None else "<N>"


def _mask(value: Any, identifiers: Iterable[str]) -> Any:
    """``value`` with identifiers, times and record numbers replaced by placeholders."""
    idents = sorted(set(identifiers), key=len, reverse=True)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, tuple) and hasattr(value, "_asdict"):  # a record as a named tuple
        value = value._asdict()
    if isinstance(value, dict):
        return {
            k: _number(v)
            if k == "id" or k.endswith(("_id", "_by", "seq"))
            else "<ID>"
            if k == "division"
            else _mask(v, idents)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_mask(v, idents) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return "<TIME>"
    if isinstance(value, str):
        for ident in idents:
            if ident:
                value = value.replace(ident, "<ID>")
        return HASH.sub("<HASH>", NUMBERED.sub("<N>", TIME.sub("<TIME>", value)))
    return value


def _blinded_outputs(sc: Scenario, day: Day, tmp: Path) -> dict[str, Any]:
    """Everything the ward, QA, the lab and the admin can read about one subject."""
    nurse, qa, tech = sc.cast.who("clinician"), sc.cast.who("qa"), sc.cast.who("technician")
    out: dict[str, Any] = {}
    with sc.db.reader() as s:
        out["ward visits"] = list(ward.ward_visits(s, nurse, subject_ids=[day.subject_id]))
        out["find a patient (ward)"] = trial_listings.ward_line_page(
            s, nurse, search=day.identifiers[0].lower()
        )
        for who, name in ((qa, "qa"), (tech, "technician")):
            out[f"bags of the lot ({name})"] = formulation.bags_of_lot(s, who, day.lot_id)
            out[f"custody ({name})"] = listings.lot_custody(s, who, day.lot_id)
            out[f"timeline ({name})"] = listings.lot_timeline(s, who, day.lot_id)
        out["lot audit trail (qa)"] = listings.lot_audit_trail(s, qa, day.lot_id)
        out["lot audit trail (admin)"] = listings.lot_audit_trail(
            s, sc.cast.who("admin"), day.lot_id
        )
    for role in ("clinician", "qa", "admin"):
        folder = tmp / f"export-{role}"
        with sc.db.session() as s:
            export.export(s, sc.cast.who(role), fmt="json", directory=folder)
        for file in sorted(folder.iterdir()):
            rows = json.loads(file.read_text())
            mine = [r for r in rows if r.get("subject_code") in day.identifiers]
            out[f"export {role} {file.name}"] = mine
    return out


def _cli(db: Database, *args: str) -> Any:
    result = runner.invoke(
        app, ["--db", db.url, *args, "--as", "clinician", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    return result


def _documents(sc: Scenario, day: Day, tmp: Path, keys: Path) -> dict[str, Any]:
    """The ward's documents through the command line: text, metadata, what it printed."""
    nurse = sc.cast.who("clinician")
    with sc.db.reader() as s:
        kit = ward.ward_visit(s, nurse, day.visit_id).kit_code
    assert kit is not None
    out: dict[str, Any] = {}
    for kind, ref in (("infusion", str(day.infusion_id)), ("label", kit)):
        path = tmp / f"{kind}-{day.subject_id}.pdf"
        printed = _cli(sc.db, "certificate", kind, ref, "-o", str(path), "--key-dir", str(keys))
        pdf = path.read_bytes()
        reader = PdfReader(io.BytesIO(pdf))
        out[f"{kind} stdout"] = re.sub(
            r"[0-9a-f]{64}|[A-Z]{3}-[0-9A-F]{12}-\d\d|/\S+", "<X>", printed.stdout
        )
        out[f"{kind} text"] = re.sub(
            r"[0-9a-f]{16,64}|#\d+", "<X>", DOC_ID.sub("<X>", pdf_text(pdf))
        )
        out[f"{kind} pages"] = len(reader.pages)
        out[f"{kind} metadata"] = {
            k: re.sub(r"chain-head:\d+:[0-9a-f]+", "chain-head:<X>", DOC_ID.sub("<X>", str(v)))
            for k, v in (reader.metadata or {}).items()
            if k not in ("/CreationDate", "/ModDate")
        }
    return out


def test_the_same_day_for_msc_and_placebo_reads_the_same_to_every_blinded_role(
    sc: Scenario, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    signing.ensure_facility_key(keys, facility_name="Demo University Hospital")
    days = [_record_day(sc, sequence, code) for sequence, code in ARMS]
    seen = []
    for day in days:
        outputs = _blinded_outputs(sc, day, tmp_path / str(day.subject_id))
        outputs |= _documents(sc, day, tmp_path, keys)
        seen.append({k: _mask(v, day.identifiers) for k, v in outputs.items()})
    msc, placebo = seen
    assert msc.keys() == placebo.keys()
    for key in msc:
        assert msc[key] == placebo[key], key
    # the comparison had something to compare
    assert msc["ward visits"][0]["reactions"] == "mild chills"
    found = msc["find a patient (ward)"]
    assert [r["state"] for r in found["rows"]] == ["infused", "waiting for the pharmacy"]
    assert (found["total"], found["patients"]) == (2, 1)
    assert msc["bags of the lot (qa)"][0]["status"] == "blinded"
    assert msc["infusion pages"] >= 1
    assert "Reactions mild chills (grade 1)" in msc["infusion text"]
    assert msc["export clinician visits.json"]
    assert all("kit_code" not in row for row in msc["export clinician visits.json"])


def _find_a_patient(
    sc: Scenario, pair: list[Day], typed: str, unsearched: WardLinePage
) -> dict[str, Any]:
    """What the ward's Find-a-patient list shows of a pair of patients whose codes hold
    ``typed`` (``unsearched``: their lines of the list without a search), each patient's
    identifiers named by their place in the pair."""
    nurse = sc.cast.who("clinician")
    first, second = pair

    def masked(page: WardLinePage) -> Any:
        text = json.dumps(dataclasses.asdict(page), default=str)
        text = text.replace(first.identifiers[0], "<first>")
        text = text.replace(second.identifiers[0], "<second>")
        return _mask(json.loads(text), first.identifiers + second.identifiers)

    def page(search: str = typed, **window: int) -> WardLinePage:
        with sc.db.reader() as s:
            return trial_listings.ward_line_page(s, nurse, search=search, **window)

    whole = page()
    out: dict[str, Any] = {"searched": masked(whole), "unsearched": masked(unsearched)}
    for n in range(whole.total):
        out[f"line {n + 1} alone"] = masked(page(offset=n, limit=1))
    # The same patients however the dash is typed: left out, or pasted as an en dash.
    for name, variant in (("without its dash", ""), ("with an en dash", "–")):
        out[f"searched {name}"] = masked(page(typed.replace("-", variant)))
    for name, bad in (
        ("control", f"{typed}\x00"),
        ("escape", f"{typed}\x1b[31m"),
        ("invisible", f"\u200b{typed}"),
        ("long", typed * 10),
    ):
        out[f"refused ({name})"] = _message(functools.partial(page, bad)).replace(typed, "<typed>")
    return out


def test_swapping_two_patients_arms_changes_nothing_find_a_patient_shows(sc: Scenario) -> None:
    """The ward's Find-a-patient list of a pair of patients (first MSC, second placebo)
    and of a pair recorded alike with the arms swapped: every page — the whole list,
    each line on a page of its own, searched by code or not — its counts and its
    refusals read the same, each patient named by their place in the pair (an order
    that followed the arm would show the second patient first)."""
    pairs = [[_record_day(sc, sequence, code) for code, sequence in pair] for pair in SWAPPED]
    with sc.db.reader() as s:
        everyone = trial_listings.ward_line_page(s, sc.cast.who("clinician"))
    assert (everyone.total, everyone.patients) == (8, 4)
    seen = [
        _find_a_patient(
            sc, pair, typed, dataclasses.replace(everyone, rows=everyone.rows[half : half + 4])
        )
        for pair, typed, half in zip(pairs, ("tls-51", "tls-52"), (0, 4), strict=True)
    ]
    msc_first, placebo_first = seen
    assert msc_first.keys() == placebo_first.keys()
    for key in msc_first:
        assert msc_first[key] == placebo_first[key], key
    # the comparison had something to compare
    rows = msc_first["searched"]["rows"]
    assert [(r["subject_code"], r["period"], r["state"]) for r in rows] == [
        ("<first>", 1, "infused"),
        ("<first>", 2, "waiting for the pharmacy"),
        ("<second>", 1, "infused"),
        ("<second>", 2, "waiting for the pharmacy"),
    ]
    assert msc_first["unsearched"]["rows"] == rows
    assert (msc_first["searched"]["total"], msc_first["searched"]["patients"]) == (4, 2)
    assert msc_first["searched without its dash"] == msc_first["searched"]
    assert msc_first["searched with an en dash"] == msc_first["searched"]
    assert msc_first["refused (control)"].startswith("ValidationError: Search: ")
    assert msc_first["refused (invisible)"].endswith("contains control or invisible characters.")


# ------------------------------------------------------------------------ refusals


def _message(fn: Callable[[], object]) -> str:
    with pytest.raises(LotTrackError) as info:
        fn()
    return f"{type(info.value).__name__}: {info.value.message}"


def _refusals(sc: Scenario, sequence: str, code: str) -> dict[str, str]:
    """Every refusal the ward can meet on one subject's period 1, in order."""
    nurse = sc.cast.who("clinician")
    subject = sc.subject(code, DOB, "AB")
    lot_id, bag = sc.made_lot(subject)
    sc.release(lot_id)
    v1, _ = sc.enrol(subject, sequence, utcnow().date())
    out: dict[str, str] = {}

    def bedside(*, subject_code: str = code, dob: dt.date = DOB, kit: str = "") -> None:
        with sc.db.session() as s:
            ward.bedside_check(
                s, nurse, visit_id=v1, subject_code=subject_code, date_of_birth=dob, kit_code=kit
            )

    out["bedside before dispensing"] = _message(lambda: bedside(kit="K-AAAAAAAA"))

    def label(reference: str) -> None:
        with sc.db.session() as s:
            build_label_data(s, nurse, find_unit(s, nurse, reference))

    out["label of the lot's bag"] = _message(lambda: label(str(bag)))

    def custody(at: dt.datetime, **bag: Any) -> None:
        with sc.db.session() as s:
            formulation.record_custody(
                s, nurse, from_location="Pharmacy", to_location="Ward 3", at=at, **bag
            )

    out["custody of the lot's bag"] = _message(lambda: custody(utcnow(), unit_id=bag))
    sc.dispense(v1, msc_bag=bag if sequence == allocation.MSC_FIRST else None)
    with sc.db.reader() as s:
        d = s.exec(select(Dispensing).where(Dispensing.visit_id == v1)).one()
        unit = s.get(ProductUnit, d.unit_id)
        assert unit is not None
    kit = unit.kit_code
    out["custody before dispensing"] = _message(
        lambda: custody(d.prepared_at - dt.timedelta(minutes=5), kit_code=kit)
    )
    out["custody of the dispensed bag by id"] = _message(
        lambda: custody(utcnow(), unit_id=d.unit_id)
    )
    out["bedside wrong subject"] = _message(lambda: bedside(subject_code="TLS-999", kit=kit))
    out["bedside wrong birth date"] = _message(lambda: bedside(dob=dt.date(1970, 1, 1), kit=kit))
    out["bedside wrong kit"] = _message(lambda: bedside(kit="K-AAAAAAAA"))
    with sc.db.session() as s:
        infusion_id = ward.bedside_check(
            s, nurse, visit_id=v1, subject_code=code, date_of_birth=DOB, kit_code=kit
        )
    out["bedside twice"] = _message(lambda: bedside(kit=kit))

    def end(at: dt.datetime) -> None:
        with sc.db.session() as s:
            ward.end_infusion(s, nurse, sc.cast.creds("clinician"), infusion_id, ended_at=at)

    out["end before start"] = _message(lambda: end(utcnow()))

    def start(at: dt.datetime) -> None:
        with sc.db.session() as s:
            ward.start_infusion(s, nurse, infusion_id, at)

    out["start in the future"] = _message(lambda: start(utcnow() + dt.timedelta(hours=1)))
    out["start before the bedside check"] = _message(
        lambda: start(utcnow() - dt.timedelta(hours=1))
    )
    out["label by bag id"] = _message(lambda: label(str(d.unit_id)))
    ids = rf"\b({bag}|{d.unit_id})\b"
    return {
        k: re.sub(ids, "<N>", TIME.sub("<TIME>", v.replace(kit, "<KIT>"))) for k, v in out.items()
    }


def test_every_refusal_the_ward_can_meet_reads_the_same_for_both_arms(sc: Scenario) -> None:
    msc, placebo = (_refusals(sc, sequence, code) for sequence, code in ARMS)
    assert msc.keys() == placebo.keys()
    for key in msc:
        assert msc[key].replace("TLS-501", "<S>") == placebo[key].replace("TLS-502", "<S>"), key
    assert msc["label of the lot's bag"].startswith("NotFound: No dispensed bag")
    assert msc["custody of the lot's bag"].startswith("NotFound: No bag with id")
    assert "the bag was dispensed" in msc["custody before dispensing"]

"""The bag label in ZPL II for thermal printers (design §4, §7, §9): every field the PDF
label prints, read back from the ZPL; MSC and placebo labels differ only in identifiers
and times; ``lottrack certificate label --format zpl`` writes it and ``--printer`` sends
it over raw TCP (to a socket server on 127.0.0.1 here)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from certificates.text import local_time
from certificates.zpl_label import expiry_data, render_label_zpl
from lottrack.cli import app
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.storage.models import AuditEvent, Certificate
from lottrack.views.documents.blinded_builders import build_label_data
from lottrack.views.documents.data import BagLabelData
from lottrack.views.documents.issue import document_id_for
from tests.certificates import records, samples
from tests.certificates.zpl import RawPrinter, barcodes, fields, texts
from tests.conftest import PASSWORD

runner = CliRunner()


def test_every_field_of_the_label_is_in_the_zpl() -> None:
    data = samples.label_data()
    zpl = render_label_zpl(data)
    assert zpl.decode().splitlines()[:4] == ["^XA", "^CI28", "^PW812", "^LL812"]  # 4×4 in
    # Code 128 symbols with their ISBT 128 data identifiers
    assert barcodes(zpl) == ["=A99992400012400", "=<S99991F0", "&>0241511100"]
    assert data.din.barcode_data == "=A99992400012400"
    written = texts(zpl)
    for expected in (
        "A9999 24 000124",
        "00",
        "K",
        "S99991F0",
        "TLS-003",
        "1961-04-12",
        "K-M3RZ9C2D",
        "50 mL",
        "2024-05-30 11:00 CEST",
        "FOR AUTOLOGOUS USE ONLY",
        "NOT EVALUATED FOR INFECTIOUS SUBSTANCES",
        "WARNING: This product may transmit infectious agents.",
        "For clinical trial use only",
        "2–8 °C, do not freeze",
        "MESEMS investigational product (MSC or placebo), suspension for IV infusion",
        "Document LBL-1D2C3B4A5F6E-00",
    ):
        assert expected in written, expected
    assert data.din.check == "K"
    parsed = fields(zpl)
    # the flags are printed turned, and the check character stands inside a box
    assert [f.data for f in parsed if f.kind == "text-rotated"] == ["00"]
    check = next(f for f in parsed if f.kind == "text" and f.data == "K")
    box = next(
        f
        for f in parsed
        if f.kind == "box" and f.x <= check.x and f.y <= check.y and f.x + 48 >= check.x
    )
    assert box.data == "48x52"
    qr = next(f for f in parsed if f.kind == "qr")
    assert qr.data == f"LOTTRACK:LBL-1D2C3B4A5F6E-00:SHA256:{data.content_sha256.upper()}"
    assert "COPY" not in written
    assert "COPY" in texts(render_label_zpl(data, copy=True))


def _code128_modules(data: str) -> int:
    """Modules of a Code 128 symbol as ZPL's automatic mode draws ``data``: subset B,
    switching to subset C for a trailing run of an even number (≥ 4) of digits."""
    digits = len(data) - len(data.rstrip("0123456789"))
    digits -= digits % 2
    pairs = digits // 2 if digits >= 4 else 0
    plain = len(data) - 2 * pairs
    return (1 + plain + (1 if pairs else 0) + pairs + 1) * 11 + 13


def test_every_field_starts_on_the_label_and_symbols_do_not_run_into_text() -> None:
    data = samples.label_data()
    parsed = fields(render_label_zpl(data, copy=True))
    assert all(0 <= f.x < 812 and 0 <= f.y < 812 for f in parsed)
    for box in (f for f in parsed if f.kind == "box"):
        width, height = (int(v) for v in box.data.split("x"))
        assert box.x + width <= 812
        assert box.y + height <= 812
    for symbol in (f for f in parsed if f.kind == "code128"):
        right = symbol.x + 2 * _code128_modules(symbol.data)  # ^BY2: 2 dots a module
        beside = [
            f
            for f in parsed
            if f.kind.startswith("text") and f.x > symbol.x and symbol.y <= f.y < symbol.y + 70
        ]
        assert all(f.x >= right for f in beside), (symbol.data, right, beside)


def test_the_expiry_is_the_isbt_date_and_time_in_the_sites_zone() -> None:
    data = samples.label_data()
    moment = dt.datetime(2026, 12, 31, 22, 59, tzinfo=dt.UTC)  # 23:59 in Europe (CET)
    assert expiry_data(moment, data) == "0263652359"


def test_text_that_zpl_would_read_as_commands_is_escaped() -> None:
    data = dataclasses.replace(samples.label_data(), storage_temperature="^XZ~JA 4_C")
    zpl = render_label_zpl(data)
    assert "^XZ~JA" not in zpl.decode().split("^FO", 1)[1].rsplit("^XZ", 1)[0]
    assert "^XZ~JA 4_C" in texts(zpl)


def masked(zpl: bytes, data: BagLabelData) -> list[tuple[int, int, str, str]]:
    """The label's fields with identifiers and times replaced by placeholders."""
    din = data.din
    swaps = [
        (din.barcode_data, "<DIN-BARCODE>"),
        (din.eye_readable, "<DIN>"),
        (data.product_code, "<PRODUCT-CODE>"),
        (data.kit_code, "<KIT>"),
        (data.subject_code, "<SUBJECT>"),
        (data.date_of_birth.isoformat(), "<DOB>"),
        (data.document_id, "<DOC>"),
        (data.content_sha256.upper(), "<SHA>"),
        (expiry_data(data.expires_at, data), "<EXPIRY>"),
        (local_time(data.expires_at, data), "<TIME>"),
    ]
    out = []
    for f in fields(zpl):
        value = f.data
        for old, new in swaps:
            value = value.replace(old, new)
        if f.kind == "text" and value == din.check:
            value = "<CHECK>"
        out.append((f.x, f.y, f.kind, value))
    return out


@pytest.mark.parametrize("copy", [False, True])
def test_msc_and_placebo_labels_differ_only_in_identifiers(copy: bool) -> None:
    msc, placebo = samples.label_data(), samples.label_data(placebo=True)
    left, right = (masked(render_label_zpl(d, copy=copy), d) for d in (msc, placebo))
    assert left == right
    assert any("<DIN>" in f[3] for f in left)
    assert any(f[3] == "<CHECK>" for f in left)
    changed = dataclasses.replace(placebo, volume_ml=60.0)  # not an identifier: caught
    assert masked(render_label_zpl(changed, copy=copy), changed) != left


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_labels_built_for_an_msc_and_a_placebo_bag_differ_only_in_identifiers(
    db: Database, make_user: Callable[..., CurrentUser]
) -> None:
    p = records.people(make_user)
    site_id = records.site(db, p.tech)
    msc_subject, msc_harvest = records.subject(db, p.tech, site_id, 1)
    _, msc_unit = records.manufactured_lot(
        db, p.tech, msc_subject, msc_harvest, kit_code="K-M3RZ9C2D"
    )
    placebo_subject, placebo_harvest = records.subject(db, p.tech, site_id, 2)
    placebo_unit = records.placebo_bag(db, p, placebo_subject, placebo_harvest, "K-7QH4WXTB")
    for subject, unit, shift in (
        (msc_subject, msc_unit, dt.timedelta(0)),
        (placebo_subject, placebo_unit, dt.timedelta(minutes=7)),
    ):
        records.infused(db, p, subject, unit, dose=None, check_2_detail="released", shift=shift)
    with db.session() as s:
        labels = [
            dataclasses.replace(
                build_label_data(s, p.ward, u),
                document_id=document_id_for("label", "unit", n, 0, salt=b"test"),
            )
            for n, u in enumerate((msc_unit, placebo_unit))
        ]
    zpls = [render_label_zpl(d) for d in labels]
    assert masked(zpls[0], labels[0]) == masked(zpls[1], labels[1])
    for leak in ("L-24-0001", "SM-0042", "Suspension media", "msc", "placebo bag"):
        assert leak not in (zpls[0] + zpls[1]).decode(), leak


@pytest.fixture
def printer() -> Iterator[RawPrinter]:
    server = RawPrinter()
    yield server
    server.close()


def _dispensed_bag(db: Database, make_user: Callable[..., CurrentUser]) -> tuple[str, str]:
    """A dispensed (and infused) MSC bag; its kit code and the ward user's name."""
    p = records.people(make_user)
    site_id = records.site(db, p.tech)
    subject, harvest = records.subject(db, p.tech, site_id, 1)
    _, unit = records.manufactured_lot(db, p.tech, subject, harvest, kit_code="K-M3RZ9C2D")
    records.infused(
        db, p, subject, unit, dose=1.5e6, check_2_detail="released", shift=dt.timedelta(0)
    )
    return "K-M3RZ9C2D", p.ward.username


def test_cli_writes_the_zpl_and_sends_it_to_the_printer(
    db: Database, make_user: Callable[..., CurrentUser], tmp_path: Path, printer: RawPrinter
) -> None:
    kit, ward = _dispensed_bag(db, make_user)
    out = tmp_path / "label.zpl"
    result = runner.invoke(
        app,
        [
            "--db",
            db.url,
            "certificate",
            "label",
            kit,
            "--format",
            "zpl",
            "-o",
            str(out),
            "--printer",
            f"127.0.0.1:{printer.port}",
            "--as",
            ward,
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert f"to {out} and printer 127.0.0.1:{printer.port}" in result.stdout
    sent = printer.close()
    assert sent == out.read_bytes()
    assert "K-M3RZ9C2D" in texts(sent)
    with db.reader() as s:
        certificate = s.exec(select(Certificate)).one()
        event = s.exec(
            select(AuditEvent).where(
                AuditEvent.entity == "certificate", AuditEvent.action == "issue"
            )
        ).one()
    assert (certificate.kind, certificate.copy_number) == ("label", 0)
    assert f"Document {certificate.document_id}" in texts(sent)
    assert json.loads(event.changes)["format"] == "zpl"


def test_an_unreachable_printer_prints_nothing_and_records_nothing(
    db: Database, make_user: Callable[..., CurrentUser]
) -> None:
    kit, ward = _dispensed_bag(db, make_user)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    result = runner.invoke(
        app,
        [
            "--db",
            db.url,
            "certificate",
            "label",
            kit,
            "--format",
            "zpl",
            "--printer",
            f"127.0.0.1:{port}",
            "--as",
            ward,
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 1
    assert f"Printer 127.0.0.1:{port} could not be reached" in result.stderr
    assert "the label was not printed" in result.stderr
    with db.reader() as s:
        assert s.exec(select(Certificate)).all() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--printer", "127.0.0.1:9100"], "--printer sends ZPL: add --format zpl."),
        (["--format", "zpl"], "say where the label goes: -o FILE or --printer HOST:PORT."),
        (["--format", "zpl", "--printer", "host:port"], 'Printer: "host:port" is not HOST:PORT'),
    ],
)
def test_bad_label_options_are_refused(db: Database, args: list[str], message: str) -> None:
    result = runner.invoke(
        app,
        [
            "--db",
            db.url,
            "certificate",
            "label",
            "K-XXXXXXXX",
            *args,
            "--as",
            "nobody",
            "--password-stdin",
        ],
        input="x\n",
    )
    assert result.exit_code == 2
    assert message in result.stderr

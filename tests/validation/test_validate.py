"""``lottrack validate`` (GAMP 5, Annex 11 §4): the requirements and checks trace both
ways, a broken rule fails its requirement, and one full run on a fresh installation exits
0 with a report that ``certificate verify`` accepts and raw results beside it."""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lottrack.cli import app
from lottrack.kernel import calc
from lottrack.kernel.errors import ValidationError
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.validation.catalogue import CHECKS, Requirement, load_requirements, traceability
from lottrack.validation.run import ordered_checks, run_validation
from lottrack.views.documents import signing

runner = CliRunner()


def test_every_requirement_has_a_check_and_every_check_a_requirement() -> None:
    requirements = load_requirements()
    found = traceability(requirements, ordered_checks())
    assert (found.untested, found.unbound) == ((), ())
    assert {r.section for r in requirements} >= {"§5", "§6.1", "§6.2", "§6.4", "§7", "§8"}
    assert [c.kind for c in ordered_checks()][:5] == ["IQ"] * 5


def test_a_requirement_without_a_check_and_a_check_without_one_are_faults() -> None:
    requirements = load_requirements()
    extra = Requirement(id="URS-NEW-01", text="A requirement nobody tests yet.", section="§9")
    found = traceability((*requirements[1:], extra), list(CHECKS.values()))
    assert found.untested == ("URS-NEW-01",)
    assert found.unbound == ("IQ-PY-01 → URS-IQ-01", "IQ-PKG-01 → URS-IQ-01")
    assert not found.ok


def test_a_requirements_file_with_an_unknown_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="requirements.yaml"):
        load_requirements(
            "requirements:\n  - id: URS-A-01\n    text: Something long.\n"
            "    section: §5\n    owner: nobody\n"
        )


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    signing.ensure_facility_key(tmp_path / "keys", facility_name="Validation test facility")
    return tmp_path / "keys"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_broken_rule_fails_its_check_and_its_requirements(
    db: Database, keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dose rule changed to accept 0.99 × 10⁶/kg: OQ-DOSE-02 fails, so do URS-DOSE-01
    and URS-DISP-01, and the run is not validated."""
    broken = functools.partial(calc.check_dose, window=calc.DoseWindow(0.99e6, 2.0e6))
    monkeypatch.setattr(calc, "check_dose", broken)
    data = run_validation(db, keys, run_by="test", only=("OQ-DOSE-02", "IQ-PY-01"))
    results = {c.id: c.passed for c in data.checks}
    assert results == {"IQ-PY-01": True, "OQ-DOSE-02": False}
    failing = next(c for c in data.checks if c.id == "OQ-DOSE-02")
    assert [s.passed for s in failing.steps] == [True, True, False, True]
    assert failing.steps[2].observed.startswith("inside")
    assert {r.id: r.passed for r in data.requirements} == {
        "URS-IQ-01": True,
        "URS-DOSE-01": False,
        "URS-DISP-01": False,
    }
    assert not data.passed


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_full_run_on_a_fresh_installation_passes_and_its_report_verifies(
    db: Database, admin: CurrentUser, keys: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch_parent = tmp_path / "tmp"
    scratch_parent.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch_parent))
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "--db",
            db.url,
            "validate",
            "-o",
            str(out),
            "--as",
            "root",
            "--password-stdin",
            "--key-dir",
            str(keys),
        ],
        input="root-password-1\n",
    )
    assert result.exit_code == 0, result.output
    assert (
        f"Validated: {len(CHECKS)} checks passed, {len(load_requirements())} requirements "
        "proved." in result.stdout
    )
    assert list(scratch_parent.iterdir()) == []  # the scratch database is removed
    raw = json.loads((out / "validation-results.json").read_text())
    assert raw["passed"] is True
    assert [c["id"] for c in raw["checks"]] == [c.id for c in ordered_checks()]
    assert all(s["passed"] for c in raw["checks"] for s in c["steps"])
    assert raw["run_by"] == "Root Admin (root)"
    verified = runner.invoke(
        app, ["--db", db.url, "certificate", "verify", str(out / "validation-report.pdf")]
    )
    assert verified.exit_code == 0, verified.output
    assert f"validation document {raw['document_id']} (the original)" in verified.stdout

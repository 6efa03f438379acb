"""Running the validation: IQ, then OQ on a scratch database created and removed here,
then the traceability both ways; the result is the report's data and its raw JSON."""

from __future__ import annotations

import dataclasses
import json
import platform
import shutil
import socket
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlmodel import col, select

from lottrack.storage.db import Database
from lottrack.storage.models import Site, utcnow
from lottrack.validation import iq, oq_records, oq_rules
from lottrack.validation.catalogue import CHECKS, Check, Requirement, load_requirements
from lottrack.validation.catalogue import traceability as trace
from lottrack.validation.scratch import Scratch, build
from lottrack.views.documents.data import Facility
from lottrack.views.documents.validation_data import (
    CheckLine,
    RequirementLine,
    ValidationReportData,
)

MODULES = (iq, oq_rules, oq_records)
"""The modules of the checks, in the order their checks run (the OQ's record checks build
on the scratch trial that the rule checks must find untouched)."""


def ordered_checks() -> list[Check]:
    """Every registered check in run order: by module as in :data:`MODULES`, then as
    defined."""
    rank = {m.__name__: n for n, m in enumerate(MODULES)}
    return sorted(CHECKS.values(), key=lambda c: rank.get(c.run.__module__, len(rank)))


VERSION_PACKAGES = (
    "lottrack",
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "pint",
    "typer",
    "textual",
    "reportlab",
    "pyhanko",
    "cryptography",
    "argon2-cffi",
    "psycopg",
    "pyyaml",
    "pydantic",
)


def _run_one(check: Check, context: object) -> CheckLine:
    start = time.perf_counter()
    error = ""
    try:
        steps = tuple(check.run(context))
    except Exception as exc:  # noqa: BLE001 - a check that crashes is a failed check, shown
        steps, error = (), f"{type(exc).__name__}: {exc}"
    passed = bool(steps) and not error and all(s.passed for s in steps)
    return CheckLine(
        check.id,
        check.kind,
        check.title,
        check.requirements,
        steps,
        passed,
        round(time.perf_counter() - start, 3),
        error,
    )


def _facility(target: Database) -> tuple[Facility, str]:
    with target.reader() as s:
        site = s.exec(select(Site).order_by(col(Site.id))).first()
    if site is None:
        return Facility("lottrack installation (no site registered yet)", "", "—"), "UTC"
    return Facility(site.name, site.address, site.fin), site.timezone


def _machine(target: Database) -> tuple[tuple[str, str], ...]:
    url = make_url(target.url).render_as_string(hide_password=True)
    return (
        ("host", socket.gethostname()),
        ("system", platform.platform()),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("database in use", url),
    )


def _versions() -> tuple[tuple[str, str], ...]:
    installed = iq.installed_versions()
    lock = iq.lock_file()
    return tuple((name, installed.get(name, "not installed")) for name in VERSION_PACKAGES) + (
        ("lock file", lock.name if lock else "none"),
    )


def run_validation(
    target: Database,
    key_dir: Path,
    *,
    run_by: str,
    source: str = "the caller",
    only: Sequence[str] | None = None,
    requirements: tuple[Requirement, ...] | None = None,
) -> ValidationReportData:
    """Run every check (or those in ``only``, for the test suite) and return the report
    data. The scratch database lives in a temporary folder removed before returning;
    ``source`` says where the database URL came from (for doctor's findings)."""
    started = utcnow()
    requirements = requirements if requirements is not None else load_requirements()
    checks = [c for c in ordered_checks() if only is None or c.id in only]
    lines: list[CheckLine] = []
    with tempfile.TemporaryDirectory(prefix="lottrack-validation-") as folder:
        scratch: Scratch | None = None
        try:
            for check in checks:
                context: object = None
                if check.scratch:
                    try:
                        scratch = scratch or build(Path(folder))
                    except Exception as exc:  # the check cannot run: it fails, with why
                        lines.append(
                            CheckLine(
                                check.id,
                                check.kind,
                                check.title,
                                check.requirements,
                                (),
                                False,
                                0.0,
                                f"scratch database: {type(exc).__name__}: {exc}",
                            )
                        )
                        continue
                    context = (
                        iq.Installation(
                            target, key_dir, iq.where_of(target, key_dir, source), scratch
                        )
                        if check.kind == "IQ"
                        else scratch
                    )
                lines.append(_run_one(check, context))
        finally:
            if scratch is not None:
                scratch.db.engine.dispose()
            shutil.rmtree(folder, ignore_errors=True)
    found = trace(requirements, list(CHECKS.values()))
    problems = tuple(
        [f"requirement {r} has no check" for r in found.untested]
        + [f"check {c} is bound to no listed requirement" for c in found.unbound]
    )
    if only is not None:  # a partial run reports the requirements its checks prove
        requirements = tuple(r for r in requirements if any(r.id in c.requirements for c in lines))
    by_requirement = {r.id: [c for c in lines if r.id in c.requirements] for r in requirements}
    facility, zone = _facility(target)
    return ValidationReportData(
        facility=facility,
        timezone=zone,
        program_version=iq.installed_versions().get("lottrack", "unknown"),
        started_at=started,
        finished_at=utcnow(),
        machine=_machine(target),
        versions=_versions(),
        requirements=tuple(
            RequirementLine(
                r.id,
                r.text,
                r.section,
                tuple(c.id for c in by_requirement[r.id]),
                bool(by_requirement[r.id]) and all(c.passed for c in by_requirement[r.id]),
            )
            for r in requirements
        ),
        checks=tuple(lines),
        problems=problems,
        run_by=run_by,
    )


def results_json(data: ValidationReportData) -> str:
    """The raw results: every field of the report data, times in UTC ISO 8601."""
    body: dict[str, Any] = dataclasses.asdict(data)
    body["passed"] = data.passed
    body["content_sha256"] = data.content_sha256
    body["manifest_sha256"] = iq.package_manifest()
    return json.dumps(body, indent=2, ensure_ascii=False, default=_plain) + "\n"


def _plain(value: object) -> str:
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[no-any-return]
    raise TypeError(type(value).__name__)

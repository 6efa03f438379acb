"""What the validation report prints (``lottrack validate``): a frozen data object the
validation run fills and :mod:`certificates.validation_report` draws."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lottrack.views.documents.data import DocumentData


@dataclass(frozen=True)
class StepLine:
    """One expectation of a check: expected, observed, passed."""

    expected: str
    observed: str
    passed: bool


@dataclass(frozen=True)
class CheckLine:
    """One executed check."""

    id: str
    kind: str
    """``IQ`` or ``OQ``."""
    title: str
    requirements: tuple[str, ...]
    steps: tuple[StepLine, ...]
    passed: bool
    seconds: float
    error: str = ""
    """The error that stopped the check, if one did."""


@dataclass(frozen=True)
class RequirementLine:
    """A requirement, its checks and whether all of them passed."""

    id: str
    text: str
    section: str
    checks: tuple[str, ...]
    passed: bool


@dataclass(frozen=True, kw_only=True)
class ValidationReportData(DocumentData):
    """An IQ/OQ validation run."""

    program_version: str
    started_at: dt.datetime
    finished_at: dt.datetime
    machine: tuple[tuple[str, str], ...]
    """(what, value): host, operating system, Python, database."""
    versions: tuple[tuple[str, str], ...]
    """(package, version) of the program and what it runs on."""
    requirements: tuple[RequirementLine, ...]
    checks: tuple[CheckLine, ...]
    problems: tuple[str, ...]
    """Traceability faults: a requirement without a check, a check bound to nothing."""
    run_by: str

    @property
    def passed(self) -> bool:
        """True when every check passed and the traceability is complete."""
        return (
            not self.problems
            and all(c.passed for c in self.checks)
            and all(r.passed for r in self.requirements)
        )

"""The requirements file and the checks bound to them.

A check is a function registered with :func:`check`, naming the requirements it proves;
it returns its steps (expected, observed, passed). :func:`traceability` says which
requirement has no check and which check is bound to no listed requirement: either fails
the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lottrack.kernel.errors import ValidationError as BadInput
from lottrack.views.documents.validation_data import StepLine

REQUIREMENTS_FILE = "requirements.yaml"


class Requirement(BaseModel):
    """One user requirement."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^URS-[A-Z]+-[0-9]{2}$")
    text: str = Field(min_length=10)
    section: str = Field(pattern=r"^§[0-9]+(\.[0-9]+)?$")


class RequirementsFile(BaseModel):
    """``requirements.yaml``: the list, ids unique."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requirements: tuple[Requirement, ...] = Field(min_length=1)


def load_requirements(text: str | None = None) -> tuple[Requirement, ...]:
    """The requirements shipped with the program (or those in ``text``)."""
    import yaml

    if text is None:
        text = (resources.files("lottrack.validation") / REQUIREMENTS_FILE).read_text("utf-8")
    try:
        parsed = RequirementsFile.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError) as exc:
        raise BadInput(
            f"{REQUIREMENTS_FILE}: {exc}".splitlines()[0], field=REQUIREMENTS_FILE
        ) from None
    ids = [r.id for r in parsed.requirements]
    doubled = sorted({i for i in ids if ids.count(i) > 1})
    if doubled:
        raise BadInput(
            f"{REQUIREMENTS_FILE}: requirement ids listed twice: {', '.join(doubled)}.",
            field=REQUIREMENTS_FILE,
        )
    return parsed.requirements


Step = StepLine
"""One expectation of a check and what was observed (as the report prints it)."""


CheckFunction = Callable[[Any], list[Step]]


@dataclass(frozen=True)
class Check:
    """An executable check: IQ or OQ, the requirements it proves, the function."""

    id: str
    kind: str
    title: str
    requirements: tuple[str, ...]
    run: CheckFunction
    scratch: bool = True
    """Whether it runs on the scratch database (else it is given None)."""


CHECKS: dict[str, Check] = {}
"""Every registered check, in the order it runs (IQ first, then OQ in module order)."""


def check(
    check_id: str, title: str, *requirements: str, kind: str = "OQ", scratch: bool = True
) -> Callable[[CheckFunction], CheckFunction]:
    """Register the decorated function as check ``check_id`` proving ``requirements``;
    ``scratch=False`` for a check that needs no scratch database."""

    def register(fn: CheckFunction) -> CheckFunction:
        if check_id in CHECKS:
            raise ValueError(f"check {check_id} registered twice")
        CHECKS[check_id] = Check(check_id, kind, title, tuple(requirements), fn, scratch)
        return fn

    return register


def step(expected: str, observed: object, passed: bool) -> Step:
    """A step; ``observed`` printed as text."""
    return Step(expected, str(observed), bool(passed))


@dataclass(frozen=True)
class Traceability:
    """Requirements without a check and checks bound to no listed requirement."""

    untested: tuple[str, ...]
    unbound: tuple[str, ...]
    """``CHECK-ID → URS-…`` for each binding to a requirement not in the file, and the
    ids of checks bound to none."""

    @property
    def ok(self) -> bool:
        """True when every requirement has a check and every check a requirement."""
        return not self.untested and not self.unbound


def traceability(requirements: tuple[Requirement, ...], checks: list[Check]) -> Traceability:
    """Check the binding both ways."""
    listed = {r.id for r in requirements}
    proved = {req for c in checks for req in c.requirements}
    unbound = [c.id for c in checks if not c.requirements]
    unbound += [f"{c.id} → {req}" for c in checks for req in c.requirements if req not in listed]
    return Traceability(tuple(r.id for r in requirements if r.id not in proved), tuple(unbound))

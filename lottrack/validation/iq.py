"""Installation qualification: the interpreter and packages against the lock (or the
declared requirements), the installed files against the distribution's checksums, the
database schema version, and who may read the database and the facility key."""

from __future__ import annotations

import base64
import hashlib
import re
import stat
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from lottrack.install import doctor
from lottrack.kernel.logs import log_dir
from lottrack.storage import schema
from lottrack.storage.db import Database, shown_url
from lottrack.validation.catalogue import Step, check, step
from lottrack.validation.scratch import Scratch

DISTRIBUTION = "lottrack"
MIN_PYTHON = (3, 11)
LOCK_GLOBS = (
    "requirements/run.lock",
    "requirements/*.lock",
    "requirements/*.txt",
    "requirements*.lock",
    "*.lock",
)
"""Where the lock is looked for: the runtime lock first (the test lock adds the tools)."""
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#\\]+)")


@dataclass(frozen=True)
class Installation:
    """What the IQ looks at: the database in use, the facility key, what doctor examines,
    the scratch copy."""

    target: Database
    key_dir: Path
    where: doctor.Where
    scratch: Scratch


def source_root() -> Path:
    """The folder above the ``lottrack`` package (the checkout for an editable install)."""
    return Path(__file__).resolve().parents[2]


def lock_file() -> Path | None:
    """The lock file shipped beside the package, if any."""
    for pattern in LOCK_GLOBS:
        for found in sorted(source_root().glob(pattern)):
            if found.is_file():
                return found
    return None


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_versions() -> dict[str, str]:
    """Every installed distribution's version, by canonical name."""
    return {
        _canonical(d.metadata["Name"]): d.version
        for d in metadata.distributions()
        if d.metadata["Name"]
    }


@check("IQ-PY-01", "Python version", "URS-IQ-01", kind="IQ", scratch=False)
def python_version(_inst: None) -> list[Step]:
    """The interpreter is a supported Python."""
    version = ".".join(map(str, sys.version_info[:3]))
    return [
        step(
            f"Python ≥ {'.'.join(map(str, MIN_PYTHON))}",
            f"{version} ({sys.executable})",
            sys.version_info[:2] >= MIN_PYTHON,
        )
    ]


@check("IQ-PKG-01", "package versions against the lock", "URS-IQ-01", kind="IQ", scratch=False)
def packages(_inst: None) -> list[Step]:
    """Each pinned package at its pinned version; without a lock file, each requirement
    the distribution declares is installed at a version it allows."""
    installed = installed_versions()
    lock = lock_file()
    steps = []
    if lock is not None:
        for line in lock.read_text("utf-8").splitlines():
            pin = _PIN.match(line.strip())
            if pin:
                name, version = _canonical(pin.group(1)), pin.group(2)
                have = installed.get(name)
                steps.append(
                    step(
                        f"{name} {version} ({lock.name})", have or "not installed", have == version
                    )
                )
        if not steps:
            steps.append(step(f"pins in {lock.name}", "none found", False))
        return steps
    from packaging.requirements import Requirement

    for text in metadata.requires(DISTRIBUTION) or []:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        have = installed.get(_canonical(req.name))
        steps.append(
            step(
                f"{req.name}{req.specifier} (declared; no lock file)",
                have or "not installed",
                have is not None and req.specifier.contains(have, prereleases=True),
            )
        )
    return steps


@check(
    "IQ-FILES-01",
    "installed files against the distribution's checksums",
    "URS-IQ-02",
    kind="IQ",
    scratch=False,
)
def files(_inst: None) -> list[Step]:
    """Every file the distribution's RECORD lists with a SHA-256 has that checksum."""
    # the installed distribution (its RECORD holds the checksums), not an egg-info that a
    # build left in the source folder on the path
    dist = next(
        (d for d in metadata.distributions(name=DISTRIBUTION) if d.read_text("RECORD") is not None),
        metadata.distribution(DISTRIBUTION),
    )
    checked, bad = 0, []
    for entry in dist.files or []:
        if entry.hash is None or entry.hash.mode != "sha256":
            continue
        path = Path(str(entry.locate()))
        try:
            digest = base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest())
        except OSError:
            bad.append(f"{entry} missing")
            continue
        checked += 1
        if digest.decode().rstrip("=") != entry.hash.value:
            bad.append(str(entry))
    return [
        step(
            f"every checksummed file of {DISTRIBUTION} {dist.version} unchanged",
            f"{checked} file(s) checked; changed: {', '.join(bad) or 'none'}",
            checked > 0 and not bad,
        )
    ]


def package_manifest() -> dict[str, str]:
    """SHA-256 of every file of the program's packages as installed (for the record)."""
    root = Path(__file__).resolve().parents[2]
    out = {}
    for package in ("lottrack", "tui", "certificates"):
        for path in sorted((root / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@check("IQ-DB-01", "database schema version", "URS-IQ-03", kind="IQ")
def schema_version(inst: Installation) -> list[Step]:
    """The database in use and the scratch database are at the program's head revision."""
    head = schema.head_revision()
    steps = []
    for name, db in (
        ("the database in use", inst.target),
        ("the scratch database", inst.scratch.db),
    ):
        current = schema.current_revision(db.engine)
        steps.append(step(f"{name} at revision {head}", current or "empty", current == head))
    return steps


def _private(path: Path, mode: int) -> tuple[str, bool]:
    actual = stat.S_IMODE(path.stat().st_mode)
    return f"{path} {actual:04o}", actual & 0o077 == 0 and actual & mode == mode


@check(
    "IQ-MODES-01",
    "file modes and database rights, as lottrack doctor sees them",
    "URS-IQ-04",
    kind="IQ",
)
def modes(inst: Installation) -> list[Step]:
    """Every finding of ``lottrack doctor`` (the database URL's source, the SQLite files
    and folder or the PostgreSQL role's rights over the audit trail, the key, checkpoint
    and log folders) fails the check; the scratch database is owner-only too."""
    findings = doctor.examine(inst.where)
    steps = [step(f"no finding: {f.problem}", f"finding; fix: {f.fix}", False) for f in findings]
    if not findings:
        steps.append(
            step(
                "lottrack doctor finds nothing to fix (database "
                f"{shown_url(inst.where.url)}, keys {inst.where.key_dir})",
                "no finding",
                True,
            )
        )
    observed, ok = _private(Path(inst.scratch.db.engine.url.database or ""), 0o600)
    steps.append(step("the scratch database readable by its owner only (0600)", observed, ok))
    return steps


def where_of(target: Database, key_dir: Path, source: str) -> doctor.Where:
    """What doctor examines for ``target`` (``source``: where its URL came from)."""
    return doctor.Where(target.url, source, key_dir, doctor.default_checkpoint_dir(), log_dir())

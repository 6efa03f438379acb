"""Shared pieces of the benchmarks: the scaled database, timing, captured SQL, results.

Every benchmark times lottrack doing something against a baseline doing the same work
the plainest way, in the same process and the same run, interleaved (app, baseline, app,
…) so that a busy machine slows both alike; the figure is the median of the repeats.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, event, func, select  # noqa: E402

from lottrack.demo import database as demo  # noqa: E402
from lottrack.records import accounts  # noqa: E402
from lottrack.records.permissions import CurrentUser  # noqa: E402
from lottrack.storage.db import Database  # noqa: E402
from lottrack.storage.models import Subject  # noqa: E402

accounts.use_cheap_hashing_in_the_test_suite()  # benchmarks measure the program, not argon2


@dataclass(frozen=True)
class Result:
    """One line of the results table."""

    backend: str
    name: str
    app_s: float
    baseline_name: str
    baseline_s: float
    note: str = ""

    @property
    def ratio(self) -> float:
        """lottrack's time over the baseline's."""
        return self.app_s / self.baseline_s if self.baseline_s else float("inf")


def paired(
    app: Callable[[], object],
    baseline: Callable[[], object],
    *,
    repeat: int = 7,
    warmup: int = 1,
    interleave: bool = True,
) -> tuple[float, float]:
    """Median seconds of ``app`` and of ``baseline``, run alternately (or, without
    ``interleave``, every baseline run first)."""
    a: list[float] = []
    b: list[float] = []

    def timed(func: Callable[[], object], into: list[float]) -> None:
        t = time.perf_counter()
        func()
        into.append(time.perf_counter() - t)

    if interleave:
        for _ in range(warmup):
            app()
            baseline()
        for _ in range(repeat):
            timed(app, a)
            timed(baseline, b)
    else:
        for func, into in ((baseline, b), (app, a)):
            for _ in range(warmup):
                func()
            for _ in range(repeat):
                timed(func, into)
    return statistics.median(a), statistics.median(b)


@contextmanager
def captured_sql(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every statement (and its parameters) the engine sends to the driver in the block."""
    statements: list[tuple[str, Any]] = []

    def capture(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool
    ) -> None:
        statements.append((statement, list(parameters) if executemany else parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", capture)


_HELD: list[Any] = []


def driver_connection(db: Database) -> Any:
    """A driver connection of its own for a baseline: checked out of the pool and held
    for the whole run, so lottrack's sessions never share it."""
    pooled = db.engine.raw_connection()
    _HELD.append(pooled)
    return pooled.driver_connection


def person(db: Database, username: str) -> CurrentUser:
    """A demo person."""
    from lottrack.storage.models import User

    with db.reader() as s:
        user = s.execute(select(User).where(User.username == username)).scalar_one()
        return CurrentUser.of(user)


def scaled_database(url: str, scale: int) -> Database:
    """The demo database at ``url`` built at ``scale`` (reused when it already is)."""
    db = Database(url)
    if demo.is_demo(db):
        with db.reader() as s:
            subjects = s.execute(select(func.count()).select_from(Subject)).scalar_one()
        if subjects == scale * 12:
            print(f"  reusing {db.url} ({subjects} subjects)")
            return db
    print(f"  building the demo at scale {scale} into {db.url} …", flush=True)
    started = time.perf_counter()
    demo.build(db, force=True, scale=scale)
    print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    return Database(db.url)


def machine() -> str:
    """Where the figures come from (CPU, cores, memory, Python)."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = subprocess.run(
        ["free", "-h"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    load = os.getloadavg()
    return (
        f"CPU {cpu}, nproc {os.cpu_count()}, memory {memory[1].split()[1]} "
        f"(free -h: {' '.join(memory[1].split()[1:4])}), Python {platform.python_version()}, "
        f"load average {load[0]:.1f} at start"
    )


def table(results: list[Result]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| backend | measure | lottrack | baseline | baseline time | ratio | note |",
        "|---|---|---:|---|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.backend} | {r.name} | {_fmt(r.app_s)} | {r.baseline_name} | "
            f"{_fmt(r.baseline_s)} | {r.ratio:.2f}× | {r.note} |"
        )
    return "\n".join(lines)


def _fmt(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"

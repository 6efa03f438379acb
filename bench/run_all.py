"""Run every benchmark and print each figure with its ratio to a baseline from the same run.

    python bench/run_all.py [--scale N] [--pg URL] [--sqlite FILE] [--explain]

The demo database is built at scale N (``lottrack demo --scale N``: N × 12 subjects) in
a SQLite file (default: in the user cache directory) and, with ``--pg``, in that
PostgreSQL database (which must be empty or a lottrack demo; anything else is refused);
an existing demo at the same scale is reused. Benchmarks never run in the test suite.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import bench_certificates
import bench_dose
import bench_lists
import bench_release
import bench_screens
import bench_startup
import bench_verify
import explain
from common import Result, machine, scaled_database, table
from platformdirs import user_cache_dir


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=100, help="demo scale N (default 100)")
    parser.add_argument("--pg", metavar="URL", help="also run on this PostgreSQL database")
    parser.add_argument("--sqlite", metavar="FILE", help="SQLite file for the scaled demo")
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument(
        "--backend",
        action="append",
        choices=["sqlite", "postgresql"],
        help="run on this backend only (repeatable; default: all given)",
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["lists", "verify", "legacy", "release", "startup", "screens", "documents"],
        help="leave a benchmark out (repeatable)",
    )
    args = parser.parse_args()
    sqlite_file = Path(
        args.sqlite or Path(user_cache_dir("lottrack")) / "bench" / f"scale-{args.scale}.db"
    )
    sqlite_file.parent.mkdir(parents=True, exist_ok=True)
    urls = {"sqlite": f"sqlite:///{sqlite_file}"}
    if args.pg:
        urls["postgresql"] = args.pg
    runs = {b: u for b, u in urls.items() if not args.backend or b in args.backend}
    print(f"machine: {machine()}")
    started = time.perf_counter()
    results: list[Result] = []

    def report(new: list[Result]) -> None:
        results.extend(new)
        for r in new:  # as they come, so a long run shows progress
            print(
                f"  {r.name}: {r.app_s:.4g} s vs {r.baseline_name} {r.baseline_s:.4g} s "
                f"= {r.ratio:.2f}×",
                flush=True,
            )

    for backend, url in runs.items():
        print(f"[{backend}] scale {args.scale}")
        db = scaled_database(url, args.scale)
        if args.explain:
            print(explain.plans(db))
        if "lists" not in args.skip:
            report(bench_lists.run(db, backend))
        if "verify" not in args.skip:
            report(bench_verify.run(db, backend, legacy="legacy" not in args.skip))
        if "release" not in args.skip:
            report(bench_release.run(db, backend))
        db.dispose()
    if "documents" not in args.skip:
        report(bench_certificates.run())
        report(bench_dose.run())
    small = sqlite_file.with_name("scale-1.db")
    if "startup" not in args.skip or "screens" not in args.skip:
        scaled_database(f"sqlite:///{small}", 1).dispose()
    if "startup" not in args.skip:
        report(bench_startup.run(urls["sqlite"]))
    if "screens" not in args.skip:
        report(
            bench_screens.run({"demo": f"sqlite:///{small}", f"N = {args.scale}": urls["sqlite"]})
        )
    print()
    print(table(results))
    print(f"\n(all benchmarks: {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()

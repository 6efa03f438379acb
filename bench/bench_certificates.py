"""Cost of a lot release certificate: the full document against a bare reportlab page.

The release certificate (embedded TTF, header/footer callbacks with "Page x of y", Code
128 barcode, QR code, growth curve, passage and QC tables) is compared, in the same
process, with a bare SimpleDocTemplate page holding the same QC table in Helvetica and
nothing else. Signing is timed separately (it runs once per issue, not per render).
Run: ``python bench/bench_certificates.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import timeit
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.platypus import SimpleDocTemplate, Table  # noqa: E402

from certificates.release import render_release  # noqa: E402
from lottrack.views.documents import signing  # noqa: E402
from tests.certificates.samples import release_data  # noqa: E402

DATA = release_data()
ROWS = [["Test", "Result (as entered)", "Limit", "Conforms", "Tested", "Note"]] + [
    [
        q.test,
        q.value_text,
        q.limit_text,
        {True: "Yes", False: "NO", None: "report only"}[q.conforms],
        q.tested_at.isoformat(),
        "Retest" if q.is_retest else "",
    ]
    for q in DATA.qc_results
]


def full() -> bytes:
    """The release certificate as issued (unsigned)."""
    return render_release(DATA)


def bare() -> bytes:
    """The same QC table on a bare page: built-in font, no callbacks, no graphics."""
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, invariant=1).build([Table(ROWS)])
    return out.getvalue()


def best(func: object, repeat: int) -> float:
    """Best-of-``repeat`` seconds per call."""
    timer = timeit.Timer(func)  # type: ignore[arg-type]
    return min(timer.repeat(repeat=repeat, number=1))


def run(repeat: int = 10) -> list[Any]:
    """For run_all: the certificate against the bare page, and the signature."""
    from common import Result

    full(), bare()
    full_s, bare_s = best(full, repeat), best(bare, repeat * 5)
    pdf = full()
    with tempfile.TemporaryDirectory() as keys:
        key, cert = signing.ensure_facility_key(Path(keys))
        signing.sign_pdf(pdf, key, cert)
        sign_s = best(lambda: signing.sign_pdf(pdf, key, cert), repeat)
    return [
        Result(
            "-",
            "render the lot release certificate (2 pages, unsigned)",
            full_s,
            "bare reportlab page, same QC table",
            bare_s,
            "best of runs",
        ),
        Result(
            "-",
            "PAdES signature of that certificate",
            sign_s,
            "rendering it",
            full_s,
            "once per issue",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    full(), bare()  # register fonts, import modules
    full_s, bare_s = best(full, args.repeat), best(bare, args.repeat * 5)
    pdf = full()
    with tempfile.TemporaryDirectory() as keys:
        key, cert = signing.ensure_facility_key(Path(keys))
        signing.sign_pdf(pdf, key, cert)  # import pyHanko
        sign_s = best(lambda: signing.sign_pdf(pdf, key, cert), args.repeat)
    print(f"release certificate ({len(pdf) // 1024} KiB, 2 pages): {full_s * 1e3:8.1f} ms")
    print(f"bare page, same QC table ({len(bare()) // 1024} KiB):   {bare_s * 1e3:8.1f} ms")
    print(f"ratio release / bare:                    {full_s / bare_s:8.1f} ×")
    print(f"PAdES signature of the certificate:      {sign_s * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()

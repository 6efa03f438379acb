"""Key press → screen painted with its data, per main screen of each role, against a
minimal Textual screen with a 50-row ``DataTable`` filled from a worker, measured in the
same process (``bench/ui_screens.py``), on the demo and on the scaled demo.

    python bench/bench_screens.py DEMO_URL [SCALED_URL] [REPEAT]

Targets (issue #18): every main screen ≤ 2× the minimal screen on the demo, ≤ 3× at
N = 1000.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from common import ROOT, Result

SCRIPT = str(Path(__file__).with_name("ui_screens.py"))


def measure(url: str, repeat: int) -> dict[str, float]:
    """The medians ``ui_screens.py`` prints for the database at ``url``."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, SCRIPT, url, str(repeat)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"{SCRIPT} failed on {url}:\n{done.stderr[-2000:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def run(urls: dict[str, str], repeat: int = 5) -> list[Result]:
    """Each screen on each database (``{"demo": url, "N = 1000": url}``)."""
    out = []
    for label, url in urls.items():
        figures = measure(url, repeat)
        baseline = figures.pop("baseline")
        target = "≤ 2×" if label == "demo" else "≤ 3×"
        for name, seconds in figures.items():
            out.append(
                Result(
                    label,
                    f"UI: {name}",
                    seconds,
                    "minimal screen, 50-row table from a worker",
                    baseline,
                    f"target {target}"
                    if "verified" not in name
                    else "whole-trail verification, informative",
                )
            )
    return out


if __name__ == "__main__":
    from common import table

    args = sys.argv[1:]
    repeat = int(args.pop()) if len(args) > 1 and args[-1].isdigit() else 5
    names = ["demo", "N = 1000"]
    print(table(run(dict(zip(names, args, strict=False)), repeat)))

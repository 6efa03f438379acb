"""The ``lottrack`` program's entry point (the console script and ``python -m lottrack``).

``lottrack dose-check`` with plain options is answered here, before the command line
framework and the other commands' modules load (#18: it starts in about the time of
pint alone); every other command line, and any dose-check that is not plain options
(``--help``, an unknown option, …), goes to :func:`lottrack.cli.main` unchanged.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Run ``lottrack`` on ``sys.argv``."""
    args = sys.argv[1:]
    if args[:1] == ["dose-check"]:
        from lottrack import dose_check

        values = dose_check.plain_options(args[1:])
        if values is not None:
            from lottrack.kernel import logs

            logs.configure()  # as lottrack.cli.main does, once
            code, text, to_stderr = dose_check.check(**values)  # type: ignore[arg-type]
            print(text, file=sys.stderr if to_stderr else sys.stdout, flush=True)
            sys.exit(code)
    from lottrack.cli import main as full

    full()

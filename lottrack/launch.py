"""The ``lottrack`` program's entry point (the console script and ``python -m lottrack``).

``lottrack dose-check`` with plain options is answered here, before the command line
framework and the other commands' modules load (#18: it starts in about the time of
pint alone); every other command line, and any dose-check that is not plain options
(``--help``, an unknown option, …), goes to :func:`lottrack.cli.main` unchanged.

A command line that opens the terminal UI turns the terminal's echo off first of all
(:func:`quiet_terminal`): a password typed ahead while the program starts would otherwise
be echoed by the terminal in plain text before the login screen takes it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TextIO


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

    if not opens_ui(args):
        full()
        return
    with quiet_terminal(sys.stdin):
        full()


def opens_ui(args: list[str]) -> bool:
    """Whether ``lottrack args`` opens the terminal UI: no command (or ``tui``) after the
    global options ``--db URL`` and ``--demo``."""
    rest = list(args)
    while rest:
        if rest[0] == "--demo" or rest[0].startswith("--db="):
            rest = rest[1:]
        elif rest[0] == "--db" and len(rest) > 1:
            rest = rest[2:]
        else:
            break
    return rest in ([], ["tui"])


@contextlib.contextmanager
def quiet_terminal(stream: TextIO) -> Iterator[None]:
    """The terminal behind ``stream`` without echo while the block runs, and as it was
    afterwards (also after an error or Ctrl+C; the UI puts it in raw mode and back to the
    state it found). Nothing happens when ``stream`` is not a terminal."""
    try:
        fd = stream.fileno()
        if not stream.isatty():
            raise OSError
        import termios

        before = termios.tcgetattr(fd)
    except (OSError, ValueError, ImportError, AttributeError):  # no terminal, or Windows
        yield
        return
    quiet = list(before)
    quiet[3] &= ~(termios.ECHO | termios.ECHONL)
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, before)

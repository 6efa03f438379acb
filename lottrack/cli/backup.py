"""``lottrack backup FILE``."""

from __future__ import annotations

from pathlib import Path

import typer

from lottrack.cli.common import State, fail_on_error


def backup(ctx: typer.Context, file: Path) -> None:
    """Make a consistent copy of the database while others keep working."""
    from lottrack.backup import backup as run_backup

    state: State = ctx.obj
    with fail_on_error():
        state.database().dispose()  # refused, creating nothing, before lottrack init
        result = run_backup(state.url(), file)
    typer.echo(f"Backup written to {result.path} ({result.bytes} bytes, {result.method}).")

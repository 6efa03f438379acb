"""``lottrack backup FILE``."""

from pathlib import Path
from typing import Annotated

import typer

from lottrack.cli.common import StdinOpt, logged_in


def backup(
    ctx: typer.Context,
    file: Path,
    as_user: Annotated[
        str | None,
        typer.Option("--as", help="Your username (QA or administrator; else $LOTTRACK_USER)."),
    ] = None,
    password_stdin: StdinOpt = False,
) -> None:
    """Make a consistent copy of the database while others keep working (QA or an
    administrator; the copy is recorded in the audit trail)."""
    from lottrack.records.safekeeping import back_up

    with logged_in(ctx, as_user, password_stdin=password_stdin) as (db, who):
        result = back_up(db, who, file)
    typer.echo(f"Backup written to {result.path} ({result.bytes} bytes, {result.method}).")

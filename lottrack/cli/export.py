"""``lottrack export --format csv|json -o DIR``."""

from pathlib import Path
from typing import Annotated

import typer

from lottrack.cli.common import session_as


def export(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="csv or json")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write into.")],
    as_user: Annotated[str | None, typer.Option("--as", help="Your username.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """Export the trial data for the data manager (blinded unless you are unblinded)."""
    from lottrack.trial.export import export as export_trial

    with session_as(ctx, as_user, password_stdin=password_stdin) as (session, who):
        result = export_trial(session, who, fmt=fmt, directory=output)
    kind = "a blinded" if result.blinded else "an UNBLINDED"
    typer.echo(f"Wrote {kind} export to {result.directory}: {', '.join(result.files)}")

"""``lottrack spec import FILE`` and ``lottrack spec show``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lottrack.cli.common import State, fail_on_error, login

spec_app = typer.Typer(help="Release specifications (administrators import new versions).",
                       no_args_is_help=True)


@spec_app.command("import")
def import_(
    ctx: typer.Context,
    file: Path,
    as_user: Annotated[str | None, typer.Option("--as", help="Your username.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """Import a new specification version from a JSON file (refused whole if malformed)."""
    from lottrack import specifications

    state: State = ctx.obj
    with fail_on_error():
        db, who = login(state, as_user, password_stdin=password_stdin)
        with db.session() as session:
            version = specifications.import_spec(session, who, file)
    typer.echo(f"Imported specification version {version}; new lots are tested against it, "
               "existing lots keep the version they were created with.")


@spec_app.command("show")
def show(ctx: typer.Context) -> None:
    """Print the current specification: its settings and every test with its limit."""
    from lottrack.listings.specs import spec_versions

    state: State = ctx.obj
    with fail_on_error():
        db = state.database()
        with db.reader() as session:
            (spec,) = spec_versions(session, current_only=True)
    typer.echo(f"Specification version {spec.version}: {spec.name}")
    typer.echo(f"  {spec.settings}")
    for item in spec.items:
        typer.echo(f"  {item.code:<20} {item.test:<44} {item.limit:<24} {item.need}")

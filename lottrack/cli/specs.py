"""``lottrack spec import FILE``, ``spec approve VERSION`` and ``spec show``."""

from pathlib import Path
from typing import Annotated

import typer

from lottrack.cli.common import (
    State,
    fail_on_error,
    logged_in,
    read_password,
    session_as,
)

spec_app = typer.Typer(
    help="Release specifications (an administrator proposes a version; a QA person approves it).",
    no_args_is_help=True,
)


@spec_app.command("import")
def import_(
    ctx: typer.Context,
    file: Path,
    as_user: Annotated[str | None, typer.Option("--as", help="Your username.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """Propose a new specification version from a JSON file (refused whole if malformed,
    exit 2); it is in force once a QA person who is not you approves it."""
    from lottrack.manufacturing import specifications

    with session_as(ctx, as_user, password_stdin=password_stdin) as (session, who):
        version = specifications.import_spec(session, who, file)
    typer.echo(
        f"Specification version {version} is proposed; it is not in force until a QA "
        f"person other than you approves it (lottrack spec approve {version} --as "
        "QA-USER). Until then new lots are tested against the version in force."
    )


@spec_app.command("approve")
def approve(
    ctx: typer.Context,
    version: int,
    as_user: Annotated[str | None, typer.Option("--as", help="Your username.")] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password (login, then signature) from standard input, one line each.",
        ),
    ] = False,
) -> None:
    """Approve a proposed specification version with your electronic signature (QA, not
    the proposer); new lots are tested against it from then on."""
    from lottrack.manufacturing import specifications
    from lottrack.records.signatures import Credentials

    state: State = ctx.obj
    with logged_in(ctx, as_user, password_stdin=password_stdin) as (db, who):
        password = read_password(
            state,
            f"Signature: password for {who.username} (meaning: "
            "I approve this specification version for use)",
            from_stdin=password_stdin,
        )
        with db.session() as session:
            specifications.approve(session, who, Credentials(who.username, password), version)
    typer.echo(
        f"Specification version {version} approved and signed by {who.full_name}; it "
        "is in force for new lots (existing lots keep theirs)."
    )


@spec_app.command("show")
def show(ctx: typer.Context) -> None:
    """Print the specification in force (its settings and every test with its limit) and
    the versions proposed and awaiting QA approval."""
    from lottrack.manufacturing import specifications
    from lottrack.views.listings.specs import spec_versions

    state: State = ctx.obj
    with fail_on_error():
        db = state.database()
        with db.reader() as session:
            versions = spec_versions(session)
    spec = next(v for v in versions if v.current)
    typer.echo(f"Specification version {spec.version} (in force): {spec.name}")
    typer.echo(f"  {spec.settings}")
    for item in spec.items:
        typer.echo(f"  {item.code:<20} {item.test:<44} {item.limit:<24} {item.need}")
    proposed = [v.version for v in versions if v.status == specifications.PROPOSED]
    for version in sorted(proposed):
        typer.echo(
            f"Specification version {version}: proposed, awaiting QA approval "
            f"(lottrack spec approve {version})."
        )
    if not proposed:
        typer.echo("No version is proposed.")

"""``lottrack doctor``."""

import typer

from lottrack.cli.common import State


def doctor(ctx: typer.Context) -> None:
    """Check the deployment (design §6.9): file and folder modes, where the database URL
    comes from, and on PostgreSQL what the role may do to the audit trail. Each finding
    is printed with its fix; exit 0 when there is none, 1 otherwise."""
    from lottrack.install import doctor as checks
    from lottrack.storage.db import shown_url

    state: State = ctx.obj
    where, findings = checks.locate(state.db_url, state.demo)
    if where is not None:
        typer.echo(f"Database: {shown_url(where.url)} (from {where.source})")
        findings += checks.examine(where)
    if not findings:
        typer.echo(
            "No findings: the files are the service account's alone and the "
            "database role cannot rewrite the audit trail."
        )
        return
    for finding in findings:
        typer.echo(f"FINDING: {finding.problem}")
        typer.echo(f"  fix: {finding.fix}")
    typer.echo(f"{len(findings)} finding(s).")
    raise typer.Exit(1)

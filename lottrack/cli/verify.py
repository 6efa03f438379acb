"""``lottrack audit verify``."""

from __future__ import annotations

import typer

from lottrack.cli.common import State, fail_on_error

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)


@audit_app.command("verify")
def verify(ctx: typer.Context) -> None:
    """Recompute the hash chain and compare every record with its last audited values."""
    from lottrack import audit

    state: State = ctx.obj
    with fail_on_error():
        db = state.database()
        with db.engine.connect() as conn:
            report = audit.verify(conn)
    if report.ok:
        typer.echo(f"Audit trail intact: {report.events} events, {report.rows} records match.")
        return
    typer.echo(f"Audit trail BROKEN ({len(report.problems)} problem(s)); first: "
               f"{report.problems[0]}", err=True)
    for problem in report.problems[1:]:
        typer.echo(f"  also: {problem}", err=True)
    raise typer.Exit(1)

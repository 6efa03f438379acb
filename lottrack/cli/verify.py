"""``lottrack audit verify``."""

from __future__ import annotations

from typing import Annotated

import typer

from lottrack.cli.common import State, fail_on_error, login

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)


@audit_app.command("verify")
def verify(
    ctx: typer.Context,
    as_user: Annotated[str | None, typer.Option("--as", help="Your username (QA or "
                                                "administrator; else $LOTTRACK_USER).")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read your "
                                                 "password from standard input.")] = False,
) -> None:
    """Recompute the hash chain and compare every record with its last audited values
    (QA or an administrator; the run is recorded in the audit trail)."""
    from lottrack import audit, safekeeping

    state: State = ctx.obj
    with fail_on_error():
        db, who = login(state, as_user, password_stdin=password_stdin)
        with db.session() as session:
            safekeeping.may_verify(session, who)
        with db.engine.connect() as conn:
            report = audit.verify(conn)
        with db.session() as session:
            safekeeping.record_verification(session, who, report)
    if report.ok:
        typer.echo(f"Audit trail intact: {report.events} events, {report.rows} records match.")
        return
    typer.echo(f"Audit trail BROKEN ({len(report.problems)} problem(s)); first: "
               f"{report.problems[0]}", err=True)
    for problem in report.problems[1:]:
        typer.echo(f"  also: {problem}", err=True)
    raise typer.Exit(1)

"""``lottrack audit verify`` and ``lottrack audit checkpoint`` (design §6.1, §6.9)."""

from pathlib import Path
from typing import Annotated

import typer

from lottrack.cli.common import State, StdinOpt, fail_on_error, logged_in

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)


@audit_app.command("verify")
def verify(
    ctx: typer.Context,
    as_user: Annotated[
        str | None,
        typer.Option("--as", help="Your username (QA or administrator; else $LOTTRACK_USER)."),
    ] = None,
    password_stdin: StdinOpt = False,
    documents: Annotated[
        Path | None,
        typer.Option(
            "--documents",
            file_okay=False,
            exists=True,
            help="Also hold the trail against the chain heads printed in the issued PDFs of "
            "this folder.",
        ),
    ] = None,
) -> None:
    """Recompute the hash chain, compare every record with its last audited values and
    hold the chain against every signed checkpoint (QA or an administrator; the run is
    recorded in the audit trail)."""
    from lottrack.records import safekeeping
    from lottrack.views.documents import heads

    with logged_in(ctx, as_user, password_stdin=password_stdin) as (db, who):
        with db.session() as session:
            safekeeping.may_verify(session, who)
        with db.engine.connect() as conn:
            report = heads.verify(conn, documents)
        with db.session() as session:
            safekeeping.record_verification(session, who, report)
    for note in report.notes:
        typer.echo(note)
    if report.ok:
        typer.echo(f"Audit trail intact: {report.events} events, {report.rows} records match.")
        return
    typer.echo(
        f"Audit trail BROKEN ({len(report.problems)} problem(s)); first: {report.problems[0]}",
        err=True,
    )
    for problem in report.problems[1:]:
        typer.echo(f"  also: {problem}", err=True)
    raise typer.Exit(1)


@audit_app.command("checkpoint")
def checkpoint(ctx: typer.Context) -> None:
    """Sign the chain head with the facility key now; kept in the database and appended to
    the checkpoint file ($LOTTRACK_CHECKPOINT_DIR, else the facility key folder)."""
    from lottrack.storage import anchors

    state: State = ctx.obj
    with fail_on_error():
        with state.database().session() as session:
            taken = anchors.checkpoint_now(session, "on demand")
    path = anchors.checkpoint_file(anchors.default_checkpoint_dir(), taken.database_id)
    typer.echo(
        f"Checkpoint of audit event #{taken.seq} (hash {taken.hash}) signed with the "
        f"facility key; kept in the database and appended to {path}."
    )

"""``lottrack validate -o DIR``: the IQ/OQ validation run and its signed report (GAMP 5,
Annex 11 §4). The validation package, the renderer and the signer are imported inside
the command."""

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lottrack.cli.common import State, StdinOpt, logged_in

if TYPE_CHECKING:
    from lottrack.views.documents.issue import Renderer
    from lottrack.views.documents.validation_data import ValidationReportData

REPORT_FILE = "validation-report.pdf"
RESULTS_FILE = "validation-results.json"


def validate(
    ctx: typer.Context,
    output: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output",
            file_okay=False,
            help=f"Folder for {REPORT_FILE} (signed) and {RESULTS_FILE} (raw results).",
        ),
    ],
    as_user: Annotated[
        str | None,
        typer.Option("--as", help="Your username (QA or admin; else $LOTTRACK_USER, else $USER)."),
    ] = None,
    password_stdin: StdinOpt = False,
    key_dir: Annotated[
        Path | None,
        typer.Option(
            "--key-dir",
            file_okay=False,
            help="Folder of the facility signing key (else the default).",
        ),
    ] = None,
) -> None:
    """Run the installation and operational qualification on a scratch database (created
    and removed) and issue the signed report: exit 0 when every check passed, 1 if any
    failed or a requirement has no check."""
    from lottrack.install.doctor import locate
    from lottrack.kernel.private_files import private_dir, write_private
    from lottrack.storage.models import Certificate
    from lottrack.validation.run import results_json, run_validation
    from lottrack.views.documents import signing
    from lottrack.views.documents.issue import issue

    state: State = ctx.obj
    keys = key_dir or signing.default_key_dir()
    with logged_in(ctx, as_user, password_stdin=password_stdin) as (db, who):
        private_dir(output)
        typer.echo(
            "Running the validation (installation, then operation on a scratch database)…", err=True
        )
        located, _ = locate(state.db_url, state.demo)  # where the URL came from
        data = run_validation(
            db,
            keys,
            run_by=f"{who.full_name} ({who.username})",
            source=located.source if located else "the config file",
        )
        from sqlmodel import func, select

        with db.session() as session:
            runs = session.exec(
                select(func.count())
                .select_from(Certificate)
                .where(Certificate.kind == "validation")
            ).one()
            issued = issue(
                session,
                who,
                kind="validation",
                record_type="validation_run",
                record_id=int(runs) + 1,
                data=data,
                render=_renderer(),
                out_path=output / REPORT_FILE,
                key_dir=keys,
            )
        final = dataclasses.replace(data, document_id=issued.document_id)
        write_private(output / RESULTS_FILE, results_json(final).encode())
    failed = [c for c in data.checks if not c.passed]
    for c in data.checks:
        typer.echo(
            f"{'PASS' if c.passed else 'FAIL'}  {c.id:<12} {', '.join(c.requirements)}"
            f"  {c.title}" + (f" — {c.error}" if c.error else "")
        )
    for problem in data.problems:
        typer.echo(f"FAIL  {problem}")
    typer.echo(
        f"Report {issued.document_id} written to {issued.path}; raw results in "
        f"{output / RESULTS_FILE}."
    )
    if failed or not data.passed:
        typer.echo(
            f"NOT VALIDATED: {len(failed)} of {len(data.checks)} check(s) failed"
            + (f", {len(data.problems)} traceability fault(s)" if data.problems else "")
            + ".",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(
        f"Validated: {len(data.checks)} checks passed, {len(data.requirements)} "
        "requirements proved."
    )


def _renderer() -> "Renderer[ValidationReportData]":
    from certificates.validation_report import render_validation_report

    return render_validation_report

"""``lottrack allocation import|generate`` and ``lottrack visits schedule``: starting the
trial from the command line (the unblinded pharmacy allocates; visits follow week 0)."""

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from lottrack.cli.common import AsOpt, StdinOpt, fail_on_error, session_as
from lottrack.kernel.errors import ValidationError

allocation_app = typer.Typer(
    help="The treatment allocation (unblinded pharmacists only).", no_args_is_help=True
)
visits_app = typer.Typer(
    help="Trial visits (period 1 at week 0, period 2 later).", no_args_is_help=True
)


@allocation_app.command("import")
def import_(
    ctx: typer.Context, file: Path, as_user: AsOpt = None, password_stdin: StdinOpt = False
) -> None:
    """Import the statistician's CSV (subject_code,sequence; a header line is allowed).

    A file with any bad line is refused whole, naming the line; nothing is stored.
    """
    from lottrack.trial import allocation

    with session_as(ctx, as_user, password_stdin=password_stdin) as (session, who):
        result = allocation.import_csv(session, who, file)
    typer.echo(
        f"Imported {result.rows} row(s) from {file.name}: {result.created_or_changed} "
        "allocation(s) created or changed, the others already held that sequence."
    )


@allocation_app.command("generate")
def generate(
    ctx: typer.Context,
    seed: Annotated[
        int,
        typer.Option(
            "--seed",
            help="Seed of the randomisation (recorded "
            "with each allocation; the same seed and subjects "
            "give the same list).",
        ),
    ],
    block_size: Annotated[
        int | None,
        typer.Option(
            "--block-size",
            help="Even block size (default: the randomisation_block_size setting, 4).",
        ),
    ] = None,
    as_user: AsOpt = None,
    password_stdin: StdinOpt = False,
) -> None:
    """Allocate every subject not yet allocated, by subject code, in 1:1 permuted blocks."""
    from lottrack.trial import allocation, allocation_list

    with session_as(ctx, as_user, password_stdin=password_stdin) as (session, who):
        ids = allocation_list.unallocated_subject_ids(session, who)
        count = allocation.generate(session, who, subject_ids=ids, seed=seed, block_size=block_size)
        done = {s.subject_id: s for s in allocation_list.allocation_list(session, who).subjects}
        new = [done[i] for i in ids]
    if count == 0:
        typer.echo("Every subject already has an allocation; nothing was generated.")
        return
    source = new[0].source or ""
    typer.echo(f"Allocated {count} subject(s) ({source}):")
    for row in new:
        typer.echo(f"  {row.code:<12} {row.sequence}")


def _week0(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(
            f'Week 0: "{text[:40]}" is not a date; expected YYYY-MM-DD, such as 2025-03-14.',
            field="week0",
        ) from None


@visits_app.command("schedule")
def schedule(
    ctx: typer.Context,
    subject_code: Annotated[str, typer.Argument(help="Trial subject code, e.g. TLS-003.")],
    week0: Annotated[
        str,
        typer.Option(
            "--week0",
            help="Date of period 1 (YYYY-MM-DD); period 2 follows at the period2_week setting.",
        ),
    ],
    as_user: AsOpt = None,
    password_stdin: StdinOpt = False,
) -> None:
    """Schedule both visits of a subject (refused when the subject already has visits)."""
    from lottrack.facility import subjects
    from lottrack.storage.models import Visit
    from lottrack.trial import visits

    with fail_on_error():  # a date that is not one is refused before the password is asked
        day = _week0(week0)
    with session_as(ctx, as_user, password_stdin=password_stdin) as (session, who):
        subject = subjects.find_subject(session, subject_code)
        ids = visits.schedule(session, who, subject_id=subject.id, week0=day)
        dates = [
            row.planned_date for row in (session.get(Visit, i) for i in ids) if row is not None
        ]
    typer.echo(
        f"Scheduled {subject.code}: period 1 on {dates[0].isoformat()}, "
        f"period 2 on {dates[1].isoformat()}."
    )

"""``lottrack weight record|correct|void|list``: body weights from the command line
(design §6.8: outside 30–200 kg only with --confirm; corrections and voids with a reason)."""

from typing import Annotated

import typer

from lottrack.cli.common import AsOpt, StdinOpt, session_as

weight_app = typer.Typer(
    help="Body weights (ward clinicians and pharmacists).", no_args_is_help=True
)

ConfirmOpt = Annotated[
    bool,
    typer.Option("--confirm", help="Store a weight outside 30–200 kg (checked and confirmed)."),
]


@weight_app.command("record")
def record(
    ctx: typer.Context,
    subject_code: Annotated[str, typer.Argument(help="Trial subject code, e.g. TLS-003.")],
    weight: Annotated[str, typer.Argument(help="The weight as measured: 70 kg, 154 lb.")],
    confirm: ConfirmOpt = False,
    as_user: AsOpt = None,
    password_stdin: StdinOpt = False,
) -> None:
    """Record a weight measured now; outside 30–200 kg it needs --confirm (exit 2 without)."""
    from lottrack.facility import subjects
    from lottrack.kernel.units import Dim, format_quantity
    from lottrack.storage.models import utcnow
    from lottrack.trial import visits

    with session_as(ctx, as_user, password_stdin=password_stdin) as (session, who):
        subject = subjects.find_subject(session, subject_code)
        done = visits.record_weight(
            session,
            who,
            subject_id=subject.id,
            weight_text=weight,
            measured_at=utcnow(),
            confirm_implausible=confirm,
        )
    typer.echo(
        f"Weight #{done.id} of {subject.code}: "
        f"{format_quantity(done.weight_kg, Dim.MASS)} recorded."
    )


@weight_app.command("correct")
def correct(
    ctx: typer.Context,
    weight_id: int,
    weight: Annotated[str, typer.Argument(help="The right weight: 70 kg, 154 lb.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is corrected.")],
    confirm: ConfirmOpt = False,
    as_user: AsOpt = None,
    password_stdin: StdinOpt = False,
) -> None:
    """Correct a recorded weight with a reason (audited)."""
    from lottrack.kernel.units import Dim, format_quantity
    from lottrack.trial import weights

    with session_as(ctx, as_user, password_stdin=password_stdin) as (session, who):
        done = weights.correct_weight(
            session, who, weight_id, weight_text=weight, reason=reason, confirm_implausible=confirm
        )
    assert done.weight_kg is not None
    typer.echo(f"Weight #{weight_id} corrected to {format_quantity(done.weight_kg, Dim.MASS)}.")
    for line in done.consequences:
        typer.echo(line)


@weight_app.command("void")
def void(
    ctx: typer.Context,
    weight_id: int,
    reason: Annotated[str, typer.Option("--reason", help="Why it must not count.")],
    as_user: AsOpt = None,
    password_stdin: StdinOpt = False,
) -> None:
    """Void a recorded weight with a reason; the latest valid one before it counts."""
    from lottrack.trial import weights

    with session_as(ctx, as_user, password_stdin=password_stdin) as (session, who):
        done = weights.void_weight(session, who, weight_id, reason)
    typer.echo(f"Weight #{weight_id} voided; it stays in the record and no rule uses it.")
    for line in done.consequences:
        typer.echo(line)


@weight_app.command("list")
def list_weights(
    ctx: typer.Context,
    subject_code: Annotated[str, typer.Argument(help="Trial subject code, e.g. TLS-003.")],
    as_user: AsOpt = None,
    password_stdin: StdinOpt = False,
) -> None:
    """Every weight of a subject, newest first, with its id (for correct and void); a
    voided one is marked with its reason."""
    from lottrack.facility import subjects
    from lottrack.trial import weights

    with session_as(ctx, as_user, password_stdin=password_stdin) as (session, who):
        subject = subjects.find_subject(session, subject_code)
        rows = weights.weights_of(session, who, subject.id)
    if not rows:
        typer.echo(f"No weight of {subject.code} is recorded.")
    for row in rows:
        void = f"  VOID ({row.voided_reason})" if row.voided_reason is not None else ""
        typer.echo(f"#{row.id}  {row.measured_at_text}  {row.weight_text}{void}")

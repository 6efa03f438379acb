"""``lottrack certificate release|infusion|label|verify`` (design §9, §11).

The renderers (reportlab), the signer (pyHanko), the data builders and the database layer
are imported inside the commands that use them, so that loading the CLI stays light.
"""

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

from lottrack.cli.common import (
    EXIT_BAD_INPUT,
    State,
    StdinOpt,
    fail_on_error,
    session_as,
)
from lottrack.storage import facility_key  # the key's folder: light, unlike the signing

if TYPE_CHECKING:  # the database layer is imported by the command that runs
    from sqlmodel import Session

    from lottrack.records.permissions import CurrentUser
    from lottrack.views.documents.data import (
        BagLabelData,
        DocumentData,
        InfusionCertificateData,
        ReleaseCertificateData,
    )
    from lottrack.views.documents.issue import IssuedDocument, Renderer

D = TypeVar("D", bound="DocumentData")

certificate_app = typer.Typer(
    help="Issued documents: lot release certificates, infusion certificates, bag labels.",
    no_args_is_help=True,
)

Output = Annotated[Path, typer.Option("-o", "--output", help="PDF file to write.", dir_okay=False)]
AsUser = Annotated[
    str | None, typer.Option("--as", help="Your username (else $LOTTRACK_USER, else $USER).")
]
Reason = Annotated[
    str,
    typer.Option(
        "--reason",
        help="Why a document issued before is reprinted (a reprint is marked COPY and audited).",
    ),
]
KeyDir = Annotated[
    Path | None,
    typer.Option(
        "--key-dir",
        file_okay=False,
        help=f"Folder of the facility signing key (else ${facility_key.KEY_DIR_ENV}, else the user "
        "data directory).",
    ),
]


def _issue(
    ctx: typer.Context,
    *,
    kind: str,
    as_user: str | None,
    password_stdin: bool,
    output: Path | None,
    key_dir: Path | None,
    reason: str,
    locate: "Callable[[Session, CurrentUser], int]",
    renderer: "Callable[[], Renderer[D]]",
    file_format: str = "pdf",
    printer: str | None = None,
) -> None:
    from lottrack.views.documents.issuing import issue_document

    with session_as(ctx, as_user, password_stdin=password_stdin) as (session, who):
        issued = issue_document(
            session,
            who,
            kind=kind,
            record_id=locate(session, who),
            render=renderer(),
            out_path=output,
            key_dir=key_dir or facility_key.default_key_dir(),
            reason=reason,
            file_format=file_format,
            printer=printer,
        )
    _report(issued, printer)


def _report(issued: "IssuedDocument", printer: str | None = None) -> None:
    which = "original" if issued.copy_number == 0 else f"COPY {issued.copy_number}"
    where = " and ".join(
        ([str(issued.path)] if issued.path else []) + ([f"printer {printer}"] if printer else [])
    )
    typer.echo(
        f"Issued {issued.kind} document {issued.document_id} ({which}) to "
        f"{where}; file SHA-256 {issued.file_sha256}."
    )


def _release_renderer() -> "Renderer[ReleaseCertificateData]":
    from certificates.release import render_release

    return render_release


def _infusion_renderer() -> "Renderer[InfusionCertificateData]":
    from certificates.infusion import render_infusion

    return render_infusion


def _label_renderer() -> "Renderer[BagLabelData]":
    from certificates.label import render_label

    return render_label


def _zpl_label_renderer() -> "Renderer[BagLabelData]":
    from certificates.zpl_label import render_label_zpl

    return render_label_zpl


@certificate_app.command("release")
def release(
    ctx: typer.Context,
    lot: Annotated[str, typer.Argument(help="Lot number.")],
    output: Output,
    as_user: AsUser = None,
    password_stdin: StdinOpt = False,
    reason: Reason = "",
    key_dir: KeyDir = None,
) -> None:
    """Issue the release certificate of a released lot (a second issue is a COPY)."""
    from lottrack.manufacturing.lots import find_lot

    def locate(session: "Session", _who: "CurrentUser") -> int:
        found = find_lot(session, lot).id
        assert found is not None
        return found

    _issue(
        ctx,
        kind="release",
        as_user=as_user,
        password_stdin=password_stdin,
        output=output,
        key_dir=key_dir,
        reason=reason,
        locate=locate,
        renderer=_release_renderer,
    )


@certificate_app.command("infusion")
def infusion(
    ctx: typer.Context,
    infusion_id: Annotated[int, typer.Argument(metavar="ID", help="Infusion id.")],
    output: Output,
    as_user: AsUser = None,
    password_stdin: StdinOpt = False,
    reason: Reason = "",
    key_dir: KeyDir = None,
) -> None:
    """Issue the (blinded) infusion certificate of an infusion."""
    _issue(
        ctx,
        kind="infusion",
        as_user=as_user,
        password_stdin=password_stdin,
        output=output,
        key_dir=key_dir,
        reason=reason,
        locate=lambda _session, _who: infusion_id,
        renderer=_infusion_renderer,
    )


class LabelFormat(StrEnum):
    """What a label is written as."""

    PDF = "pdf"
    ZPL = "zpl"


@certificate_app.command("label")
def label(
    ctx: typer.Context,
    unit: Annotated[str, typer.Argument(help="Kit code (the pharmacy may also give the bag id).")],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            dir_okay=False,
            help="File to write: the PDF, or the ZPL with --format zpl.",
        ),
    ] = None,
    file_format: Annotated[
        LabelFormat,
        typer.Option(
            "--format",
            help="pdf (signed), or zpl: ZPL II for a 4×4-inch thermal label.",
            case_sensitive=False,
        ),
    ] = LabelFormat.PDF,
    printer: Annotated[
        str | None,
        typer.Option(
            "--printer",
            metavar="HOST:PORT",
            help="Send the ZPL label to this printer over raw TCP (port 9100).",
        ),
    ] = None,
    as_user: AsUser = None,
    password_stdin: StdinOpt = False,
    reason: Reason = "",
    key_dir: KeyDir = None,
) -> None:
    """Issue the (blinded) label of a bag, as a PDF or as ZPL for a thermal printer."""
    from lottrack.views.documents.blinded_builders import find_unit

    zpl = file_format is LabelFormat.ZPL
    if printer is not None and not zpl:
        _bad_options("--printer sends ZPL: add --format zpl.")
    if output is None and printer is None:
        _bad_options(
            "say where the label goes: -o FILE" + (" or --printer HOST:PORT." if zpl else ".")
        )
    if printer is not None:
        from lottrack.views.documents.printer import parse_printer

        with fail_on_error():
            parse_printer(printer)
    _issue(
        ctx,
        kind="label",
        as_user=as_user,
        password_stdin=password_stdin,
        output=output,
        key_dir=key_dir,
        reason=reason,
        locate=lambda session, who: find_unit(session, who, unit),
        renderer=_zpl_label_renderer if zpl else _label_renderer,
        file_format=file_format.value,
        printer=printer,
    )


def _bad_options(message: str) -> NoReturn:
    typer.echo(f"error: Invalid input: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


@certificate_app.command("verify")
def verify(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The PDF to check.", dir_okay=False)],
) -> None:
    """Say whether FILE is a document lottrack issued, unchanged (exit 0), or not (1)."""
    from lottrack.views.documents.issue import verify_file

    state: State = ctx.obj
    with fail_on_error():
        db = state.database()
        with db.reader() as session:
            result = verify_file(session, file)
    if not result.ok:
        typer.echo(result.message, err=True)
        raise typer.Exit(1)
    typer.echo(result.message)

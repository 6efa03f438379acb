"""``lottrack init`` and ``lottrack demo``."""

from typing import TYPE_CHECKING, Annotated

import typer

from lottrack.cli.common import State, fail_on_error, read_password

if TYPE_CHECKING:
    from lottrack.demo.database import DemoUser
    from lottrack.storage.db import Database


def init(
    ctx: typer.Context,
    admin: Annotated[
        str | None,
        typer.Option(
            "--admin", help="Username of the first administrator (asked for when missing)."
        ),
    ] = None,
    full_name: Annotated[
        str | None, typer.Option("--name", help="Printed name of the first administrator.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    app_role: Annotated[
        str | None,
        typer.Option(
            "--app-role",
            metavar="NAME",
            help="(PostgreSQL, with the owner's URL) create or update the least-privilege role "
            "the terminals connect as: no DELETE or TRUNCATE, only INSERT and SELECT on "
            "the audit trail. The first administrator is then made only with --admin.",
        ),
    ] = None,
) -> None:
    """Create or migrate the database and create the first administrator."""
    from lottrack.install import bootstrap
    from lottrack.storage.db import shown_url

    state: State = ctx.obj
    with fail_on_error():
        db = state.database(initialised=False)
        password = None
        if bootstrap.needs_admin(db) and (app_role is None or admin is not None):
            if admin is None:
                if password_stdin:
                    typer.echo(
                        "error: Missing option: give --admin USER for the first administrator.",
                        err=True,
                    )
                    raise typer.Exit(2)
                admin = typer.prompt("Username of the first administrator")
            if full_name is None and not password_stdin:
                full_name = typer.prompt("Printed name (for signatures)", default=admin)
            password = read_password(
                state, f"Password for {admin}", from_stdin=password_stdin, confirm=True
            )
        else:
            admin = None
        result = bootstrap.initialise(db, admin=admin, full_name=full_name, password=password)
    if result.revision_before is None:
        typer.echo(f"Created the database at schema {result.revision_after}.")
    elif result.revision_before != result.revision_after:
        typer.echo(
            f"Upgraded the database from {result.revision_before} to "
            f"{result.revision_after}; every row was kept."
        )
    else:
        typer.echo(f"The database is already at schema {result.revision_after}.")
    if result.admin_created:
        typer.echo(f"Created administrator '{admin}'.")
    _facility_key(db)
    _checkpoint(db, "init")
    if app_role is not None:
        _grant_app_role(db, app_role)
    typer.echo(f"{result.users} user account(s). Database: {shown_url(db.url)}")


def _grant_app_role(db: "Database", role: str) -> None:
    """Give the terminals' role exactly the rights the program needs."""
    from lottrack.storage.schema import grant_app_role

    with fail_on_error():
        grants = grant_app_role(db.engine, role)
    typer.echo(f"Application role '{role}' (login, no DELETE or TRUNCATE, no DDL):")
    for line in grants:
        typer.echo(f"  {line}")
    typer.echo(
        f"Terminals connect as '{role}'; set its password with \\password {role} in "
        "psql, and run this again after an upgrade that adds tables."
    )


def _signing_key() -> None:
    """Create the facility's document-signing key unless it exists."""
    from lottrack.views.documents.signing import default_key_dir, ensure_facility_key

    with fail_on_error():
        ensure_facility_key(default_key_dir())


def _facility_key(db: "Database") -> None:
    """Create the facility's document-signing key unless the site provides its own, and
    pin its certificate in the database: only documents it signed count as issued."""
    from lottrack.storage import audit
    from lottrack.views.documents.issue import pin_facility_certificate
    from lottrack.views.documents.signing import default_key_dir, ensure_facility_key

    with fail_on_error():
        _, cert = ensure_facility_key(default_key_dir())
        with db.session() as session:
            audit.set_actor(session, None, "system:init")
            fingerprint = pin_facility_certificate(session, cert)
    typer.echo(
        f"Facility document-signing certificate: {cert} (SHA-256 {fingerprint}, "
        "pinned in the database)"
    )


def _checkpoint(db: "Database", trigger: str) -> None:
    """Sign the audit chain head as it stands (after a migration or a demo build)."""
    from lottrack.storage import anchors

    with fail_on_error():
        with db.session() as session:
            taken = anchors.checkpoint_now(session, trigger)
    typer.echo(f"Audit trail checkpoint: event #{taken.seq}, signed with the facility key.")


def ensure_demo(state: State) -> None:
    """Build the demo database on first use of ``lottrack --demo``."""
    from lottrack.demo import database as demo_core

    with fail_on_error():
        db = state.database(initialised=False)
        if demo_core.is_demo(db) is None:
            typer.echo("Building the demo database (first use)…", err=True)
            _signing_key()
            _print_users(demo_core.build(db))
            _facility_key(db)
            _checkpoint(db, "demo built")


def _print_users(users: "list[DemoUser]") -> None:
    typer.echo("Demo accounts (username / password / roles):")
    for u in users:
        typer.echo(f"  {u.username:<8} {u.password:<18} {', '.join(u.roles)}")


def demo(
    ctx: typer.Context,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild an existing demo database.")
    ] = False,
    scale: Annotated[int, typer.Option("--scale", help="Multiply the demo trial (load work).")] = 1,
) -> None:
    """Build a demo database: a trial in every state and one user per role."""
    from lottrack.demo import database as demo_core
    from lottrack.kernel import environment
    from lottrack.storage.db import shown_url

    state: State = ctx.obj
    own_file = not state.db_url and not environment.read().database_url
    if own_file:  # else --db or $LOTTRACK_DATABASE_URL, as for every command
        state.demo = True
    _signing_key()  # first: the demo's signatures checkpoint the audit trail
    with fail_on_error():
        db = state.database(initialised=False)
        users = demo_core.build(db, force=force, scale=scale)
    typer.echo(f"Demo database ready: {shown_url(db.url)}")
    _facility_key(db)
    _checkpoint(db, "demo built")
    _print_users(users)
    if own_file:
        typer.echo("Open it with: lottrack --demo")

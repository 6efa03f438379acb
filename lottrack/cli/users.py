"""``lottrack user add|list|roles|disable|enable|unlock|passwd|reset``."""

from typing import Annotated

import typer

from lottrack.cli.common import (
    AsOpt,
    State,
    fail_on_error,
    logged_in,
    read_password,
    session_as,
)

user_app = typer.Typer(help="Manage accounts (administrators).", no_args_is_help=True)

StdinOpt = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read passwords from standard input, one per line (yours first)."
    ),
]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (recorded in the audit trail).")]


@user_app.command("add")
def add(
    ctx: typer.Context,
    username: str,
    name: Annotated[str, typer.Option("--name", help="Printed name used in signatures.")],
    role: Annotated[list[str], typer.Option("--role", help="Role; repeat for several.")],
    as_user: AsOpt = None,
    password_stdin: StdinOpt = False,
) -> None:
    """Add a person with their roles."""
    from lottrack.records import accounts

    state: State = ctx.obj
    with logged_in(ctx, as_user, password_stdin=password_stdin) as (db, who):
        new_pw = read_password(
            state, f"Password for the new user {username}", from_stdin=password_stdin, confirm=True
        )
        with db.session() as session:
            created = accounts.create_user(
                session, who, username=username, full_name=name, roles=role, password=new_pw
            )
    typer.echo(
        f"Added {created.username} ({created.full_name}): "
        f"{', '.join(sorted(created.roles))}. They choose their own password at the "
        "first login."
    )


@user_app.command("list")
def list_(ctx: typer.Context, as_user: AsOpt = None, password_stdin: StdinOpt = False) -> None:
    """List every account and its state."""
    from lottrack.records import accounts

    with session_as(ctx, as_user, password_stdin=password_stdin, reader=True) as (session, who):
        rows = accounts.list_users(session, who)
    typer.echo(f"{'username':<16} {'name':<28} {'roles':<28} state")
    for r in rows:
        status = "disabled" if not r["active"] else "LOCKED" if r["locked"] else "active"
        if r["failed_logins"]:
            status += f" ({r['failed_logins']} failed)"
        typer.echo(f"{r['username']!s:<16} {r['full_name']!s:<28} {r['roles']!s:<28} {status}")


@user_app.command("roles")
def roles(
    ctx: typer.Context,
    username: str,
    role: Annotated[list[str], typer.Option("--role", help="Role; repeat for several.")],
    reason: ReasonOpt,
    as_user: AsOpt = None,
    password_stdin: StdinOpt = False,
) -> None:
    """Replace a person's roles (not your own; pharmacist excludes clinician and
    investigator, admin excludes every GMP role)."""
    from lottrack.records import accounts

    with session_as(ctx, as_user, password_stdin=password_stdin) as (session, who):
        accounts.set_roles(session, who, username, role, reason)
    typer.echo(f"{username} now holds: {', '.join(sorted({r.strip().lower() for r in role}))}.")


def _set_active(
    ctx: typer.Context,
    username: str,
    active: bool,
    reason: str,
    as_user: str | None,
    password_stdin: bool,
) -> None:
    from lottrack.records import accounts

    with session_as(ctx, as_user, password_stdin=password_stdin) as (session, who):
        accounts.set_active(session, who, username, active, reason)
    typer.echo(f"{username} is now {'enabled' if active else 'disabled'}.")


@user_app.command("disable")
def disable(
    ctx: typer.Context,
    username: str,
    reason: ReasonOpt,
    as_user: AsOpt = None,
    password_stdin: StdinOpt = False,
) -> None:
    """Disable an account (its history is kept)."""
    _set_active(ctx, username, False, reason, as_user, password_stdin)


@user_app.command("enable")
def enable(
    ctx: typer.Context,
    username: str,
    reason: ReasonOpt,
    as_user: AsOpt = None,
    password_stdin: StdinOpt = False,
) -> None:
    """Re-enable a disabled account."""
    _set_active(ctx, username, True, reason, as_user, password_stdin)


@user_app.command("unlock")
def unlock(
    ctx: typer.Context,
    username: str,
    reason: ReasonOpt,
    as_user: AsOpt = None,
    password_stdin: StdinOpt = False,
) -> None:
    """Lift a lock-out after repeated failed logins."""
    from lottrack.records import accounts

    with session_as(ctx, as_user, password_stdin=password_stdin) as (session, who):
        accounts.unlock(session, who, username, reason)
    typer.echo(f"{username} is unlocked.")


@user_app.command("reset")
def reset(
    ctx: typer.Context, username: str, as_user: AsOpt = None, password_stdin: StdinOpt = False
) -> None:
    """Set a temporary password that the owner must change at the next login."""
    from lottrack.records import accounts

    state: State = ctx.obj
    with logged_in(ctx, as_user, password_stdin=password_stdin) as (db, who):
        new_pw = read_password(
            state, f"Temporary password for {username}", from_stdin=password_stdin, confirm=True
        )
        with db.session() as session:
            accounts.reset_password(session, who, username, new_pw)
    typer.echo(f"{username} must choose a new password at the next login.")


@user_app.command("passwd")
def passwd(
    ctx: typer.Context,
    username: Annotated[str | None, typer.Argument()] = None,
    password_stdin: StdinOpt = False,
) -> None:
    """Change your own password (old, then new)."""
    from lottrack.records import accounts

    state: State = ctx.obj
    from lottrack.cli.common import acting_user_name

    with fail_on_error():
        name = acting_user_name(username)
        db = state.database()
        old = read_password(state, "Current password", from_stdin=password_stdin)
        new = read_password(state, "New password", from_stdin=password_stdin, confirm=True)
        with db.session() as session:
            accounts.change_password(session, name, old, new)
    typer.echo("Password changed.")

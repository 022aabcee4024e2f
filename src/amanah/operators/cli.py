"""``amanah operators``: back-office accounts (create, list, disable, reset). Each command owns
its transaction and is written to the audit log as done from the command line (by the system
user running it); passwords and TOTP secrets are printed once and never logged."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import TypeVar

import typer

from amanah.core import migrate as migrations
from amanah.core.clock import clock
from amanah.core.config import load_settings
from amanah.core.db import create_engine, run_in_transaction
from amanah.core.errors import AppError
from amanah.operators.audit import Actor, AuditContext

T = TypeVar("T")

operators_app = typer.Typer(help="Operator accounts for the web back office (/backoffice).", no_args_is_help=True)


def cli_context() -> AuditContext:
    try:
        who = getpass.getuser()
    except Exception:  # no user name in this environment (some containers)
        who = "unknown"
    return AuditContext(Actor.cli(who))


def run(work: Callable[..., T]) -> T:
    """``work(connection, settings, now)`` in one transaction on an up-to-date schema."""
    settings = load_settings()
    settings.ensure_data_dir()
    engine = create_engine(settings.resolved_database_url)
    try:
        migrations.upgrade(engine)
        now = clock.now()
        return run_in_transaction(engine, lambda connection: work(connection, settings, now))
    except AppError as error:
        typer.echo(f"Error: {error.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


def _print_credentials(made, what: str) -> None:
    typer.echo(f"{what} {made.account.id} ({made.account.email}). Shown once — hand them over safely:")
    typer.echo(f"  one-time password: {made.one_time_password}   (must be changed at the first log-in)")
    typer.echo(f"  TOTP secret:       {made.totp_secret}")
    typer.echo(f"  otpauth URI:       {made.otpauth_uri}")
    typer.echo("Add the secret (or the URI) to an authenticator app; log in at /backoffice/login.")


@operators_app.command("create")
def create(email: str = typer.Argument(..., help="The operator's e-mail address (the log-in).")) -> None:
    """Create an operator account; prints a one-time password and the TOTP secret once."""
    from amanah.backoffice import actions

    made = run(lambda c, settings, now: actions.create_operator(c, cli_context(), settings, email=email, now=now))
    _print_credentials(made, "Operator")


@operators_app.command("list")
def list_operators() -> None:
    """Every operator account, oldest first."""
    from amanah.operators import service as operators

    found = run(lambda c, settings, now: operators.list_accounts(c))
    if not found:
        typer.echo("No operator accounts yet: `amanah operators create EMAIL`.")
        return
    typer.echo(f"{'id':<32}  {'e-mail':<40}  {'created':<20}  status")
    for account in found:
        status = f"disabled {account.disabled_at:%Y-%m-%d %H:%M}" if account.disabled_at else (
            "active (one-time password not yet changed)" if account.password_change_required else "active")
        typer.echo(f"{account.id:<32}  {account.email:<40}  {account.created_at:%Y-%m-%d %H:%M:%S}  {status}")


@operators_app.command("disable")
def disable(who: str = typer.Argument(..., help="The account's e-mail address or id (opr_…).")) -> None:
    """Disable an account: no more log-ins, and its sessions end at once."""
    from amanah.backoffice import actions

    account = run(lambda c, settings, now: actions.disable_operator(c, cli_context(), who, now=now))
    typer.echo(f"Disabled {account.id} ({account.email}); its sessions have ended.")


@operators_app.command("reset")
def reset(who: str = typer.Argument(..., help="The account's e-mail address or id (opr_…).")) -> None:
    """New one-time password and TOTP secret (a forgotten password, a lost phone); sessions end."""
    from amanah.backoffice import actions

    made = run(lambda c, settings, now: actions.reset_operator_credentials(c, cli_context(), settings, who,
                                                                             now=now))
    _print_credentials(made, "New credentials for")

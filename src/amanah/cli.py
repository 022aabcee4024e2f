"""The ``amanah`` command. Each sub-command is an edge: it owns its transaction."""

from __future__ import annotations

import json
import os

import typer

from amanah.core.config import load_settings
from amanah.core.db import create_engine
from amanah.core import migrate as migrations

app = typer.Typer(
    help="Amanah: a self-hostable payment system for marketplaces (wallet + escrow).",
    no_args_is_help=True,
    add_completion=False,
)
ledger_app = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
admin_keys_app = typer.Typer(help="Operator API keys (ak_…).", no_args_is_help=True)
app.add_typer(admin_keys_app, name="admin-keys")


def _engine():
    settings = load_settings()
    settings.ensure_data_dir()
    return settings, create_engine(settings.resolved_database_url)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    settings, engine = _engine()
    migrations.upgrade(engine)
    typer.echo(f"Database is up to date ({engine.url.render_as_string(hide_password=True)}).")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, max=64, help="Worker processes."),
) -> None:
    """Run the API (and, as they land, the web cabinet and background jobs), migrating first."""
    import uvicorn

    settings, engine = _engine()
    migrations.upgrade(engine)
    engine.dispose()
    typer.echo(f"Amanah serving on http://{host}:{port} (database: {engine.dialect.name})")
    uvicorn.run("amanah.api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info")


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Serve on the embedded SQLite database with demo data; prints the URLs."""
    os.environ.setdefault("AMANAH_BASE_URL", f"http://{host}:{port}")
    from amanah.core.clock import clock
    from amanah.core.db import run_in_transaction
    from amanah.operators import service as operators

    _settings, engine = _engine()
    migrations.upgrade(engine)
    _operator, operator_key = run_in_transaction(
        engine, lambda connection: operators.create_key(connection, label="demo", now=clock.now()))
    engine.dispose()
    typer.echo("Amanah demo (embedded SQLite database; demo data only)")
    typer.echo(f"  API reference (OpenAPI): http://{host}:{port}/openapi.json")
    typer.echo(f"  Health:                  http://{host}:{port}/healthz")
    typer.echo(f"  Operator key:            {operator_key}")
    typer.echo(f"  Try: curl -H 'Authorization: Bearer {operator_key}' http://{host}:{port}/v1/admin/ledger/verify")
    serve(host=host, port=port, workers=1)


@ledger_app.command("verify")
def ledger_verify(as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Recompute every balance from the journal and check the double-entry invariants.

    Exit status 0 when the books balance, 1 on any violation."""
    from amanah import ledger

    _settings, engine = _engine()
    with engine.connect() as connection:
        report = ledger.verify(connection)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2, sort_keys=True))
    else:
        _print_report(report)
    raise typer.Exit(0 if report.ok else 1)


def _print_report(report) -> None:
    typer.echo(f"Checked {report.checked_transfers} transfers on {report.checked_accounts} accounts.")
    if report.currencies:
        typer.echo(f"{'currency':<9}{'debits':>20}{'credits':>20}{'pending debits':>18}{'pending credits':>18}")
        for code, sums in report.currencies.items():
            typer.echo(f"{code:<9}{sums['debits']:>20}{sums['credits']:>20}"
                       f"{sums['debits_pending']:>18}{sums['credits_pending']:>18}")
    if report.ok:
        typer.echo("OK: every balance matches its transfers and debits equal credits in every currency.")
        return
    typer.echo(f"VIOLATIONS: {report.violations_total}", err=True)
    for message in report.violations:
        typer.echo(f"  - {message}", err=True)


@admin_keys_app.command("create")
def admin_keys_create(label: str = typer.Option("operator", help="Who or what the key is for.")) -> None:
    """Create an operator key and print it once (only its hash is stored)."""
    from amanah.core.clock import clock
    from amanah.core.db import run_in_transaction
    from amanah.operators import service as operators

    _settings, engine = _engine()
    migrations.upgrade(engine)
    operator, secret = run_in_transaction(
        engine, lambda connection: operators.create_key(connection, label=label, now=clock.now())
    )
    typer.echo(secret)
    typer.echo(f"Operator key {operator.key_id} ({label}). Store it now: it is not shown again.", err=True)


@admin_keys_app.command("revoke")
def admin_keys_revoke(key_id: str = typer.Argument(..., help="The key's id (adk_…), not the secret.")) -> None:
    """Revoke an operator key."""
    from amanah.core.clock import clock
    from amanah.core.db import run_in_transaction
    from amanah.operators import service as operators

    _settings, engine = _engine()
    run_in_transaction(engine, lambda connection: operators.revoke_key(connection, key_id, now=clock.now()))
    typer.echo(f"Revoked {key_id}.")


def main() -> None:
    app()

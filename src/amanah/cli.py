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
from amanah.fx.cli import rates_app; app.add_typer(rates_app, name="rates")  # noqa: E402,E702
from amanah.operators.cli import operators_app; app.add_typer(operators_app, name="operators")  # noqa: E402,E702
from amanah.platforms.cli import platforms_app; app.add_typer(platforms_app, name="platforms")  # noqa: E402,E702


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
    jobs: bool = typer.Option(True, "--jobs/--no-jobs",
                              help="Also run the background jobs (off when `amanah worker` runs them)."),
) -> None:
    """Run the API, the web cabinet and the background jobs, migrating the database first."""
    if not jobs:
        os.environ["AMANAH_RUN_JOBS"] = "false"
    metrics_dir = _metrics_dir(workers)
    try:
        _serve(host, port, workers)
    finally:
        if metrics_dir is not None:
            import shutil

            shutil.rmtree(metrics_dir, ignore_errors=True)


def _metrics_dir(workers: int) -> str | None:
    """With several workers, every process keeps its Prometheus values in files under
    ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` sums them. The workers inherit the variable;
    it must be set before they import prometheus_client, hence here. A directory named by the
    operator is emptied (values of an earlier run must not be added in); otherwise a fresh one
    is made, and removed (returned) when the server stops."""
    import glob
    import tempfile

    named = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if named:
        os.makedirs(named, exist_ok=True)
        for stale in glob.glob(os.path.join(named, "*.db")):
            os.remove(stale)
        return None
    if workers == 1:
        return None
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="amanah-metrics-")
    return os.environ["PROMETHEUS_MULTIPROC_DIR"]


def _serve(host: str, port: int, workers: int) -> None:
    import uvicorn

    settings, engine = _engine()
    migrations.upgrade(engine)
    engine.dispose()
    typer.echo(f"Amanah serving on http://{host}:{port} (database: {engine.dialect.name})")
    from amanah.api.observability import configure_logging

    configure_logging()
    # Our own access line (route templates, request ids) replaces uvicorn's, whose raw paths
    # and query strings could carry the tokens of e-mailed links.
    uvicorn.run("amanah.api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_config=None, access_log=False)


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    shop_port: int = typer.Option(8001, help="Port of the Demo Bazaar shop (0: do not start it)."),
) -> None:
    """Serve on the embedded SQLite database (or ``AMANAH_DATABASE_URL``'s) with demo data, and the
    Demo Bazaar shop; prints the URLs."""
    os.environ.setdefault("AMANAH_BASE_URL", f"http://{host}:{port}")
    from amanah import demo as demo_data

    settings, engine = _engine()
    migrations.upgrade(engine)
    demo = demo_data.seed(engine, settings)
    engine.dispose()
    base = f"http://{host}:{port}"
    database = "embedded SQLite database" if engine.dialect.name == "sqlite" else "PostgreSQL (AMANAH_DATABASE_URL)"
    typer.echo(f"Amanah demo — {database}, SAMPLE exchange rates, sandbox card acquirer")
    if shop_port:
        from amanah.demo_shop.app import ShopConfig, run as run_shop

        # The shop follows its orders through webhooks to its own loopback address.
        os.environ.setdefault("AMANAH_WEBHOOK_ALLOW_PRIVATE", "true")

        run_shop(ShopConfig(base, demo["platform_key"], settings.data_dir), host=host, port=shop_port, in_thread=True)
        typer.echo(f"  Demo Bazaar (the shop):  http://{host}:{shop_port}/  (buy as any new e-mail)")
    typer.echo(f"  Web cabinet:             {base}/  (log in as the buyer or the seller below)")
    typer.echo(f"  Pay the demo trade:      {base}/checkout/{demo['trade_id']}")
    typer.echo(f"  API reference (OpenAPI): {base}/openapi.json")
    typer.echo(f"  Health:                  {base}/healthz")
    typer.echo(f"  Operator key:            {demo['operator_key']}")
    typer.echo(f"  Back office:             {base}/backoffice/login  (first: `amanah operators create you@example.com`;"
               " it needs an authenticator app)")
    typer.echo(f"  Demo Bazaar platform key: {demo['platform_key']}")
    typer.echo(f"  Buyer log-in:            {demo['buyer'][0]} / {demo['buyer'][1]}")
    typer.echo(f"  Seller log-in:           {demo['seller'][0]} / {demo['seller'][1]}")
    typer.echo(f"  A trade awaiting payment: {demo['trade_id']}")
    typer.echo("  Pay it as the buyer (sandbox card 4242 4242 4242 4242):")
    typer.echo(f"    T=$(curl -s {base}/v1/auth/token -H 'content-type: application/json' "
               f"-d '{{\"email\":\"{demo['buyer'][0]}\",\"password\":\"{demo['buyer'][1]}\"}}' | "
               "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')")
    typer.echo(f"    C=$(curl -s {base}/v1/me/cards -H \"authorization: Bearer $T\" -H 'content-type: application/json' "
               "-d '{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":2030,\"cvc\":\"123\","
               "\"holder_name\":\"Dewi Lestari\"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"id\"])')")
    typer.echo(f"    curl -s {base}/v1/trades/{demo['trade_id']}/pay -H \"authorization: Bearer $T\" "
               "-H 'content-type: application/json' -d \"{\\\"source\\\":\\\"$C\\\"}\"")
    serve(host=host, port=port, workers=1, jobs=True)


@ledger_app.command("verify")
def ledger_verify(as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Recompute every balance from the journal and check the double-entry invariants.

    Exit status 0 when the books balance, 1 on any violation."""
    from amanah import ledger

    _settings, engine = _engine()
    with engine.connect() as connection:
        report = ledger.verify(connection)
    _show(report, as_json, _print_report)
    raise typer.Exit(0 if report.ok else 1)


def _show(report, as_json: bool, print_table) -> None:
    """A report as JSON (``--json``) or as the table ``print_table`` prints."""
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2, sort_keys=True))
    else:
        print_table(report)


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


@app.command()
def worker(
    metrics_port: int = typer.Option(0, min=0, max=65535,
                                     help="Serve this worker's Prometheus metrics at /metrics on this port (0: off)."),
    metrics_host: str = typer.Option("127.0.0.1", help="Address the metrics listen on."),
) -> None:
    """Run the background jobs alone (beside several API processes that share the database)."""
    from amanah.api.observability import configure_logging
    from amanah.core import jobs

    configure_logging()
    settings, engine = _engine()
    migrations.upgrade(engine)
    if metrics_port:
        # The transfers and webhook deliveries this process's jobs commit (the queues' depth is
        # the servers' /metrics business: it is read from the shared database).
        from prometheus_client import start_http_server

        from amanah.core.metrics import REGISTRY

        start_http_server(metrics_port, addr=metrics_host, registry=REGISTRY)
    typer.echo(f"Amanah worker running {len(jobs.registered())} jobs (database: {engine.dialect.name})", err=True)
    jobs.Runner(engine, settings).run_forever()


vault_app = typer.Typer(help="The card vault.", no_args_is_help=True)
app.add_typer(vault_app, name="vault")


@vault_app.command("rotate-key")
def vault_rotate_key() -> None:
    """Re-wrap every card's data key under a new key-encryption key.

    The old key stays readable until every card is re-wrapped; if interrupted, run it again
    and it finishes the rotation under way."""
    from amanah.cards import service as cards
    from amanah.cards import vault

    settings, engine = _engine()
    resuming = vault.rotation_in_progress(settings)
    typer.echo("Finishing the interrupted rotation ..." if resuming else "Rotating the vault key ...")
    total = cards.rotate_key(engine, settings, progress=lambda n: typer.echo(f"  re-wrapped {n} cards"))
    typer.echo(f"Done: {total} cards re-wrapped; the vault key is now {vault.keyring(settings).active_id}.")


@app.command("service-mode")
def service_mode_command(
    mode: str = typer.Argument(None, help="normal or wind_down; leave out to show the current mode."),
    reason: str = typer.Option(None, help="Why (kept in the history)."),
) -> None:
    """Show or set the service mode (wind_down: closed to new business, everything else works)."""
    from amanah.core import service_mode
    from amanah.core.clock import clock
    from amanah.core.db import run_in_transaction

    _settings, engine = _engine()
    migrations.upgrade(engine)
    if mode is None:
        with engine.connect() as connection:
            state = service_mode.current(connection)
    elif mode not in {m.value for m in service_mode.Mode}:
        typer.echo('The mode is "normal" or "wind_down".', err=True)
        raise typer.Exit(2)
    else:
        from amanah.backoffice import actions
        from amanah.operators.cli import cli_context

        state = run_in_transaction(engine, lambda c: actions.set_service_mode(  # audited, as "cli:<user>"
            c, cli_context(), mode=mode, reason=reason, now=clock.now()))
    since = f" since {state.changed_at.isoformat()} by {state.changed_by}" if state.changed_at else ""
    typer.echo(f"Service mode: {state.mode.value}{since}" + (f" ({state.reason})" if state.reason else ""))


report_app = typer.Typer(help="Operators' reports.", no_args_is_help=True)
app.add_typer(report_app, name="report")


@report_app.command("liabilities")
def report_liabilities(as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Per currency: what is still owed to users, in escrow, and how many users hold money."""
    from amanah.reports import liabilities

    _settings, engine = _engine()
    migrations.upgrade(engine)
    with engine.connect() as connection:
        result = liabilities.report(connection)
    _show(result, as_json, _print_liabilities)


def _print_liabilities(result) -> None:
    typer.echo(f"Service mode: {result.mode}. Amounts in minor units.")
    typer.echo(f"{'currency':<9}{'owed to users':>16}{'available':>14}{'in escrow':>14}{'withdrawing':>14}"
               f"{'holders':>9}{'open trades':>13}{'platform fees':>15}")
    for code, c in sorted(result.currencies.items()):
        typer.echo(f"{code:<9}{c.owed_to_users:>16}{c.available:>14}{c.in_escrow:>14}{c.withdrawals_under_way:>14}"
                   f"{c.users_holding_money:>9}{c.open_trades:>13}{c.owed_to_platforms:>15}")
    typer.echo(f"Users holding money: {result.users_holding_money}; open trades: {result.open_trades}.")
    typer.echo("Settled: no user holds money and no trade is open." if result.users_settled
               else "Not settled yet: the numbers above must reach zero before the service closes.")



@report_app.command("reconciliation")
def report_reconciliation(
    date: str = typer.Option(..., "--date", help="The day (UTC), YYYY-MM-DD."),
    csv_file: str | None = typer.Option(None, "--csv", help="Also write every operation of the day to this CSV file."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Match the day's ledger transfers on every clearing account against what each connector
    (card acquirer, e-wallets, payouts) says it settled. Exit status 1 on any mismatch."""
    from amanah.core.clock import clock
    from amanah.core.errors import AppError
    from amanah.reports import reconciliation

    settings, engine = _engine()
    try:
        day = reconciliation.parse_day(date, today=clock.now().date())
    except AppError as error:
        typer.echo(error.message, err=True)
        raise typer.Exit(2) from None
    report = reconciliation.reconcile(engine, settings, day)
    if csv_file:
        with open(csv_file, "w", encoding="utf-8", newline="") as out:
            out.write(reconciliation.to_csv(report))
    _show(report, as_json, _print_reconciliation)
    raise typer.Exit(0 if report.ok else 1)


def _print_reconciliation(report) -> None:
    typer.echo(f"Reconciliation of {report.day.isoformat()} (UTC)")
    for account in report.accounts:
        typer.echo(f"  {account.account_kind}:{account.connector}: {len(account.matched)} matched, "
                   f"{len(account.mismatches)} mismatched, {len(account.timing_differences)} timing differences")
        for code, totals in sorted(account.totals.items()):
            typer.echo(f"    {code}: charges {totals.charges}, refunds {totals.refunds}, payouts {totals.payouts}, "
                       f"net {totals.net} (minor units, {totals.count} operations)")
        for line in account.mismatches:
            ledger = f"{line.ledger.amount} {line.ledger.currency} {line.ledger.status}" if line.ledger else "—"
            connector = f"{line.connector.amount} {line.connector.currency} {line.connector.status}" if line.connector else "—"
            typer.echo(f"    ! {line.result}: {line.kind} {line.operation_id} (ledger: {ledger}; connector: {connector})")
    typer.echo("OK: every operation matches." if report.ok else "MISMATCHES found.", err=not report.ok)


def main() -> None:
    app()

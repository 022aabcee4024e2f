"""``amanah rates``: import, set and show exchange rates. Each command owns its transaction;
an import or a rate set by hand is written to the operators' audit log in it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import typer

from amanah.backoffice import actions
from amanah.core import limits
from amanah.core.config import load_settings
from amanah.fx import service
from amanah.operators.cli import cli_context
from amanah.operators.cli import run as run_operator_command
from amanah.fx.pricing import plain

T = TypeVar("T")

rates_app = typer.Typer(help="Exchange rates: import, set by hand, show.", no_args_is_help=True)


def _run(work: Callable[..., T]) -> T:
    """Runs ``work(connection, now)`` in one transaction on an up-to-date schema; an
    ``AppError`` becomes a message and exit status 1."""
    return run_operator_command(lambda connection, _settings, now: work(connection, now))


@rates_app.command("import")
def import_rates(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                help="An ECB eurofxref XML file (daily, 90-day or historical) or a "
                                     "CSV with the header date,base,quote,rate."),
) -> None:
    """Load rates from a file; a day already stored for a pair is replaced. All or nothing."""
    if file.stat().st_size > limits.FX_IMPORT_FILE_BYTES_MAX:
        typer.echo(f"Error: {file} is larger than {limits.FX_IMPORT_FILE_BYTES_MAX // 2**20} MiB.", err=True)
        raise typer.Exit(1)
    data = file.read_bytes()
    report = _run(lambda connection, now: actions.import_fx_rates(connection, cli_context(), data, file_name=file.name,
                                                                   now=now))
    days = f"{report.first_day} to {report.last_day}" if report.first_day else "no days"
    typer.echo(f"Imported {report.stored} rates ({report.format}) for {days}.")
    if report.skipped_currencies:
        typer.echo(f"Skipped currencies we do not hold: {', '.join(report.skipped_currencies)}.")


@rates_app.command("set")
def set_rate(
    base: str = typer.Argument(..., help="The currency priced, e.g. EUR."),
    quote: str = typer.Argument(..., help="The currency it is priced in, e.g. RUB."),
    rate: str = typer.Argument(..., help="Units of QUOTE per one BASE, e.g. 101.25."),
    on: datetime = typer.Option(None, "--date", formats=["%Y-%m-%d"], help="The day (default: today, UTC)."),
) -> None:
    """Set one rate by hand (for currencies the ECB does not publish: RUB, UAH, KZT)."""
    stored = _run(lambda connection, now: actions.set_fx_rate(
        connection, cli_context(), load_settings(), base=base, quote=quote, rate=rate,
        as_of=on.date() if on else None, now=now))
    typer.echo(f"1 {stored.base.code} = {plain(stored.rate)} {stored.quote.code} on {stored.as_of} (manual).")


@rates_app.command("show")
def show_rates(
    base: str = typer.Option("USD", "--base", help="The currency the rates are priced in."),
    on: datetime = typer.Option(None, "--date", formats=["%Y-%m-%d"], help="A past day (default: today, UTC)."),
) -> None:
    """Show every currency's mid-market rate against BASE, with its day and source."""
    settings = load_settings()
    view = _run(lambda connection, now: service.rates_for(
        connection, base, on=on.date() if on else now.date(), age_max_days=settings.fx_rate_age_max_days))
    if not view.rates:
        typer.echo(f"No rates for {view.base.code} yet: try `amanah rates import FILE`.")
        return
    typer.echo(f"1 {view.base.code} in each currency, as of {view.on}:")
    typer.echo(f"{'currency':<10}{'rate':>22}  {'as of':<12}{'source':<10}")
    for code, rate in view.rates.items():
        stale = "" if (view.on - rate.as_of).days <= settings.fx_rate_age_max_days else "  STALE: quotes refuse it"
        typer.echo(f"{code:<10}{plain(rate.shown()):>22}  {rate.as_of.isoformat():<12}"
                   f"{'+'.join(sorted(rate.sources)):<10}{stale}")


@rates_app.command("load-sample")
def load_sample() -> None:
    """Load the bundled SAMPLE rates (made up, not real) dated today, for a demo offline."""
    count = _run(lambda connection, now: service.load_sample_rates(connection, now=now))
    typer.echo(f"Loaded {count} SAMPLE rates dated today. They are made up: never price real payments with them.")

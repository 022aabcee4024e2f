"""``amanah platforms``: create a platform, rotate and revoke its keys, disable or enable it, set
its fee limit. Each command owns its transaction; every change goes through
``backoffice.actions`` and is written to the audit log as done from the command line (by the
system user running it). A secret key is printed once, alone on stdout (so it can be piped), and
never logged; everything else goes to stderr or is a table."""

from __future__ import annotations

import typer

from amanah.core import limits
from amanah.operators.cli import cli_context, run

platforms_app = typer.Typer(help="Platforms (marketplaces): their secret keys, fee limit and status.",
                            no_args_is_help=True)
keys_app = typer.Typer(help="A platform's secret keys (sk_…): rotate, list, revoke.", no_args_is_help=True)
platforms_app.add_typer(keys_app, name="keys")

PLATFORM = typer.Argument(..., help="The platform's id (plt_…).")


def _duration(seconds: int) -> str:
    if seconds == 0:
        return "at once"
    if seconds % 3600 == 0:
        return f"in {seconds // 3600} h"
    return f"in {seconds} s"


@platforms_app.command("create")
def create(name: str = typer.Argument(..., help="The marketplace's name.")) -> None:
    """Create a platform and print its secret key once (only its hash is stored)."""
    from amanah.platforms import service as platforms

    platform, secret = run(lambda c, settings, now: platforms.create_platform(c, name=name, now=now))
    typer.echo(secret)
    typer.echo(f"Platform {platform.id} ({platform.name}). Store the key now: it is not shown again.", err=True)


@keys_app.command("create")
def keys_create(
    platform_id: str = PLATFORM,
    grace_s: int = typer.Option(limits.PLATFORM_KEY_GRACE_S_DEFAULT, "--grace-s", min=0,
                                max=limits.PLATFORM_KEY_GRACE_S_MAX,
                                help="How long the platform's other keys keep working, in seconds (0: they stop "
                                     "at once)."),
) -> None:
    """Rotate: print a new secret key once; the platform's other keys end after the grace period."""
    from amanah.backoffice import actions

    made, secret = run(lambda c, settings, now: actions.rotate_platform_key(c, cli_context(), platform_id,
                                                                          grace_s=grace_s, now=now))
    typer.echo(secret)
    typer.echo(f"Key {made.id} of {platform_id}. Store it now: it is not shown again. The platform's other keys "
               f"stop working {_duration(grace_s)} ({grace_s} s).", err=True)


@keys_app.command("list")
def keys_list(platform_id: str = PLATFORM) -> None:
    """The platform's keys, newest first: id, last four characters, state (never the secret)."""
    from amanah.platforms import service as platforms

    def work(c, settings, now):
        platforms.platform_state(c, platform_id)
        return platforms.list_keys(c, platform_id, now=now, limit=limits.PAGE_LIMIT_MAX)

    found, more = run(work)
    typer.echo(f"{'id':<30}  {'ends':<6}  {'created':<19}  state")
    for key in found:
        typer.echo(f"{key.id:<30}  …{key.last4 or '????':<5}  {key.created_at:%Y-%m-%d %H:%M:%S}  {_state(key)}")
    if more:
        typer.echo(f"(the newest {len(found)} are shown)")


def _state(key) -> str:
    moment = key.revoked_at or key.expires_at
    when = f" {moment:%Y-%m-%d %H:%M:%S}" if moment else ""
    return f"{key.status.value}{' until' if key.status.value == 'expiring' else ''}{when}"


@keys_app.command("revoke")
def keys_revoke(platform_id: str = PLATFORM,
                key_id: str = typer.Argument(..., help="The key's id (pk_…, from `keys list`), not the secret.")) -> None:
    """Revoke one of the platform's keys: it is refused from the next request on."""
    from amanah.backoffice import actions

    key = run(lambda c, settings, now: actions.revoke_platform_key(c, cli_context(), platform_id, key_id, now=now))
    typer.echo(f"Revoked {key.id} of {platform_id} ({key.revoked_at:%Y-%m-%d %H:%M:%S} UTC).")


def _set_disabled(platform_id: str, disabled: bool) -> None:
    from amanah.backoffice import actions

    state = run(lambda c, settings, now: actions.set_platform_disabled(c, cli_context(), platform_id,
                                                                       disabled=disabled, now=now))
    if state.disabled_at:
        typer.echo(f"Platform {state.id} ({state.name}) is disabled since {state.disabled_at:%Y-%m-%d %H:%M:%S} "
                   "UTC: every key of it is refused.")
    else:
        typer.echo(f"Platform {state.id} ({state.name}) is enabled: its keys that are not revoked or expired work.")


@platforms_app.command("disable")
def disable(platform_id: str = PLATFORM) -> None:
    """Disable a platform: every key of it is refused until it is enabled again."""
    _set_disabled(platform_id, True)


@platforms_app.command("enable")
def enable(platform_id: str = PLATFORM) -> None:
    """Enable a disabled platform again."""
    _set_disabled(platform_id, False)


@platforms_app.command("fee-limit")
def fee_limit(platform_id: str = PLATFORM,
              bps: int = typer.Argument(..., help="The most the platform may take of a trade, in basis points "
                                                  "(3000 = 30%; 0 to 10000).")) -> None:
    """Set the most a platform may take of a trade; new trades above it are refused (fee_too_high)."""
    from amanah.backoffice import actions

    after = run(lambda c, settings, now: actions.set_platform_fee_limit(c, cli_context(), platform_id, bps_max=bps,
                                                                        now=now))
    typer.echo(f"Fee limit of {platform_id}: {after} bps ({after / 100:g}% of a trade).")

"""HTTP: the pay-from-balance endpoint under concurrent load, against the app's floor.

    .venv/bin/python benchmarks/http_pay.py [--seconds 5] [--connections 16] [--workers 2]
        [--postgres URL] [--skip-sqlite | --skip-postgres] [--group-commit both|on|off]

A real server (``uvicorn``, the app as ``amanah serve`` runs it, plus ``POST /bench/floor`` from
``benchmarks/http_app.py``: one INSERT, the framework's floor) is loaded by ``wrk`` (Debian's
package, a separate process): after a warm-up of a second per endpoint (as on a server that has
been running), the floor (before and after the pay rows: its row is the mean), then
``POST /v1/trades/{id}/pay`` with
``{"source": "balance"}``, each request paying another trade (seeded beforehand) as its buyer
with a bearer token — once without and once with an ``Idempotency-Key`` (on PostgreSQL it costs
no statement of its own: the pay endpoint's one write records the key with its answer). Per
row: requests/s, p50/p99 latency, non-2xx answers, CPU microseconds per request of the app (the
uvicorn processes) and of PostgreSQL (every ``postgres`` process; SQLite runs in the app),
steadier than requests/s on a shared machine, and the server's peak RSS (VmHWM of every
process, summed). After the run: every 2xx pay answer is one held trade, and
the books balance (``ledger.verify``). Prints a table; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
from cpu import process_tree_cpu_s, server_cpu_s  # noqa: E402
from http_app import floor_rows  # noqa: E402
from ledger_throughput import make_database  # noqa: E402

from amanah import ledger  # noqa: E402
from amanah.core import migrate  # noqa: E402
from amanah.core.clock import clock  # noqa: E402
from amanah.core.config import load_settings  # noqa: E402
from amanah.core.db import create_engine, run_in_transaction  # noqa: E402
from amanah.ledger import AccountKind, TransferRequest  # noqa: E402
from amanah.money import Money, currency  # noqa: E402
from amanah.platforms import service as platforms  # noqa: E402
from amanah.trades import service as trades  # noqa: E402
from amanah.trades.models import trades as trades_table  # noqa: E402
from amanah.users import service as users  # noqa: E402

BUYERS = 64
WARM_UP_S = 1
BALANCE_MINOR = 10**12

WRK_SCRIPT = r"""
local lines, position, counter = {}, 0, 0
local method, body = "POST", nil
function setup(thread)
  counter = counter + 1
  thread:set("index", counter - 1)
end
function init(args)
  local threads = tonumber(args[2])
  local file = args[1]
  with_key = args[3] == "key"
  if file ~= "floor" then
    local n = 0
    for line in io.lines(file) do
      if n % threads == index then table.insert(lines, line) end
      n = n + 1
    end
  end
end
function request()
  if #lines == 0 then
    return wrk.format("POST", "/bench/floor", {["Content-Type"] = "application/json"}, '{"note": "floor"}')
  end
  position = position + 1
  if position > #lines then position = 1 end  -- ran out: repeats answer 409 (counted as non-2xx)
  local trade, token = lines[position]:match("(%S+) (%S+)")
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
  if with_key then headers["Idempotency-Key"] = "bench-" .. trade end
  return wrk.format("POST", "/v1/trades/" .. trade .. "/pay", headers, '{"source": "balance"}')
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(engine, settings, trade_count: int) -> list[tuple[str, str]]:
    """A platform, a seller, BUYERS funded buyers with tokens, and trades awaiting payment."""
    now = clock.now()
    usd = currency("USD")

    def people(connection):
        platform, _key = platforms.create_platform(connection, name="Bench Bazaar", now=now)
        seller_user = users.register_user(connection, settings, email="seller@bench.example", password=secrets.token_hex(8),
                                          name="Seller", now=now)
        seller, _ = platforms.register_seller(connection, platform.id, platform_seller_id="seller",
                                              email=seller_user.email, name="Seller", now=now)
        clearing = ledger.open_account(connection, kind=AccountKind.CARD_CLEARING, owner_ref="bench", currency="USD", now=now)
        buyers = []
        for i in range(BUYERS):
            buyer = users.register_user(connection, settings, email=f"buyer{i}@bench.example",
                                        password=secrets.token_hex(8), name=f"Buyer {i}", now=now)
            wallet = ledger.open_account(connection, kind=AccountKind.USER_WALLET, owner_ref=buyer.id, currency="USD", now=now)
            ledger.create_transfer(connection, TransferRequest.direct(f"fund_{buyer.id}", debit=clearing.id, credit=wallet.id,
                                                                      amount=BALANCE_MINOR, code="topup"), now=now)
            buyers.append((buyer, users.issue_access_token(connection, buyer.id, now=now).access_token))
        return platform, seller, buyers

    platform, seller, buyers = run_in_transaction(engine, people)
    pairs: list[tuple[str, str]] = []
    for start in range(0, trade_count, 500):
        def chunk(connection, start=start):
            made = []
            for n in range(start, min(start + 500, trade_count)):
                buyer, token = buyers[n % BUYERS]
                trade, _ = trades.create_trade(connection, platform.id, trades.NewTrade(
                    out_trade_no=f"B-{n}", seller_id=seller.id, buyer_platform_user_id=buyer.id,
                    buyer_email=buyer.email, amount=Money(1999, usd), subject="Bench item"), now=now)
                made.append((trade.id, token))
            return made
        pairs.extend(run_in_transaction(engine, chunk))
    return pairs


def server_rss_peak_kib(pid: int) -> int:
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        total += int(match.group(1)) if match else 0
    return total


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def start_server(env: dict, port: int, workers: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "http_app:create", "--factory", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--no-access-log", "--log-level", "warning"],
        cwd=Path(__file__).parent, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the benchmark server did not become ready")


def wrk(port: int, script: Path, data: str, seconds: float, connections: int, key: str = "key") -> dict:
    threads = 2
    result = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}", "--", data, str(threads), key],
        check=True, capture_output=True, text=True)
    out = result.stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p50": ms("50%"), "p99": ms("99%"),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0,
    }


def run_target(label: str, url: str, options, group_commit: bool, work_dir: Path) -> list[dict]:
    data_dir = work_dir / f"data-{secrets.token_hex(3)}"
    env = {**os.environ, "AMANAH_ENV": "production", "AMANAH_DATABASE_URL": url, "AMANAH_DATA_DIR": str(data_dir),
           "AMANAH_RUN_JOBS": "false", "AMANAH_GROUP_COMMIT": "true" if group_commit else "false",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    os.environ.update({k: env[k] for k in ("AMANAH_ENV", "AMANAH_DATABASE_URL", "AMANAH_DATA_DIR")})
    settings = load_settings()
    settings.ensure_data_dir()
    engine = create_engine(url)
    migrate.upgrade(engine)
    floor_rows.create(engine, checkfirst=True)  # once, before the workers start
    per_row = int(options.seconds * options.trades_per_second)
    warm_up = options.trades_per_second * WARM_UP_S
    pairs = seed(engine, settings, 2 * (warm_up + per_row))
    files = []  # warm-up without and with a key, then the rows without and with a key
    for start, count in ((0, warm_up), (warm_up, warm_up), (2 * warm_up, per_row), (2 * warm_up + per_row, per_row)):
        files.append(work_dir / f"pay-{secrets.token_hex(3)}.txt")
        files[-1].write_text("".join(f"{t} {token}\n" for t, token in pairs[start:start + count]))
    script = work_dir / "bench.lua"
    script.write_text(WRK_SCRIPT)
    port = free_port()
    server = start_server(env, port, options.workers)
    rows = []
    try:
        # Warm-up, each endpoint alike: connections opened, statements prepared and planned,
        # the backends' caches filled, as on a server that has been running for a while.
        warm = [wrk(port, script, data, WARM_UP_S, options.connections, key)
                for data, key in (("floor", "-"), (str(files[0]), "nokey"), (str(files[1]), "key"))]
        for endpoint, data, key in (("floor (1 INSERT)", "floor", "-"), ("pay, no key", str(files[2]), "nokey"),
                                    ("pay + Idem.-Key", str(files[3]), "key"), ("floor (1 INSERT)", "floor", "-")):
            before = (process_tree_cpu_s(server.pid), server_cpu_s())
            measured = wrk(port, script, data, options.seconds, options.connections, key)
            app_s, db_s = process_tree_cpu_s(server.pid) - before[0], server_cpu_s() - before[1]
            per_request = 1e6 / max(measured["requests"], 1)
            rows.append({"database": label, "endpoint": endpoint, "group": group_commit, **measured,
                         "app_us": app_s * per_request, "db_us": db_s * per_request if label == "PostgreSQL" else None})
        rows[-2]["rss_mib"] = server_rss_peak_kib(server.pid) / 1024
        rows = [_mean_of_floors(rows[0], rows.pop()), *rows[1:]]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    with engine.connect() as connection:
        held = connection.execute(sa.select(sa.func.count()).select_from(trades_table)
                                  .where(trades_table.c.status == "held")).scalar_one()
        assert ledger.verify(connection).ok, "the books must balance after the benchmark"
    paid = {name: sum(run[name] for run in (*warm[1:], rows[-1], rows[-2])) for name in ("requests", "non_2xx")}
    # wrk counts the answers it read before the clock ran out; requests still in flight then
    # (at most one per connection) complete on the server without being counted.
    in_flight = held - (paid["requests"] - paid["non_2xx"])
    rows[-1]["held_check"] = (0 <= in_flight <= 4 * options.connections
                              or f"{held} held vs {paid['requests'] - paid['non_2xx']} 2xx")
    engine.dispose()
    return rows


def _mean_of_floors(first: dict, last: dict) -> dict:
    """The floor's row: measured before and after the pay rows, as pgbench is around the
    ledger's rows (``ledger_throughput.py``), so that the machine's drift during the run falls
    on both sides of the ratio; each figure the mean of the two runs."""
    mean = {name: (first[name] + last[name]) / 2 for name in ("rps", "p50", "p99", "app_us")}
    mean["db_us"] = None if first["db_us"] is None else (first["db_us"] + last["db_us"]) / 2
    return {**first, **mean, "requests": first["requests"] + last["requests"],
            "non_2xx": first["non_2xx"] + last["non_2xx"], "floor_range": (first["rps"], last["rps"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trades-per-second", type=int, default=1500, help="trades seeded per second of load")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--group-commit", choices=["both", "on", "off"], default="both")
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed (Debian: apt-get install wrk)")
    modes = {"both": [False, True], "on": [True], "off": [False]}[options.group_commit]
    work_dir = Path(tempfile.mkdtemp(prefix="amanah-http-bench-"))
    rows: list[dict] = []
    try:
        for group_commit in modes:
            if not options.skip_postgres:
                pg = make_database(options.postgres, "amanah_bench_http")
                rows += run_target("PostgreSQL", pg, options, group_commit, work_dir)
            if not options.skip_sqlite:
                rows += run_target("SQLite", f"sqlite:///{work_dir / secrets.token_hex(4)}.db", options, group_commit, work_dir)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    print_table(rows, options)


def print_table(rows: list[dict], options) -> None:
    print(f"\nHTTP, wrk {options.connections} connections, {options.seconds:g} s per row, "
          f"{options.workers} server workers, load average {os.getloadavg()[0]:.1f}")
    print(f"{'database':<11}{'endpoint':<18}{'group':>6}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'non-2xx':>8}"
          f"{'x floor':>8}{'app us':>7}{'db us':>6}{'peak RSS MiB':>13}  checks")
    floor = {}
    for row in rows:
        key = (row["database"], row["group"])
        if row["endpoint"].startswith("floor"):
            floor[key] = row["rps"]
        ratio = row["rps"] / floor[key]
        rss = f"{row['rss_mib']:,.0f}" if "rss_mib" in row else ""
        check = "" if "held_check" not in row else ("held = 2xx, verify ok" if row["held_check"] is True else row["held_check"])
        if "floor_range" in row:
            check = "runs before / after: {:,.0f} / {:,.0f}".format(*row["floor_range"])
        db = "-" if row["db_us"] is None else f"{row['db_us']:,.0f}"
        print(f"{row['database']:<11}{row['endpoint']:<18}{'on' if row['group'] else 'off':>6}{row['rps']:>9,.0f}"
              f"{row['p50']:>8.1f}{row['p99']:>8.1f}{row['non_2xx']:>8}{ratio:>8.2f}{row['app_us']:>7,.0f}{db:>6}"
              f"{rss:>13}  {check}")


if __name__ == "__main__":
    main()

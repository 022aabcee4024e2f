"""A pg_auto_failover formation of a test's own: a monitor and two Postgres nodes on 127.0.0.1,
each with its own port and data directory, all under one temporary directory that is removed
afterwards (``tests/private_postgres.py`` does the same for a single cluster).

    formation = Formation()
    formation.start_monitor(); formation.add_node("node1"); formation.add_node("node2")
    ... formation.kill("node1") ...
    formation.teardown()

When the tests run as root, everything runs as the ``postgres`` user (Postgres refuses root).
pg_auto_failover's timings are tuned down (``MONITOR_SETTINGS``), as
docs/operations/high-availability.md explains; its defaults take 30 s or more to fail over."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from tests import private_postgres
from tests.e2e.conftest import free_port

PG_AUTOCTL = shutil.which("pg_autoctl") or next(
    (str(path) for path in sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_autoctl"))), None)

MONITOR_SETTINGS = {
    "pgautofailover.health_check_period": 1000,  # ms; defaults 5000, 5000, 2, 2000, 20000, 30000, 10000
    "pgautofailover.health_check_timeout": 1000,
    "pgautofailover.health_check_max_retries": 1,
    "pgautofailover.health_check_retry_delay": 500,
    "pgautofailover.node_considered_unhealthy_timeout": 2000,
    "pgautofailover.primary_demote_timeout": 5000,
    "pgautofailover.startup_grace_period": 2000,
}
NETWORK_PARTITION_TIMEOUT_S = 3
"""A primary cut off from the monitor and its standby demotes itself after this long: less than
``primary_demote_timeout``, so that two primaries never take writes at once."""
FORMATION_TIMEOUT_S = 60.0
class Formation:
    """A pg_auto_failover monitor and two Postgres nodes under one temporary directory, owned
    by the ``postgres`` user when the tests run as root (Postgres refuses root)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="amanah-ha-"))
        self.account = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        if self.account is not None:
            os.chown(self.root, self.account.pw_uid, self.account.pw_gid)
        self.ports = {"monitor": free_port(), "node1": free_port(), "node2": free_port()}
        self.processes: dict[str, subprocess.Popen] = {}
        self.killed: set[str] = set()
        self.env = {
            "PATH": f"{private_postgres.bin_dir()}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(self.root), "LANG": "C.UTF-8",
            # pg_autoctl keeps its configuration and state under these: inside the root, so
            # that removing it removes everything
            "XDG_CONFIG_HOME": str(self.root / "config"), "XDG_DATA_HOME": str(self.root / "share"),
            "XDG_RUNTIME_DIR": str(self.root / "run"),
        }

    def _as_owner(self) -> dict:
        if self.account is None:
            return {}
        return {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}

    def autoctl(self, *args: str, timeout_s: float = 120) -> str:
        result = subprocess.run([PG_AUTOCTL, *args], env=self.env, cwd=self.root, capture_output=True, text=True,
                                timeout=timeout_s, **self._as_owner())
        if result.returncode != 0:
            raise RuntimeError(f"pg_autoctl {' '.join(args)}: exit {result.returncode}\n{result.stdout}\n"
                               f"{result.stderr[-3000:]}\n{self.logs()}")
        return result.stdout

    def pgdata(self, name: str) -> str:
        return str(self.root / name)

    def run(self, name: str) -> None:
        """``pg_autoctl run`` in a session of its own: the keeper and its postgres share it."""
        log = open(self.root / f"{name}.log", "a")
        self.processes[name] = subprocess.Popen([PG_AUTOCTL, "run", "--pgdata", self.pgdata(name)], env=self.env,
                                                cwd=self.root, stdout=log, stderr=subprocess.STDOUT,
                                                start_new_session=True, **self._as_owner())
        log.close()

    def start_monitor(self) -> None:
        (self.root / "run").mkdir(mode=0o700)
        if self.account is not None:
            os.chown(self.root / "run", self.account.pw_uid, self.account.pw_gid)
        self.autoctl("create", "monitor", "--pgdata", self.pgdata("monitor"), "--pgport", str(self.ports["monitor"]),
                     "--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl")
        self.run("monitor")
        self.wait(lambda: self._monitor_answers(), "the monitor to accept connections")
        engine = sa.create_engine(self.url("monitor", "pg_auto_failover"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                for name, value in MONITOR_SETTINGS.items():
                    connection.exec_driver_sql(f"ALTER SYSTEM SET {name} = {int(value)}")
                connection.exec_driver_sql("SELECT pg_reload_conf()")
        finally:
            engine.dispose()

    def monitor_uri(self) -> str:
        return f"postgres://autoctl_node@127.0.0.1:{self.ports['monitor']}/pg_auto_failover?sslmode=prefer"

    def add_node(self, name: str) -> None:
        self.autoctl("create", "postgres", "--pgdata", self.pgdata(name), "--pgport", str(self.ports[name]),
                     "--hostname", "127.0.0.1", "--listen", "127.0.0.1", "--name", name, "--dbname", "amanah",
                     "--auth", "trust", "--no-ssl", "--monitor", self.monitor_uri())
        self.autoctl("config", "set", "--pgdata", self.pgdata(name), "timeout.network_partition_timeout",
                     str(NETWORK_PARTITION_TIMEOUT_S))
        self.run(name)

    def states(self) -> dict[str, tuple[str, str]]:
        """Node name: (reported state, assigned state), as the monitor sees them."""
        nodes = json.loads(self.autoctl("show", "state", "--pgdata", self.pgdata("monitor"), "--json"))
        return {node["nodename"]: (node["current_group_state"], node["assigned_group_state"]) for node in nodes}

    def uri(self) -> str:
        """The formation's URI, as ``pg_autoctl show uri --formation default`` prints it."""
        return self.autoctl("show", "uri", "--pgdata", self.pgdata("monitor"), "--formation", "default").strip()

    def url(self, name: str, database: str = "amanah") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.ports[name]}/{database}"

    def kill(self, name: str) -> None:
        """SIGKILL to the node's keeper, postmaster and backends at once: the machine is gone."""
        os.killpg(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait(10)
        self.killed.add(name)

    def wait(self, condition, what: str, timeout_s: float = FORMATION_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if condition():
                    return
            except (RuntimeError, ValueError, KeyError, sa.exc.SQLAlchemyError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"timed out waiting for {what}\n{self.logs()}")

    def _monitor_answers(self) -> bool:
        engine = sa.create_engine(self.url("monitor", "pg_auto_failover"))
        try:
            with engine.connect() as connection:
                return connection.execute(sa.text("SELECT 1")).scalar() == 1
        finally:
            engine.dispose()

    def logs(self, characters: int = 1500) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-characters:]}"
                         for path in sorted(self.root.glob("*.log")))

    def teardown(self) -> None:
        try:
            for name, process in self.processes.items():
                if process.poll() is None:  # stop the service (and its postgres), fast
                    try:
                        subprocess.run([PG_AUTOCTL, "stop", "--pgdata", self.pgdata(name), "--fast"], env=self.env,
                                       cwd=self.root, capture_output=True, timeout=30, **self._as_owner())
                        process.wait(30)
                    except subprocess.TimeoutExpired:
                        pass
                try:  # and anything of it still running
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            for name in self.killed:  # a SIGKILLed postmaster leaves its SysV segment behind
                _remove_shared_memory(self.root / name / "postmaster.pid")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _remove_shared_memory(pid_file: Path) -> None:
    try:
        shmid = pid_file.read_text().splitlines()[6].split()[1]
    except (OSError, IndexError):
        return
    if shutil.which("ipcrm"):
        subprocess.run(["ipcrm", "-m", shmid], capture_output=True)

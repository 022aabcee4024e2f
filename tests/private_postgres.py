"""A PostgreSQL cluster of a test's own, which the test may crash and restart at will.

The shared server that the PostgreSQL pass runs on (``AMANAH_TEST_DATABASE_URL``) is used by
other runs at the same time, so no test may restart it. A test that must see the database go
away (the bank test) starts its own cluster instead: ``initdb`` into a fresh directory, a free
port on 127.0.0.1, trust authentication, ``fsync`` and ``synchronous_commit`` on (a crash must
lose nothing that was committed), and its unix socket inside its own directory.

PostgreSQL refuses to run as root, so when the tests run as root the cluster belongs to the
``postgres`` user (its directory is chowned to it and every command goes through ``runuser``).

    with private_postgres() as pg:
        url = pg.create_database("bank")
        ...
        pg.restart(mode="immediate")   # or pg.kill_postmaster(); pg.start()

The cluster is always stopped and its directory removed when the block ends.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

START_TIMEOUT_S = 60
"""Crash recovery after an immediate stop replays the WAL: give it time on a busy machine."""

SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "max_connections": "200",
    "shared_buffers": "32MB",
    "logging_collector": "off",
    "log_min_messages": "warning",
}


def bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: ``AMANAH_TEST_PG_BIN``, else Debian's newest
    /usr/lib/postgresql/N/bin, else the directory of an ``initdb`` on the PATH."""
    named = os.environ.get("AMANAH_TEST_PG_BIN")
    if named:
        return Path(named)
    def version(initdb: str) -> int:
        name = Path(initdb).parts[-3]  # /usr/lib/postgresql/<version>/bin/initdb
        return int(name) if name.isdigit() else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def available() -> bool:
    directory = bin_dir()
    if directory is None or not (directory / "initdb").exists() or not (directory / "pg_ctl").exists():
        return False
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return False
        return shutil.which("runuser") is not None
    return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivatePostgres:
    def __init__(self, *, port: int | None = None, bin_path: Path | None = None):
        self.bin = bin_path or bin_dir()
        assert self.bin is not None, "no PostgreSQL binaries found (set AMANAH_TEST_PG_BIN)"
        self.port = port or _free_port()
        # Not under pytest's tmp_path: that is root's (mode 700) and the postgres user could
        # not reach into it. /tmp is world-writable with the sticky bit.
        self.root = Path(tempfile.mkdtemp(prefix="amanah-pg-"))
        self.data_dir = self.root / "data"
        self.log_path = self.root / "postgres.log"
        self.restarts = 0
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            os.chmod(self.root, 0o700)

    # --- commands ----------------------------------------------------------------------------

    def _run(self, program: str, *args: str, timeout_s: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin / program), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, cwd="/")
        if check and result.returncode != 0:
            raise RuntimeError(f"{program} {' '.join(args)}: exit {result.returncode}\n{result.stdout}\n"
                               f"{result.stderr}\n{self.log_tail()}")
        return result

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C", "--no-instructions")
        lines = [f"{name} = {value}" for name, value in SETTINGS.items()]
        lines += [f"port = {self.port}", f"unix_socket_directories = '{self.root}'"]
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write("\n# amanah private test cluster\n" + "\n".join(lines) + "\n")

    def start(self) -> None:
        self._run("pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_path), "-w",
                  "-t", str(START_TIMEOUT_S), timeout_s=START_TIMEOUT_S + 30)

    def stop(self, mode: str = "fast") -> None:
        """``mode``: smart, fast or immediate (immediate = no checkpoint: crash recovery next start)."""
        if self.postmaster_pid() is None:
            return
        self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w", "-t", str(START_TIMEOUT_S),
                  timeout_s=START_TIMEOUT_S + 30, check=False)

    def restart(self, mode: str = "immediate") -> None:
        """Stops (by default as a crash would: no shutdown checkpoint) and starts again."""
        self._run("pg_ctl", "restart", "-D", str(self.data_dir), "-m", mode, "-l", str(self.log_path), "-w",
                  "-t", str(START_TIMEOUT_S), timeout_s=2 * START_TIMEOUT_S + 30)
        self.restarts += 1

    def kill_postmaster(self) -> None:
        """SIGKILL to the postmaster, as the OOM killer would; its backends notice and exit.
        ``start()`` then recovers from the WAL."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        # the backends exit when they see the postmaster gone; pg_ctl start refuses while
        # any of them still holds the shared memory, so wait for the lock file's pid to die
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.05)

    def crash_and_start(self) -> None:
        self.kill_postmaster()
        for _attempt in range(50):
            result = self._run("pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_path), "-w",
                               "-t", str(START_TIMEOUT_S), timeout_s=START_TIMEOUT_S + 30, check=False)
            if result.returncode == 0:
                self.restarts += 1
                return
            time.sleep(0.2)  # orphaned backends still attached to the old shared memory
        raise RuntimeError(f"PostgreSQL did not start again after a SIGKILL:\n{self.log_tail()}")

    # --- facts -------------------------------------------------------------------------------

    def postmaster_pid(self) -> int | None:
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if Path(f"/proc/{pid}").exists() else None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import sqlalchemy as sa

        admin = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return self.url(name)

    def log_tail(self, characters: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-characters:]
        except OSError:
            return ""

    def teardown(self) -> None:
        try:
            self.stop("immediate")
            pid = self.postmaster_pid()
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started cluster of its own; stopped and removed afterwards, whatever happens."""
    cluster = PrivatePostgres()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.teardown()

"""Where a benchmark's CPU goes: this process (its threads), its waited-for children (pgbench)
and the PostgreSQL server (every process named ``postgres``: backends, WAL writer, ...).

On two cores a row's throughput can never pass ``cores / (client + server)`` CPU seconds per
transfer, nor ``1 / client`` for clients that are threads of one process (one GIL): measured
per row, these say how far a target is from what the machine can give, in the same run."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def server_cpu_s() -> float:
    """CPU seconds (user + system) of the processes whose command is ``postgres``, with those of
    their children that have ended (a backend's, once the postmaster has reaped it): the server
    on this machine, so far (0 where /proc is not there, or the server is elsewhere)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        name_end = text.rindex(")")
        if text[text.index("(") + 1:name_end].startswith("postgres"):
            fields = text[name_end + 2:].split()
            total += sum(int(field) for field in fields[11:15])  # utime, stime, cutime, cstime (14-17)
    return total * _TICK_S


def process_tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) so far of a process and its living descendants (a server and
    its workers)."""
    total, pending = 0, [pid]
    while pending:
        process = pending.pop()
        try:
            text = Path(f"/proc/{process}/stat").read_text()
            children = Path(f"/proc/{process}/task/{process}/children").read_text().split()
        except OSError:  # ended meanwhile
            continue
        total += sum(int(field) for field in text[text.rindex(")") + 2:].split()[11:13])  # utime, stime
        pending += [int(child) for child in children]
    return total * _TICK_S


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """CPU seconds over a ``with`` block: ``client`` (this process and its waited-for children)
    and ``server`` (PostgreSQL)."""

    def __enter__(self) -> "CpuMeter":
        self._started = (time.process_time(), _children_cpu_s(), server_cpu_s())
        return self

    def __exit__(self, *_exc) -> None:
        process, children, server = self._started
        self.client = time.process_time() - process + _children_cpu_s() - children
        self.server = server_cpu_s() - server

    def per(self, count: float) -> tuple[float, float]:
        """Client and server CPU microseconds per item (transfer, transaction)."""
        return (1e6 * self.client / count, 1e6 * self.server / count) if count else (0.0, 0.0)

"""Counting the round trips to PostgreSQL that some code makes, as the wire sees them.

libpq traces the protocol of every connection checked out meanwhile, or beginning a transaction
(a thread's kept connection is not checked out again), each into a file of its own (``PQtrace``,
Linux), with timestamps that put the connections' round trips in order; a round trip ends with
the server's ``ReadyForQuery``. That counts what statement listeners cannot see: psycopg's own
BEGIN, COMMIT and ROLLBACK, and none of those in autocommit.

    with RoundTrips(engine) as trips:
        client.post(...)
    assert trips.count() == 3, trips.labels()
"""

from __future__ import annotations

import tempfile

from sqlalchemy import event
from sqlalchemy.engine import Engine


class RoundTrips:
    def __init__(self, engine: Engine) -> None:
        assert engine.dialect.name == "postgresql", "libpq traces PostgreSQL connections only"
        self.engine = engine
        self._files: list = []  # one per connection traced: libpq buffers each one's writes
        self._traced: dict[int, object] = {}

    def __enter__(self) -> "RoundTrips":
        event.listen(self.engine, "checkout", self._trace)
        event.listen(self.engine, "begin", self._trace_kept)  # a thread's kept connection: no checkout
        event.listen(self.engine, "checkin", self._untrace)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "checkout", self._trace)
        event.remove(self.engine, "begin", self._trace_kept)
        event.remove(self.engine, "checkin", self._untrace)
        for dbapi_connection in list(self._traced.values()):  # still checked out: stop writing here
            self._untrace(dbapi_connection, None)

    def _trace_kept(self, connection) -> None:
        self._trace(connection.connection.dbapi_connection, None, None)

    def _trace(self, dbapi_connection, _record, _proxy) -> None:
        if id(dbapi_connection) in self._traced:
            return
        file = tempfile.NamedTemporaryFile("w+", prefix="libpq_trace_", suffix=".txt")
        self._files.append(file)
        dbapi_connection.pgconn.trace(file.fileno())  # with timestamps: they order the connections
        self._traced[id(dbapi_connection)] = dbapi_connection

    def _untrace(self, dbapi_connection, _record) -> None:
        if dbapi_connection is not None and self._traced.pop(id(dbapi_connection), None) is not None:
            dbapi_connection.pgconn.untrace()  # flushes what it wrote

    def labels(self) -> list[str]:
        """One label per round trip, in the order they began (across connections): a simple
        query's text (``BEGIN``, ``COMMIT``), else the first words of the statement's SQL, or
        ``prepared`` for a statement psycopg prepared."""
        trips = []
        for file in self._files:
            trips.extend(self._trips(file.name))
        return [label for _began, label in sorted(trips)]

    @staticmethod
    def _trips(name: str) -> list[tuple[str, str]]:
        """One connection's round trips: (when its first message was sent, label)."""
        trips, last, began = [], None, None
        with open(name, errors="replace") as trace:
            for line in trace:  # an SQL text's own newlines make lines of their own: skipped
                parts = line.rstrip("\n").split("\t")
                if len(parts) < 4 or parts[1] not in ("F", "B"):  # timestamp, direction, length, message
                    continue
                when, direction, message, text = parts[0], parts[1], parts[3], "\t".join(parts[4:]).strip()
                began = began or when
                if direction == "F" and message == "Query":
                    last = text.strip('"')
                elif direction == "F" and message == "Parse":  # "name" "SQL" ...
                    last = " ".join(text.split('"', 3)[-1].split()[:3])
                elif direction == "F" and message == "Bind" and last is None:
                    last = "prepared"
                elif direction == "B" and message == "ReadyForQuery":
                    trips.append((began, last or "?"))
                    last = began = None
        return trips

    def count(self) -> int:
        return len(self.labels())

"""What an engine runs, in order, to check that a money-moving transaction calls the ledger last
(``ledger.create_linked``): its statements (first words), ``ledger`` when the ledger's
``create_transfers`` returns (the statements it runs itself are left out) and ``COMMIT``.

    with StatementOrder(engine) as order:
        client.post(...)
    order.assert_ledger_is_last()
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine

from amanah.ledger import service as ledger_service


class StatementOrder:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sent: list[str] = []
        self._in_ledger = 0

    def __enter__(self) -> "StatementOrder":
        original = self._original = ledger_service.create_transfers

        def create_transfers(*args, **kwargs):
            self._in_ledger += 1
            try:
                return original(*args, **kwargs)
            finally:
                self._in_ledger -= 1
                self.sent.append("ledger")

        ledger_service.create_transfers = create_transfers
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._commit)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._commit)
        ledger_service.create_transfers = self._original

    def _statement(self, _connection, _cursor, text, *_args) -> None:
        if not self._in_ledger:
            self.sent.append(" ".join(text.split()[:3]))

    def _commit(self, _connection) -> None:
        self.sent.append("COMMIT")

    def assert_ledger_is_last(self) -> None:
        assert "ledger" in self.sent, self.sent
        for index, label in enumerate(self.sent):
            if label == "ledger":
                assert self.sent[index + 1] == "COMMIT", self.sent

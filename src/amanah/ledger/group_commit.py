"""Group commit of ledger transfers: concurrent callers' batches applied as one.

``TransferBatcher(engine).submit(requests, now=...)`` behaves like
``run_in_transaction(engine, lambda c: create_transfers(c, requests, now=now))``, but the
requests of concurrent callers are concatenated into one ``create_transfers`` call: one lock
of the accounts (in id order, so batches never deadlock), one INSERT, one UPDATE per account
with its net change (a hot account is written once per batch, however many transfers touch
it) and one commit. Each caller gets exactly its own outcomes: a caller's requests are judged
in order, as alone, and a failing transfer fails only its own linked chain, never crossing
into another caller's requests (a caller's open chain is refused on its own, as
``create_transfers`` would refuse it). Callers are answered only after the commit.

The batch's ``now`` is the latest of its callers' ``now`` (they differ by the time the batch
waited, at most ``GROUP_COMMIT_WAIT_S``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from amanah.core import limits
from amanah.core.db import GroupCommitter
from amanah.core.errors import InvalidRequest
from amanah.ledger.service import create_transfers
from amanah.ledger.types import TransferOutcome, TransferRequest, TransferResult as R

_Payload = tuple[list[TransferRequest], datetime]


def _open_chain(requests: list[TransferRequest]) -> list[TransferOutcome]:
    """What ``create_transfers`` answers a batch ending inside a linked chain: the open chain
    is applied not at all. Only the chain's members are refused; earlier chains are applied."""
    start = len(requests)
    while start > 0 and requests[start - 1].linked:
        start -= 1
    failed = TransferOutcome(R.LINKED_EVENT_FAILED, None)
    return [failed] * (len(requests) - start - 1) + [TransferOutcome(R.LINKED_EVENT_CHAIN_OPEN, None)]


def _run(connection: Connection, payloads: Sequence[_Payload]) -> list[list[TransferOutcome]]:
    combined: list[TransferRequest] = []
    tails: list[int] = []  # per caller: requests at its end left out as an open chain
    for requests, _now in payloads:
        tail = 0
        if requests[-1].linked:
            tail = len(_open_chain(requests))
        combined.extend(requests[: len(requests) - tail])
        tails.append(tail)
    now = max(now for _requests, now in payloads)
    outcomes = create_transfers(connection, combined, now=now) if combined else []
    answers: list[list[TransferOutcome]] = []
    position = 0
    for (requests, _now), tail in zip(payloads, tails):
        applied = len(requests) - tail
        answers.append(outcomes[position : position + applied] + (_open_chain(requests) if tail else []))
        position += applied
    return answers


class TransferBatcher:
    """One per engine (and process): callers from any thread ``submit`` their transfers."""

    def __init__(self, engine: Engine, *, units_max: int = limits.GROUP_COMMIT_UNITS_MAX,
                 wait_s: float = limits.GROUP_COMMIT_WAIT_S, flushers_max: int = 1,
                 wait_when_alone: bool = False) -> None:
        self.committer = GroupCommitter(
            engine, _run, units_max=units_max, wait_s=wait_s, flushers_max=flushers_max,
            wait_when_alone=wait_when_alone, weight=lambda payload: len(payload[0]),
            weight_max=limits.GROUP_COMMIT_TRANSFERS_MAX,
        )

    def submit(self, requests: Sequence[TransferRequest], *, now: datetime) -> list[TransferOutcome]:
        """This caller's outcomes, one per request, once the batch holding them committed."""
        if not 0 < len(requests) <= limits.BATCH_TRANSFERS_MAX:
            raise InvalidRequest(f"A batch holds 1 to {limits.BATCH_TRANSFERS_MAX} transfers.")
        return self.committer.submit((list(requests), now))

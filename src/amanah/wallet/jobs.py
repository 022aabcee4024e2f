"""The wallet has no periodic work of its own yet. This module is imported by every job runner
(``core.jobs``), so a worker that settles stuck charges (``cards.recover_charges``) also knows
the top-ups' settlement handler, which registers itself when ``service.topups`` is imported."""

from amanah.wallet.service import topups as _topups  # noqa: F401  (registers @charges.on_settled("topup"))

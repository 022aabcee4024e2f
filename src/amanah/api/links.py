"""OpenAPI links: which later operations take the id an answer carries.

``POST /v1/trades`` answers a trade whose ``id`` is the ``trade_id`` of ``GET /v1/trades/{trade_id}``,
``…/pay``, ``…/confirm`` and so on. Saying so in the document lets client generators and
stateful fuzzers (schemathesis) follow a created object through its life instead of guessing
ids. A router passes ``responses=links(...)`` to its route decorator; FastAPI merges it into the
documented success response.
"""

from __future__ import annotations


def operation_ref(method: str, path: str) -> str:
    """A JSON pointer to the operation, as an URI fragment: ``/`` and ``~`` escaped (RFC 6901),
    the template's braces percent-encoded (RFC 3986)."""
    pointer = path.replace("~", "~0").replace("/", "~1").replace("{", "%7B").replace("}", "%7D")
    return f"#/paths/{pointer}/{method.lower()}"


def links(parameter: str, targets: dict[str, tuple[str, str]], *, status: int = 201,
          source: str = "$response.body#/id") -> dict:
    """``{status: {"links": …}}``: each named target ``(method, path)`` takes ``parameter``
    (a path parameter) from ``source`` in this operation's answer."""
    return {status: {"links": {name: {"operationRef": operation_ref(method, path), "parameters": {parameter: source}}
                               for name, (method, path) in targets.items()}}}


TRADE = "/v1/trades/{trade_id}"

TRADE_ACTIONS = {
    "GetTrade": ("GET", TRADE),
    "PayTrade": ("POST", f"{TRADE}/pay"),
    "ShipTrade": ("POST", f"{TRADE}/ship"),
    "ConfirmTrade": ("POST", f"{TRADE}/confirm"),
    "RefundTrade": ("POST", f"{TRADE}/refunds"),
    "DisputeTrade": ("POST", f"{TRADE}/dispute"),
    "ResolveDispute": ("POST", f"{TRADE}/dispute/resolve"),
    "CancelTrade": ("POST", f"{TRADE}/cancel"),
}
"""Every operation on one trade: what a created trade, and each step of its life, lead to."""

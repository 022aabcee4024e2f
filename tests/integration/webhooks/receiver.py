"""A real HTTP server that receives webhooks, checks their signatures with the
``standardwebhooks`` library and records them in arrival order."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool
    status: int

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """``answer(payload) -> status`` decides each reply (200 unless told otherwise)."""

    server: ThreadingHTTPServer
    secret: str | None = None
    answer: Callable[[dict], int] = lambda payload: 200
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks?source=amanah"

    def accepted(self) -> list[dict]:
        """Payloads answered 2xx, verified, in arrival order."""
        with self.lock:
            return [item.payload for item in self.received if item.verified and 200 <= item.status < 300]

    def record(self, headers: dict[str, str], body: bytes) -> int:
        try:
            Webhook(self.secret).verify(body, headers)
            verified = True
        except (WebhookVerificationError, TypeError, ValueError):
            verified = False
        status = self.answer(json.loads(body)) if verified else 400
        with self.lock:
            self.received.append(Received(headers, body, verified, status))
        return status


def start_receiver() -> Receiver:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            if len(body) < length:
                # The sender went away mid-request (httpx writes the headers and the body
                # separately; the bank test kills the delivering worker): no request arrived, as
                # for any HTTP server, and the delivery's claim runs out and it is sent again.
                self.close_connection = True
                return
            status = receiver.record({key.lower(): value for key, value in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver

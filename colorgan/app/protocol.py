"""How ``colorgan serve`` runs uvicorn: its h11 protocol, plus a deadline for request headers.

uvicorn waits for a request's headers for as long as the client keeps the socket open (its
keep-alive timeout starts only after a first answer, and any byte stops it), so a client that
sends half a request line and waits would never be answered. :class:`HeaderDeadline` gives each
request ``--upload-timeout`` seconds, from the connection (or the previous answer) to the end
of its headers; then it answers 408 and closes. The body's own limits are in receive.py.
"""
from __future__ import annotations

import asyncio
import json
import logging

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("colorgan.app")


class HeaderDeadline(H11Protocol):
    """uvicorn's h11 protocol; a request whose headers are not complete in ``deadline`` s is
    answered 408 and its connection closed."""

    deadline: float = 10.0
    _timer: asyncio.TimerHandle | None = None
    _answered = 0  # requests answered on this connection

    def _arm(self) -> None:
        self._disarm()
        self._timer = self.loop.call_later(self.deadline, self._late)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _late(self) -> None:
        self._timer = None
        if self.transport.is_closing() or (self.cycle is not None
                                           and not self.cycle.response_complete):
            return  # a request is being served: its body has its own limits
        pending, _ = self.conn.trailing_data
        if self.conn.their_state is not h11.IDLE or (self._answered and not pending):
            self.transport.close()  # the rest of a body already answered; an idle keep-alive
            return
        if pending:  # part of a request came: say why it is dropped, to the client and the log
            host = "{}:{}".format(*self.client) if self.client else "a client"
            log.warning("connection from %s sent %d bytes but no complete request headers in "
                        "%g s (--upload-timeout); answered 408", host, len(pending), self.deadline)
        body = json.dumps({"error": f"the request's headers did not arrive within "
                                    f"{self.deadline:g} s (--upload-timeout)."}).encode()
        self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                             b"content-length: %d\r\nconnection: close\r\n\r\n%s"
                             % (len(body), body))
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm()  # the headers are in: the app reads the body

    def on_response_complete(self) -> None:
        self._answered += 1
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.our_state is not h11.MUST_CLOSE:
            self._arm()  # the next request on this connection gets its own deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def uvicorn_config(app, host: str = "127.0.0.1", port: int = 7860) -> uvicorn.Config:
    """The uvicorn configuration of ``colorgan serve`` for ``create_app(...)``'s app."""
    protocol = type("HeaderDeadline", (HeaderDeadline,),
                    {"deadline": app.state.limits.upload_timeout})
    return uvicorn.Config(app, host=host, port=port, http=protocol, log_level="warning")


__all__ = ["HeaderDeadline", "uvicorn_config"]

"""Reading an upload's body so that no client can hold the server: size, idle and total limits.

Each piece of the body must arrive within ``Limits.upload_timeout`` seconds and the whole body
within ``Limits.max_upload_seconds``; a client that stalls, or sends less than its
Content-Length, is answered 408 and its upload deleted. Uploads that are still arriving have
their own slots (:class:`Arrivals`), apart from the jobs being colorized: when every slot is
taken, the upload idle the longest is stopped (408) to let a new one in, so clients that send a
byte and wait cannot lock real uploads out ("slowloris"). A client that goes away mid-upload is
one log line, not a traceback.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import ClientDisconnect

from colorgan.app.uploads import Limits, UploadError, too_large

log = logging.getLogger("colorgan.app")


class Stalled(Exception):
    """No piece of the body came in time (``"idle"``), or the slot went to another upload."""


@dataclass(eq=False)
class Arrival:
    """One upload whose body is still coming in."""

    name: str
    client: str
    last: float = field(default_factory=time.monotonic)  # when the last piece arrived
    evicted: bool = False
    deadline: asyncio.Timeout | None = None  # of the piece being waited for

    def evict(self) -> None:
        """Stop waiting for this upload now (its next piece's deadline is moved to the past)."""
        self.evicted = True
        if self.deadline is not None:
            self.deadline.reschedule(asyncio.get_running_loop().time())


class Arrivals:
    """The uploads still arriving (at most ``slots``); a new one evicts the longest idle one,
    provided it has been idle for ``min_idle`` seconds, else it is refused as busy (503)."""

    def __init__(self, slots: int = 32, min_idle: float = 0.5) -> None:
        self.slots, self.min_idle = slots, min_idle
        self.now: set[Arrival] = set()

    def enter(self, name: str, client: str) -> Arrival:
        if len(self.now) >= self.slots:
            idlest = min(self.now, key=lambda a: a.last)
            if time.monotonic() - idlest.last < self.min_idle:
                raise UploadError(f"{name}: the server is receiving {self.slots} other uploads; "
                                  "try again in a minute.", 503)
            idlest.evict()
            self.now.discard(idlest)
        arrival = Arrival(name, client)
        self.now.add(arrival)
        return arrival

    def leave(self, arrival: Arrival) -> None:
        self.now.discard(arrival)


async def _next(chunks: AsyncIterator[bytes], arrival: Arrival, timeout: float) -> bytes | None:
    """The next piece of the body (None at its end; ClientDisconnect when the client went away),
    or :class:`Stalled` saying why it did not come: 'idle' | 'evicted'."""
    try:
        async with asyncio.timeout(0 if arrival.evicted else timeout) as arrival.deadline:
            return await anext(chunks, None)
    except TimeoutError:
        raise Stalled("evicted" if arrival.evicted else "idle") from None
    finally:
        arrival.deadline = None


def _amount(size: int, declared: int | None) -> str:
    if declared is not None:
        return f"{size} of the {declared} declared bytes"
    return f"{size} byte{'s' if size != 1 else ''}"


async def save_stream(chunks: AsyncIterator[bytes], target: Path, arrival: Arrival,
                      limits: Limits, declared: int | None = None) -> int:
    """Write the request body to ``target``; refuse (and stop) as soon as it is too large,
    stalls for ``limits.upload_timeout`` s or takes longer than ``limits.max_upload_seconds``."""
    name, size = arrival.name, 0
    start = time.monotonic()
    with open(target, "wb") as f:
        while True:
            left = limits.max_upload_seconds - (time.monotonic() - start)
            try:
                chunk = await _next(chunks, arrival, max(0.0, min(limits.upload_timeout, left)))
            except ClientDisconnect:
                log.warning("upload %r from %s aborted by the client after %s", name,
                            arrival.client, _amount(size, declared))
                raise UploadError(f"{name}: the client went away after {size} bytes.") from None
            except Stalled as e:
                why = ("its slot was given to a new upload" if str(e) == "evicted" else
                       f"nothing arrived for {limits.upload_timeout:g} s (--upload-timeout)"
                       if left > limits.upload_timeout else
                       f"it took longer than {limits.max_upload_seconds:g} s "
                       "(--max-upload-seconds)")
                got = _amount(size, declared)
                log.warning("upload %r from %s stopped after %s: %s", name, arrival.client, got,
                            why)
                raise UploadError(f"{name}: the upload stalled after {got}: {why}. "
                                  "Check the connection and upload it again.", 408) from None
            if chunk is None:
                break
            arrival.last = time.monotonic()
            size += len(chunk)
            if size > limits.max_bytes:
                raise too_large(name, limits)
            f.write(chunk)
    if size == 0:
        raise UploadError(f"{name}: the file is empty (0 bytes). Choose a photo or a film.", 415)
    return size


__all__ = ["Arrival", "Arrivals", "save_stream"]

"""Threads joined by bounded queues with one stop signal, for decode -> model -> encode.

The first failure in any stage stops all of them (every hand-off polls a shared stop event),
every thread is joined, and that one error is raised once, in the caller's thread.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator

POLL = 0.1  # seconds between checks of the stop signal while a queue is full/empty
_END = object()


class Stopped(Exception):
    """Raised inside a stage when another stage failed; never leaves ``Pipeline``."""


class Pipeline:
    def __init__(self) -> None:
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    # --------------------------------------------------------------- signals
    def fail(self, error: BaseException) -> None:
        """Record the first error and stop every stage."""
        with self._lock:
            if self.error is None:
                self.error = error
        self.stop.set()

    def put(self, q: queue.Queue, item) -> None:
        while not self.stop.is_set():
            try:
                q.put(item, timeout=POLL)
                return
            except queue.Full:
                continue
        raise Stopped

    def get(self, q: queue.Queue):
        while not self.stop.is_set():
            try:
                return q.get(timeout=POLL)
            except queue.Empty:
                continue
        raise Stopped

    def start(self, name: str, fn: Callable[[], None]) -> threading.Thread:
        def run() -> None:
            try:
                fn()
            except Stopped:
                pass
            except BaseException as e:  # noqa: BLE001 - handed to the caller by __exit__
                self.fail(e)

        t = threading.Thread(target=run, name=f"colorgan-{name}", daemon=True)
        self.threads.append(t)
        t.start()
        return t

    # ---------------------------------------------------------------- stages
    def source(self, items: Iterable, depth: int = 16, name: str = "decode") -> Iterator:
        """Iterate ``items`` in a thread, up to ``depth`` ahead of the consumer."""
        q: queue.Queue = queue.Queue(maxsize=max(1, depth))

        def produce() -> None:
            for item in items:
                self.put(q, item)
            self.put(q, _END)

        self.start(name, produce)

        def consume() -> Iterator:
            while (item := self.get(q)) is not _END:
                yield item

        return consume()

    def sink(self, fn: Callable, depth: int = 16, name: str = "encode") -> Sink:
        """Call ``fn(*args)`` in a thread for every ``Sink.put(*args)``, in order."""
        q: queue.Queue = queue.Queue(maxsize=max(1, depth))

        def consume() -> None:
            while (args := self.get(q)) is not _END:
                fn(*args)

        return Sink(self, q, self.start(name, consume))

    # ------------------------------------------------------------- lifecycle
    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is not None and not isinstance(exc, Stopped):
            self.fail(exc)
        self.stop.set()  # finished or failed: no stage has anything left to do
        for t in self.threads:
            t.join(timeout=10 * POLL + 5)  # a stage stuck inside FFmpeg is left (daemon)
        if self.error is not None and self.error is not exc:
            raise self.error from None  # the first failure, once, from any stage
        return False


class Sink:
    def __init__(self, pipe: Pipeline, q: queue.Queue, thread: threading.Thread) -> None:
        self.pipe, self.q, self.thread = pipe, q, thread

    def put(self, *args) -> None:
        self.pipe.put(self.q, args)

    def close(self) -> None:
        """Wait until everything put has been handled (raises ``Stopped`` after a failure)."""
        self.pipe.put(self.q, _END)
        while self.thread.is_alive():
            self.thread.join(POLL)
        if self.pipe.error is not None:
            raise Stopped


class Prefetch:
    """Iterate ``source`` in a background thread, ``depth`` items ahead; errors re-raised here."""

    def __init__(self, source: Iterable, depth: int = 16) -> None:
        self.pipe = Pipeline()
        self.items = self.pipe.source(source, depth)

    def __iter__(self) -> Iterator:
        with self.pipe:
            yield from self.items


__all__ = ["POLL", "Pipeline", "Prefetch", "Sink", "Stopped"]

"""Inserting in the background: a worker thread inserts chunks while the caller encodes the next."""

from __future__ import annotations

import queue
import threading
import time

from harness.store.base import VectorStore


class Inserter:
    """A worker thread that inserts chunks while the caller encodes the next."""

    def __init__(self, store: VectorStore, name: str):
        self.store = store
        self.name = name
        self.seconds = 0.0
        self.error: BaseException | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._thread = threading.Thread(target=self._run, name=f"insert-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self.error is not None:
                continue
            started = time.perf_counter()
            try:
                self.store.insert(self.name, *item)
            except BaseException as exc:  # re-raised in the caller's thread
                self.error = exc
            self.seconds += time.perf_counter() - started

    def put(self, *item) -> None:
        self._raise()
        self._queue.put(item)

    def finish(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

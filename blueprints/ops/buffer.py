"""What the task history and the metrics share: a process's buffer, written
by a daemon thread every few seconds instead of on every change."""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger(__name__)


class Buffered:
    """A buffer and the thread that calls ``flush()`` every ``interval``
    seconds, started by the first ``started()``. ``flush`` keeps what it could
    not write for the next try; a forked child starts with an empty buffer
    (``clear``), since its parent writes what it had."""

    thread_name = "buffer"

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def started(self) -> None:
        if self.thread is not None:
            return
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name=self.thread_name,
                                               daemon=True)  # fmt: skip
                self.thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            try:
                self.flush()
            except Exception:  # never let the thread die: the buffer would only grow
                log.exception("%s: flush failed", self.thread_name)

    def flush(self) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        raise NotImplementedError

    def after_fork(self) -> None:
        self.lock, self.thread = threading.Lock(), None
        self.clear()

"""The request log: every ``/v1`` request while recording is on, for benchmarks that replay
"the same calls" (``/_sandbox/requests``). Off by default: nothing is kept."""

from __future__ import annotations

import threading
from typing import Any

# The headers a replay needs to be answered alike (the rest are the client's own).
KEPT_HEADERS = ("authorization", "stripe-version", "stripe-account")


class RequestLog:
    """``/v1`` requests (method, path, query, kept headers) served while recording, and how
    many of them were answered 429 (a rate limit's or a fault's)."""

    def __init__(self) -> None:
        self.recording = False
        self.refused = 0
        self._entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        """Forget what was recorded and record from now on."""
        with self._lock:
            self._entries = []
            self.refused = 0
            self.recording = True

    def stop(self) -> None:
        with self._lock:
            self.recording = False

    def record(self, method: str, path: str, query: str, headers: dict[str, str]) -> None:
        """``headers`` lower-cased (as the pipeline holds them)."""
        if not self.recording or not path.startswith("/v1/"):
            return
        entry = {
            "method": method,
            "path": path,
            "query": query,
            "headers": {k: headers[k] for k in KEPT_HEADERS if k in headers},
        }
        with self._lock:
            if self.recording:
                self._entries.append(entry)

    def answered(self, path: str, status: int) -> None:
        if status == 429 and self.recording and path.startswith("/v1/"):
            with self._lock:
                self.refused += 1

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

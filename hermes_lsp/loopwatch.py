"""How long the event loop was kept busy: a periodic timer that notes how late it fires.

A timer due every few milliseconds fires late by as long as something held the loop, so
its worst lateness is the longest stall any one document, answer or tool result caused.
It is off by default (it wakes the loop 200 times a second); ``HERMES_LSP_WATCH_LOOP=1``
turns it on, and the server then answers ``hermes/loopStats`` (used by ``hermes-lsp bench
soak``) with the figures since the previous request.
"""

from __future__ import annotations

import asyncio
import os

import attrs

WATCH_ENV = "HERMES_LSP_WATCH_LOOP"
STATS_REQUEST = "hermes/loopStats"
INTERVAL_S = 0.005


def enabled() -> bool:
    """Whether the environment asks for the watch."""
    return os.environ.get(WATCH_ENV, "") not in ("", "0")


@attrs.frozen
class LoopStats:
    """Figures since the previous reading."""

    longest_stall_ms: float
    ticks: int


class LoopWatch:
    """Measures the event loop's longest stall while it runs."""

    def __init__(self, interval: float = INTERVAL_S) -> None:
        self.interval = interval
        self._longest = 0.0
        self._ticks = 0
        self._due = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._due = loop.time() + self.interval
        self._handle = loop.call_at(self._due, self._tick)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _tick(self) -> None:
        assert self._loop is not None
        now = self._loop.time()
        self._longest = max(self._longest, now - self._due)
        self._ticks += 1
        self._due = now + self.interval
        self._handle = self._loop.call_at(self._due, self._tick)

    def take(self) -> LoopStats:
        """The longest stall (ms) and the number of ticks since the last call; starts afresh."""
        stats = LoopStats(round(self._longest * 1000, 1), self._ticks)
        self._longest, self._ticks = 0.0, 0
        return stats

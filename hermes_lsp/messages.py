"""Which ``window/showMessage`` pop-ups reach the user.

A flood of bad input (or a failure that repeats at every keystroke) must not become a
flood of pop-ups: the same message is shown at most once per ``repeat_after`` seconds,
and at most ``per_minute`` messages in any minute. What is held back goes to the log.
Replies to the user's own requests go through a gate of their own that only bounds their
rate: a request asked twice is answered twice.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

import attrs

PREFIX = "hermes-lsp: "


def with_prefix(message: str) -> str:
    """The message as the user reads it: named once, whatever the caller already wrote."""
    while message.startswith(PREFIX):
        message = message[len(PREFIX) :]
    return PREFIX + message


@attrs.define
class MessageGate:
    """Decides, message by message, whether a pop-up may be shown now."""

    repeat_after: float = 60.0
    """Seconds before the same message may be shown again."""
    per_minute: int = 5
    """Most pop-ups in any 60 seconds."""
    clock: Callable[[], float] = time.monotonic
    _last_shown: dict[str, float] = attrs.field(factory=dict, init=False)
    _recent: deque[float] = attrs.field(factory=deque, init=False)

    def allow(self, message: str) -> bool:
        """Whether ``message`` may be shown now; records it if so."""
        now = self.clock()
        while self._recent and now - self._recent[0] >= 60.0:
            self._recent.popleft()
        last = self._last_shown.get(message)
        if last is not None and now - last < self.repeat_after:
            return False
        if len(self._recent) >= self.per_minute:
            return False
        self._recent.append(now)
        self._last_shown[message] = now
        if len(self._last_shown) > 1000:
            # Forget messages whose quiet period is over: the map stays small.
            self._last_shown = {m: t for m, t in self._last_shown.items() if now - t < self.repeat_after}
        return True

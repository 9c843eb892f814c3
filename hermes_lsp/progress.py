"""``$/progress`` reporting for long work (indexing, code actions).

A :class:`ProgressReporter` creates its token lazily on first use, tolerates clients
that do not support server-initiated progress (it then just logs), and may be fed from
worker threads: every call hops onto the server's event loop. A token the server creates
is used only once the client has answered its ``window/workDoneProgress/create``: until
then what would be sent waits in order, so the client never sees progress for a token it
does not know yet.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

from lsprotocol import types

log = logging.getLogger(__name__)


class ProgressReporter:
    """One ``$/progress`` sequence: begin, reports, end."""

    def __init__(self, server: Any, title: str, token: types.ProgressToken | None = None) -> None:
        self._server = server
        self._title = title
        self._token: types.ProgressToken = token or f"hermes-{uuid.uuid4()}"
        self._given = token is not None  # a client-provided workDoneToken needs no create
        self._started = False
        self._ended = False
        self._loop = asyncio.get_event_loop()
        caps = server.client_capabilities.window
        self._supported = self._given or bool(caps and caps.work_done_progress)
        self._waiting: list[Callable[[], None]] | None = None
        """What is to be sent once the client has created the token (None: nothing waits)."""
        self._creating: asyncio.Task[None] | None = None

    # How long a client may take to answer the token's creation before progress is dropped.
    CREATE_TIMEOUT_S = 10.0

    def __call__(self, message: str | None, percentage: int | None = None) -> None:
        """Report ``message``; ``None`` ends the sequence."""
        self._loop.call_soon_threadsafe(self._send, message, percentage)

    def end(self, message: str | None = None) -> None:
        self._loop.call_soon_threadsafe(self._finish, message)

    def _send(self, message: str | None, percentage: int | None) -> None:
        if message is None:
            self._finish(None)
            return
        if self._ended or not self._supported:
            log.debug("%s: %s", self._title, message)
            return
        if not self._started:
            self._started = True
            begin = types.WorkDoneProgressBegin(
                title=self._title, message=message, percentage=percentage, cancellable=False
            )
            if not self._given:
                self._waiting = []
                self._creating = self._loop.create_task(self._create())
            self._emit(lambda: self._server.work_done_progress.begin(self._token, begin))
            return
        report = types.WorkDoneProgressReport(message=message, percentage=percentage)
        self._emit(lambda: self._server.work_done_progress.report(self._token, report))

    def _emit(self, send: Callable[[], None]) -> None:
        if self._waiting is not None:
            self._waiting.append(send)
        else:
            send()

    async def _create(self) -> None:
        try:
            await asyncio.wait_for(
                self._server.window_work_done_progress_create_async(
                    types.WorkDoneProgressCreateParams(token=self._token)
                ),
                self.CREATE_TIMEOUT_S,
            )
        except Exception as exc:  # refused, or no answer: show no progress for this work
            log.debug("%s: the client did not create a progress token (%s)", self._title, exc)
            self._supported, self._waiting = False, None
            return
        waiting, self._waiting = self._waiting or [], None
        for send in waiting:
            send()

    def _finish(self, message: str | None) -> None:
        if self._ended:
            return
        self._ended = True
        if self._started and self._supported:
            end = types.WorkDoneProgressEnd(message=message)
            self._emit(lambda: self._server.work_done_progress.end(self._token, end))

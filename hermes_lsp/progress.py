"""``$/progress`` reporting for long work (indexing, code actions).

A :class:`ProgressReporter` creates its token lazily on first use, tolerates clients
that do not support server-initiated progress (it then just logs), and may be fed from
worker threads: every call hops onto the server's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
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
            if not self._given:
                self._server.window_work_done_progress_create(
                    types.WorkDoneProgressCreateParams(token=self._token)
                )
            self._server.work_done_progress.begin(
                self._token,
                types.WorkDoneProgressBegin(
                    title=self._title, message=message, percentage=percentage, cancellable=False
                ),
            )
            return
        self._server.work_done_progress.report(
            self._token, types.WorkDoneProgressReport(message=message, percentage=percentage)
        )

    def _finish(self, message: str | None) -> None:
        if self._ended:
            return
        self._ended = True
        if self._started:
            self._server.work_done_progress.end(self._token, types.WorkDoneProgressEnd(message=message))

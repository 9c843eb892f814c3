"""Logging into the editor: records become ``window/logMessage`` at their own level.

An editor shows a language server's stderr as one undifferentiated stream (VS Code marks
every line ``[error]``). Once the connection is up, records go to the client as
``window/logMessage`` with the matching ``MessageType``, which VS Code's log channel, Neovim's
LSP log and eglot's events buffer file under the right level. Before that (or when the
client is gone) they go to the fallback handler, stderr.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import Any

from lsprotocol import types

MESSAGE_TYPES = (
    (logging.ERROR, types.MessageType.Error),
    (logging.WARNING, types.MessageType.Warning),
    (logging.INFO, types.MessageType.Info),
)

# Set while a record is being sent: logging done by the sending itself (pygls, the
# transport) must not be sent again, or one record would loop forever.
_sending: contextvars.ContextVar[bool] = contextvars.ContextVar("hermes_lsp_log_sending", default=False)


def message_type(level: int) -> types.MessageType:
    """The LSP message type for a logging level (below INFO: ``Log``)."""
    for threshold, kind in MESSAGE_TYPES:
        if level >= threshold:
            return kind
    return types.MessageType.Log


class LspLogHandler(logging.Handler):
    """Sends records to the client of ``server`` once it is connected."""

    def __init__(self, server: Any, fallback: logging.Handler) -> None:
        super().__init__()
        self._server = server
        self._fallback = fallback
        self._loop: asyncio.AbstractEventLoop | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if _sending.get() or getattr(self._server.protocol, "writer", None) is None:
            self._fallback.handle(record)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            self._loop = loop
            self._send(record)
        elif self._loop is not None and not self._loop.is_closed():
            # Another thread (a worker): the transport belongs to the event loop's thread.
            self._loop.call_soon_threadsafe(self._send, record)
        else:
            self._fallback.handle(record)

    def _send(self, record: logging.LogRecord) -> None:
        token = _sending.set(True)
        try:
            params = types.LogMessageParams(type=message_type(record.levelno), message=self.format(record))
            self._server.window_log_message(params)
        except Exception:
            self._fallback.handle(record)
        finally:
            _sending.reset(token)

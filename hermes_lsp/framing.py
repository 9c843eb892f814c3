"""Reading LSP frames (``Content-Length`` headers, then a JSON body) from a byte stream.

pygls's own reader accepts only ``Content-Length: N\\r\\n`` spelt exactly so, and one
malformed frame leaves it waiting for a header that never comes: the server is deaf for
good. This reader follows the base protocol (header names are case-insensitive, other
headers are allowed) and, when a frame is malformed, skips it, says why, and picks up at
the next header so the next good message is answered.

How it finds its way back: a raw line break cannot occur inside a JSON body (JSON escapes
them in strings), so a ``Content-Length: N`` line that ends in a raw line break is a
header wherever it appears: after garbage, after a body with no blank line before it, or
inside a body whose declared length was too long.
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import BinaryIO

import attrs

# A frame larger than this is refused (and skipped): no client sends one, and reading it
# would hold that much memory. Large documents stay well below it.
MAX_FRAME_BYTES = 256 * 1024 * 1024
# Most bytes of header lines before a blank line; real clients send one or two short lines.
MAX_HEADER_BYTES = 8192
# Reads from a pipe or socket return at most this much at a time.
READ_SIZE = 65536

_HEADER_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*:[ \t]*(.*?)[ \t]*")
_LENGTH_HEADER = re.compile(rb"content-length[ \t]*:[^\r\n]*\r?\n", re.IGNORECASE)
_LINE_END = re.compile(rb"\r?\n")
_HEADER_NAME = b"content-length"
_HEADER_START = re.compile(_HEADER_NAME, re.IGNORECASE)
# Bytes kept when skipping garbage, in case a header starts in them.
_KEEP = 64

ReadSome = Callable[[], Awaitable[bytes]]
"""Returns the next bytes available (at least one), or ``b""`` at the end of the stream."""


@attrs.frozen
class Fault:
    """A malformed frame that was skipped."""

    reason: str
    skipped: bytes
    """The bytes that were dropped (the log shows their start)."""

    def __str__(self) -> str:
        return f"skipped a malformed LSP frame ({self.reason}): {self.skipped[:80]!r}"


class FrameReader:
    """Turns a byte stream into LSP message bodies, skipping malformed frames."""

    def __init__(self, read_some: ReadSome, on_fault: Callable[[Fault], None]) -> None:
        self._read_some = read_some
        self._on_fault = on_fault
        self._buffer = bytearray()
        self._eof = False

    async def next_body(self) -> bytes | None:
        """The next message body, or None at the end of the stream."""
        while True:
            length = await self._header()
            if length is None:
                return None
            body = await self._body(length)
            if body is not None:
                return body

    async def _more(self) -> bool:
        if self._eof:
            return False
        chunk = await self._read_some()
        if not chunk:
            self._eof = True
            return False
        self._buffer += chunk
        return True

    def _skip(self, count: int, reason: str) -> None:
        skipped = bytes(self._buffer[:count])
        del self._buffer[:count]
        if skipped.strip():
            self._on_fault(Fault(reason, skipped))

    def _resync(self, reason: str, after: int) -> bool:
        """Drop everything before the next length header found from ``after`` on.

        Returns whether one was found; if not, an unfinished last line is kept, since a
        header may begin there and end in the next read.
        """
        found = _LENGTH_HEADER.search(self._buffer, after)
        if found is not None:
            self._skip(found.start(), reason)
            return True
        newline = self._buffer.rfind(b"\n")
        cut = newline + 1 if newline >= 0 else len(self._buffer) - _KEEP
        self._skip(max(after, cut), reason)
        return False

    def rescue(self, body: bytes) -> None:
        """Put back what follows a header found inside a body that turned out not to be JSON.

        A declared length a little too long swallows the start of the next frame's header,
        too short to be recognised as one while the body was read.
        """
        found = _HEADER_START.search(body)
        if found is not None:
            self._buffer[:0] = body[found.start() :]
            return
        # The body may end inside the header's name ("...}Conte"): put that start back.
        lowered = body[-len(_HEADER_NAME) :].lower()
        for size in range(len(lowered), 0, -1):
            if _HEADER_NAME.startswith(lowered[-size:]):
                self._buffer[:0] = body[-size:]
                return

    async def _header(self) -> int | None:
        """Read a header block; the declared body length, or None at the end of the stream."""
        while True:
            parsed = self._parse_header()
            if parsed is not None:
                return parsed
            if not await self._more():
                self._skip(len(self._buffer), "the stream ended inside a header")
                return None

    def _parse_header(self) -> int | None:
        """Consume one complete header block from the buffer; None until there is one."""
        length: int | None = None
        position = 0
        while True:
            end = _LINE_END.search(self._buffer, position)
            if end is None:
                if len(self._buffer) - position <= MAX_HEADER_BYTES:
                    return None  # wait for the rest of the block
                if not self._resync("a header line that never ends", position + 1):
                    return None
                length, position = None, 0
                continue
            line = bytes(self._buffer[position : end.start()])
            line_start, position = position, end.end()
            problem = None
            if not line.strip():
                if length is not None:
                    del self._buffer[:position]
                    return length
                if line_start == 0:
                    # A blank line between frames is harmless: drop it quietly.
                    del self._buffer[:position]
                    position = 0
                    continue
                problem = "a header block without Content-Length"
            elif (match := _HEADER_LINE.fullmatch(line)) is None:
                problem = "garbage where a header was expected"
            elif match.group(1).lower() == b"content-length":
                value = match.group(2)
                if not value.isdigit():
                    problem = f"Content-Length is not a number: {value[:20]!r}"
                elif not 0 < int(value) <= MAX_FRAME_BYTES:
                    problem = f"Content-Length {int(value)} is out of bounds"
                else:
                    length = int(value)
            if problem is not None:
                if not self._resync(problem, line_start + 1):
                    return None
                length, position = None, 0

    async def _body(self, length: int) -> bytes | None:
        """``length`` bytes of body, or None when the frame turned out to be malformed."""
        searched = 0
        while True:
            # A header inside the declared body means the length was too long: waiting for
            # the rest would wait for good. (A raw line break cannot occur inside JSON.)
            start = max(0, searched - _KEEP)
            # Editors send compact JSON, with no raw line break: then the (slow,
            # case-insensitive) search is not needed at all.
            found = (
                _LENGTH_HEADER.search(self._buffer, start, length)
                if self._buffer.find(b"\n", start, length) != -1
                else None
            )
            if found is not None:
                self._skip(found.start(), "Content-Length is longer than the message")
                return None
            if len(self._buffer) >= length:
                break
            searched = len(self._buffer)
            if not await self._more():
                self._skip(len(self._buffer), "the stream ended inside a message")
                return None
        body = bytes(self._buffer[:length])
        del self._buffer[:length]
        return body


def stream_reader(stream: BinaryIO, output: BinaryIO | None = None) -> ReadSome:
    """``ReadSome`` for a binary stream (stdin): whatever bytes are available, so a frame
    that declares more bytes than the client sends never blocks the server (the next
    header still arrives).

    A pipe or socket (what editors give a language server) is read by the event loop
    itself when it says the stream is readable; anything else (a terminal, a file) on a
    daemon thread. Handing each message from a thread to the loop cost about half a
    millisecond a keystroke, more when the two ran on different processors. ``output``: the
    stream the replies go to, if any (see :func:`_pipe_fd`).
    """
    loop = asyncio.get_running_loop()
    fd = _pipe_fd(stream, output)
    if fd is not None:
        return _loop_reader(loop, fd)
    queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=64)

    try:
        # The file descriptor itself: a thread blocked in a buffered read holds the buffer's
        # lock, and the interpreter aborts at exit when a daemon thread holds it.
        fd = stream.fileno()

        def read(size: int) -> bytes:
            return os.read(fd, size)
    except (OSError, ValueError, AttributeError):
        read = getattr(stream, "read1", stream.read)

    def pump() -> None:
        while True:
            try:
                chunk = read(READ_SIZE)
            except (OSError, ValueError):
                chunk = b""
            put = queue.put(chunk)
            try:
                asyncio.run_coroutine_threadsafe(put, loop).result()
            except RuntimeError:
                put.close()  # the server has stopped: the put never runs
                return
            if not chunk:
                return

    threading.Thread(target=pump, name="lsp-stdin", daemon=True).start()
    return queue.get


def _pipe_fd(stream: BinaryIO, output: BinaryIO | None) -> int | None:
    """The file descriptor of ``stream`` when it is a pipe or a socket the loop can watch,
    and not also ``output`` (one socket for both ways): reading it without blocking would
    make the replies' writes non-blocking too."""
    if sys.platform == "win32":
        return None  # the proactor loop watches no pipes
    try:
        fd = stream.fileno()
        st = os.fstat(fd)
    except (OSError, ValueError, AttributeError):
        return None
    if not (stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode)):
        return None
    try:
        out = os.fstat(output.fileno()) if output is not None else None
    except (OSError, ValueError, AttributeError):
        out = None
    if out is None:
        return fd
    return None if (out.st_dev, out.st_ino) == (st.st_dev, st.st_ino) else fd


def _loop_reader(loop: asyncio.AbstractEventLoop, fd: int) -> ReadSome:
    """Reads ``fd`` (made non-blocking) when the frame reader asks for more, waiting on the
    loop while nothing is there: no thread, and nothing read ahead of what is asked."""
    os.set_blocking(fd, False)

    async def read_some() -> bytes:
        while True:
            try:
                return os.read(fd, READ_SIZE)  # b"" at the end of the stream
            except BlockingIOError:
                pass
            except OSError:
                return b""
            ready = loop.create_future()
            loop.add_reader(fd, _wake, ready)
            try:
                await ready
            finally:
                loop.remove_reader(fd)

    return read_some


def _wake(ready: asyncio.Future[None]) -> None:
    if not ready.done():  # the loop may find the stream readable again before the reader runs
        ready.set_result(None)

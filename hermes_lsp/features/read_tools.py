"""The read-only tools the model calls during an action, and their bounds.

``read_file``, ``read_symbol``, ``list_symbols`` and ``find_references`` answer from the
index and the workspace files (with the action's pending edits applied), through
:class:`~hermes_lsp.edits.EditSet`, which admits only real paths inside the workspace that
the ignore rules do not exclude. Each answer is cut to ``limits.maxToolResultChars`` with a
note saying what was cut; files above ``index.maxFileKb`` are read by line range only;
large texts are parsed in a worker process and large files read in a thread, so a tool
never stalls the server. Any failure becomes an ``{"error": ...}`` result for the model.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import json
import logging
import os
from collections.abc import Callable
from typing import Any

from hermes_lsp.config import LimitSettings
from hermes_lsp.context.index import _pool_context
from hermes_lsp.context.syntax import Syntax
from hermes_lsp.context.types import ContextEngine
from hermes_lsp.edits import EditError, EditSet, FileTooLarge
from hermes_lsp.model.tools import ToolCall
from hermes_lsp.text import lf_breaks

log = logging.getLogger(__name__)

MAX_READ_LINES = 200
"""Most lines one ``read_file`` or ``read_symbol`` answer holds."""
MAX_REFERENCES = 30
"""Most lines one ``find_references`` answer holds (and files it reads)."""


class ReadTools:
    """Read-only tools, answered from the index and the files (with pending edits applied).

    Every result is bounded (``limits.maxToolResultChars``) and every failure, expected or not, comes
    back as an ``{"error": ...}`` result the model can act on: one bad call never fails the
    whole action.
    """

    def __init__(
        self,
        engine: ContextEngine,
        edits: EditSet,
        max_result_chars: int = LimitSettings().max_tool_result_chars,
    ) -> None:
        self.engine = engine
        self.edits = edits
        self.max_result_chars = max_result_chars
        """``limits.maxToolResultChars``: most characters of one result sent to the model."""

    async def call(self, call: ToolCall) -> Any:
        try:
            return bounded(await self._dispatch(call), self.max_result_chars)
        except (KeyError, ValueError, TypeError) as exc:
            return {"error": f"bad arguments for {call.name}: {describe_failure(exc)}"}
        except EditError as exc:
            return {"error": str(exc)}
        except Exception as exc:  # a broken cache, an exhausted memory, a bug: the model is told
            log.exception("the %s tool failed", call.name)
            return {"error": f"{call.name} failed ({describe_failure(exc)}); try another way"}

    async def _dispatch(self, call: ToolCall) -> Any:
        args = call.arguments
        if call.name == "read_file":
            path, start, end = _text_arg(args, "path"), int(args["start_line"]), int(args["end_line"])
            return await self.read_file(path, start, end)
        if call.name == "list_symbols":
            return await self.list_symbols(_text_arg(args, "path"))
        if call.name == "read_symbol":
            path = args.get("path")
            return await self.read_symbol(_text_arg(args, "name"), None if path in (None, "") else str(path))
        if call.name == "find_references":
            return self.find_references(_text_arg(args, "name"))
        return {"error": f"unknown tool {call.name}"}

    def _text(self, path: str) -> tuple[str, str]:
        state = self.edits.state(path)
        return state.rel, state.text

    async def read_file(self, path: str, start: int, end: int) -> Any:
        start = max(1, start)
        end = min(end, start + MAX_READ_LINES - 1)
        try:
            rel, text = self._text(path)
            lines = lf_breaks(text).split("\n")
            total: int | None = len(lines)
            chosen = lines[start - 1 : end]
        except FileTooLarge:
            rel = self.edits.resolve(path)
            # Reading blocks releases the GIL: a thread keeps the server answering meanwhile.
            chosen = await asyncio.to_thread(_lines_from_disk, os.path.join(self.edits.root, rel), start, end)
            total = None
        shown, cut = _numbered_within(chosen, start, self.max_result_chars - 200)
        last = start + len(shown) - 1
        result: dict[str, Any] = {
            "path": rel,
            "lines": f"{start}-{last}" + (f" of {total}" if total is not None else ""),
            "text": "\n".join(shown),
        }
        if cut:
            result["note"] = (
                f"cut at {self.max_result_chars} characters (limits.maxToolResultChars); "
                f"call read_file with start_line={last + 1} for more"
            )
        return result

    async def list_symbols(self, path: str) -> Any:
        rel, text = self._text(path)
        return await _parsed(self.edits.syntax, symbols_of, rel, text, self.max_result_chars)

    async def read_symbol(self, name: str, path: str | None = None) -> Any:
        candidates: list[tuple[str, str]] = []
        if path:
            candidates.append(self._text(path))
        else:
            for symbol in self.engine.find_symbols(name)[:5]:
                try:
                    candidates.append(self._text(symbol.path))
                except EditError:
                    continue
        for rel, text in candidates:
            found = await _parsed(self.edits.syntax, symbol_in, rel, text, name)
            if found is not None:
                return found
        return {"error": f"no definition named {name} found" + (f" in {path}" if path else "")}

    def find_references(self, name: str) -> Any:
        pieces = self.engine.find_references(name, MAX_REFERENCES)
        if not pieces:
            return {"error": f"no references to {name} found in the index"}
        return [{"path": p.path, "line": p.start_line, "text": p.text.strip()[:160]} for p in pieces]


# -- parsing for the tools, off the event loop when the file is large ------------------------

PARSE_INLINE_CHARS = 64 * 1024
"""Texts up to this size are parsed on the event loop (a few milliseconds); larger ones in
a worker process, since tree-sitter holds the GIL while it parses."""

_parse_pool: concurrent.futures.ProcessPoolExecutor | None = None
_pool_lock = asyncio.Lock()


async def _parsed(syntax: Syntax, fn: Callable[..., Any], rel: str, text: str, *args: Any) -> Any:
    """``fn(rel, text, *args)``: here with ``syntax`` (live trees first) for a small text,
    in the parse worker with its own for a large one."""
    global _parse_pool
    if len(text) <= PARSE_INLINE_CHARS:
        return fn(rel, text, *args, syntax=syntax)
    async with _pool_lock:
        if _parse_pool is None:
            # Starting the worker waits for it to import the grammars: not on the loop.
            _parse_pool = await asyncio.to_thread(_started_pool)
    pool = _parse_pool
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, fn, rel, text, *args)
    except concurrent.futures.process.BrokenProcessPool:
        if _parse_pool is pool:
            _parse_pool = None  # the worker died (killed for memory, say): the next call starts one
        raise


def _started_pool() -> concurrent.futures.ProcessPoolExecutor:
    pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=_pool_context())
    pool.submit(int).result()
    atexit.register(pool.shutdown, wait=True, cancel_futures=True)
    return pool


_worker_syntax: Syntax | None = None


def _syntax_here(syntax: Syntax | None) -> Syntax:
    """The caller's syntax service, or (in the parse worker) the worker's own."""
    global _worker_syntax
    if syntax is not None:
        return syntax
    if _worker_syntax is None:
        _worker_syntax = Syntax()
    return _worker_syntax


def symbols_of(rel: str, text: str, limit: int, syntax: Syntax | None = None) -> Any:
    """``list_symbols``'s answer, cut to ``limit`` characters where it is computed."""
    found = _syntax_here(syntax).definitions(rel, text)
    listed = [{"name": d.qualname, "kind": d.kind, "lines": f"{d.start_line}-{d.end_line}"} for d in found]
    return bounded(listed, limit)


def symbol_in(rel: str, text: str, name: str, syntax: Syntax | None = None) -> Any:
    """``read_symbol``'s answer for one file, or None when ``name`` is not defined there."""
    for d in _syntax_here(syntax).definitions(rel, text):
        if d.qualname == name or d.name == name:
            body = "\n".join(lf_breaks(text).split("\n")[d.start_line - 1 : d.end_line][:MAX_READ_LINES])
            return {"path": rel, "lines": f"{d.start_line}-{d.end_line}", "text": body}
    return None


def _text_arg(args: dict[str, Any], key: str) -> str:
    value = args[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} must be a string")
    return value


def describe_failure(exc: BaseException) -> str:
    """An exception as one line for the model: its type and the start of its message."""
    text = str(exc)
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


# One line of a file read by range is never longer than this (a minified or data file
# may be a single line of megabytes).
MAX_LINE_CHARS = 4000


def _lines_from_disk(path: str, start: int, end: int) -> list[str]:
    """Lines ``start``-``end`` (1-based) of a file of any size, each cut to size.

    The file is read in blocks and newlines are counted in C, so reaching line 3,000,000 of
    a 50 MB file costs a few tens of milliseconds and memory for one block.
    """
    chosen: list[str] = []
    number = 1  # the line the read position is in
    line = bytearray()
    try:
        with open(path, "rb") as fh:
            while number <= end:
                block = fh.read(READ_BLOCK)
                if not block:  # the end: what follows the last newline is a line too
                    if number >= start:
                        chosen.append(_decoded(line))
                    break
                at = 0
                if number < start:
                    count = block.count(b"\n")
                    if number + count < start:
                        number += count
                        continue
                    for _ in range(start - number):
                        at = block.index(b"\n", at) + 1
                    number = start
                while number <= end:
                    newline = block.find(b"\n", at)
                    stop = len(block) if newline == -1 else newline
                    room = MAX_LINE_CHARS * 4 - len(line)  # UTF-8: at most 4 bytes a character
                    if room > 0:
                        line += block[at : min(stop, at + room)]
                    if newline == -1:
                        break
                    chosen.append(_decoded(line))
                    line.clear()
                    number += 1
                    at = newline + 1
    except OSError as exc:
        raise EditError(f"{path} cannot be read ({exc.strerror})") from exc
    return chosen


READ_BLOCK = 1 << 20


def _decoded(line: bytearray) -> str:
    return line.decode("utf-8", "replace").rstrip("\r")[:MAX_LINE_CHARS]


def _numbered_within(lines: list[str], start: int, budget: int) -> tuple[list[str], bool]:
    """Numbered lines while they fit in ``budget`` characters; whether some were cut."""
    shown: list[str] = []
    used = 0
    for number, line in enumerate(lines, start):
        row = f"{number:>5}  {line[:MAX_LINE_CHARS]}"
        if used + len(row) + 1 > budget:
            if not shown:  # one enormous line: show its start rather than nothing
                shown.append(row[: max(0, budget)])
            return shown, True
        shown.append(row)
        used += len(row) + 1
    return shown, False


def bounded(content: Any, limit: int, why: str = "") -> Any:
    """``content`` cut so that its JSON fits in ``limit`` characters, saying what was cut and
    ``why`` (by default: ``limits.maxToolResultChars``)."""
    size = len(json.dumps(content, ensure_ascii=False))
    if size <= limit:
        return content
    note = f"cut to fit {why or f'limits.maxToolResultChars ({limit} characters)'}"
    if isinstance(content, list):
        kept: list[Any] = []
        used = 100
        for item in content:
            used += len(json.dumps(item, ensure_ascii=False)) + 2
            if used > limit:
                break
            kept.append(item)
        return {"items": kept, "note": f"{len(kept)} of {len(content)} shown; {note}"}
    if isinstance(content, dict) and isinstance(content.get("text"), str):
        cut = {**content, "note": note}
        while size > limit and cut["text"]:  # escapes make JSON longer than the text: repeat
            text = cut["text"]
            cut["text"] = text[: max(0, len(text) - (size - limit) - 200)]
            size = len(json.dumps(cut, ensure_ascii=False))
        if size <= limit:
            return cut
    return {"error": f"the result was too large to send ({size} characters); {note}"}

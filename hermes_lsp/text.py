"""Positions, offsets and position encodings.

LSP positions count code units of the encoding negotiated at ``initialize`` (UTF-16
unless the client offers UTF-8 or UTF-32); Python strings count code points. Everything
inside the server works on code-point offsets into the document text; these functions
convert at the edges. Positions past the end of a line or of the document are clamped
(the protocol says so), and the caller is told, so that it can log it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import attrs
from lsprotocol import types

Encoding = Literal["utf-8", "utf-16", "utf-32"]


def code_units(text: str, encoding: str) -> int:
    """Length of ``text`` in code units of ``encoding``."""
    if encoding == "utf-32" or text.isascii():
        return len(text)
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _index_of_units(line: str, units: int, encoding: str) -> int:
    """Code-point index in ``line`` of the ``units``-th code unit (clamped to the line)."""
    if encoding == "utf-32" or line.isascii():
        return min(units, len(line))
    count = 0
    for index, ch in enumerate(line):
        cp = ord(ch)
        if encoding == "utf-8":
            step = 1 if cp < 0x80 else 2 if cp < 0x800 else 3 if cp < 0x10000 else 4
        else:
            step = 2 if cp > 0xFFFF else 1
        # A position inside a character's code units (half a surrogate pair) snaps back.
        if count + step > units:
            return index
        count += step
    return len(line)


def line_start(text: str, line: int) -> int | None:
    """Offset where ``line`` (0-based) starts, or None past the last line."""
    if line == 0:
        return 0
    # One split in C instead of a Python loop of ``line`` searches: this runs several
    # times per keystroke, at the cursor's line of files thousands of lines long.
    parts = text.split("\n", line)
    if len(parts) <= line:
        return None
    return len(text) - len(parts[-1])


@attrs.frozen
class Located:
    """An offset, and whether the position had to be clamped to get it."""

    offset: int
    clamped: bool


def offset_at(text: str, line: int, character: int, encoding: str = "utf-16") -> Located:
    """Code-point offset of an LSP position in ``text``."""
    if line < 0 or character < 0:
        return Located(0, True)
    start = line_start(text, line)
    if start is None:
        return Located(len(text), True)
    end = text.find("\n", start)
    if end == -1:
        end = len(text)
    if end > start and text[end - 1] == "\r":
        end -= 1
    content = text[start:end]
    index = _index_of_units(content, character, encoding)
    clamped = code_units(content[:index], encoding) != character
    return Located(start + index, clamped)


def position_at(text: str, offset: int, encoding: str = "utf-16") -> tuple[int, int]:
    """LSP (line, character) of a code-point offset in ``text``."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset)
    start = text.rfind("\n", 0, offset) + 1
    return line, code_units(text[start:offset], encoding)


def line_at(text: str, offset: int) -> tuple[str, str]:
    """The current line split at ``offset``: (text before, text after) on that line."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    end = len(text) if end == -1 else end
    return text[start:offset], text[offset:end].rstrip("\r")


def common_ends(old: str, new: str) -> tuple[int, int]:
    """Lengths of the longest common prefix and (non-overlapping) suffix of two texts."""
    limit = min(len(old), len(new))
    prefix = _longest(lambda n: old[:n] == new[:n], limit)
    suffix = _longest(lambda n: old[len(old) - n :] == new[len(new) - n :], limit - prefix)
    return prefix, suffix


def _longest(holds: Callable[[int], bool], limit: int) -> int:
    """The largest n <= limit for which ``holds(n)``, given that it holds up to some point.

    A binary search over slice comparisons (done in C) instead of a character loop in
    Python: a few microseconds instead of milliseconds on a large file.
    """
    low, high = 0, limit
    while low < high:
        middle = (low + high + 1) // 2
        if holds(middle):
            low = middle
        else:
            high = middle - 1
    return low


def apply_edit(text: str, range_: types.Range, new_text: str, encoding: str = "utf-16") -> str:
    """``text`` with an LSP range (positions in ``encoding`` units, clamped) replaced."""
    start = offset_at(text, range_.start.line, range_.start.character, encoding).offset
    end = offset_at(text, range_.end.line, range_.end.character, encoding).offset
    return text[:start] + new_text + text[max(start, end) :]

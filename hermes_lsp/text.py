"""Positions, offsets and position encodings.

LSP positions count code units of the encoding negotiated at ``initialize`` (UTF-16
unless the client offers UTF-8 or UTF-32); Python strings count code points. Everything
inside the server works on code-point offsets into the document text; these functions
convert at the edges. Positions past the end of a line or of the document are clamped
(the protocol says so), and the caller is told, so that it can log it.

A line ends at ``\n``, ``\r\n`` or a lone ``\r`` (the protocol's three line endings), in
every conversion here. They look for line endings near the position only, so a keystroke
costs what it did before whatever the file's endings. What needs a whole text's lines
(tree-sitter, line lists) takes :func:`lf_breaks`'s view of it: each line ending a ``\n``,
at the very same offsets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

import attrs

if TYPE_CHECKING:
    # Annotations only: lsprotocol takes a quarter of a second to import, and commands that
    # never talk to an editor (``hermes-lsp index``) use this module too.
    from lsprotocol import types

Encoding = Literal["utf-8", "utf-16", "utf-32"]


_LONE_CR = re.compile(r"\r(?!\n)")

# The last text that had a \r, and its view: the parse, the line list and the definitions
# of one text each ask for it, and a rewrite is a copy of the whole text.
_last_lf: tuple[str, str] = ("", "")


def lf_breaks(text: str) -> str:
    """``text`` with each lone ``\r`` (a line ending on its own) replaced by ``\n``.

    The result has the same length, the same offsets and the same UTF-8 byte offsets, and
    its lines (split at ``\n``, a ``\r\n``'s ``\r`` stripped) are the protocol's lines of
    ``text``. A text without a lone ``\r`` is returned as is (found by scans in C).
    """
    global _last_lf
    if "\r" not in text:
        return text
    known, done = _last_lf
    if known is text:
        return done
    done = text if text.count("\r") == text.count("\r\n") else _LONE_CR.sub("\n", text)
    _last_lf = (text, done)
    return done


_LONE_CR_BYTES = re.compile(rb"\r(?!\n)")


def lf_breaks_bytes(data: bytes) -> bytes:
    """:func:`lf_breaks` for a file's bytes (as read from disk, before decoding)."""
    if b"\r" not in data or data.count(b"\r") == data.count(b"\r\n"):
        return data
    return _LONE_CR_BYTES.sub(b"\n", data)


def split_lines(text: str) -> list[str]:
    """The protocol's lines of ``text``, without their line endings."""
    return [line.removesuffix("\r") for line in lf_breaks(text).split("\n")]


def code_units(text: str, encoding: str) -> int:
    """Length of ``text`` in code units of ``encoding``."""
    if encoding == "utf-32" or text.isascii():
        return len(text)
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def utf8(text: str) -> bytes:
    """``text`` encoded for the world outside the process (HTTP bodies, byte counts).

    Editors may send a lone UTF-16 surrogate (a JSON ``"\\ud800"``); the document keeps it
    as the editor has it, and only what leaves the process has it replaced with U+FFFD.
    """
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate survives UTF-16 with surrogatepass and is replaced when decoded.
        repaired = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        return repaired.encode("utf-8")


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


@attrs.frozen(eq=False)
class LineMark:
    """A line known to start at ``offset`` in ``text`` (the very string object).

    Typing happens in one place, so the next position asked for is near the last one:
    starting the search from a mark makes finding a line cost the distance between
    them, not the length of the document. The mark holds its text, so it can never be
    mistaken for a mark of another text that happens to reuse the same memory.
    """

    text: str
    line: int
    offset: int


def line_ending_after(text: str, start: int) -> tuple[int, int] | None:
    """(start, end) of the first line ending at or after ``start``, or None on the last line.

    The search for a ``\r`` stops at the next ``\n``: in a file without lone ``\r`` it
    costs one line, not the rest of the document.
    """
    newline = text.find("\n", start)
    cr = text.find("\r", start, len(text) if newline == -1 else newline)
    if cr != -1:
        return cr, newline + 1 if newline == cr + 1 else cr + 1
    return None if newline == -1 else (newline, newline + 1)


def line_start(text: str, offset: int) -> int:
    """Offset where the line holding ``offset`` starts.

    Between the ``\r`` and the ``\n`` of a ``\r\n`` is no position of the protocol's;
    there, as everywhere, the answer is the one tree-sitter gets from :func:`lf_breaks`'s
    view (the ``\r`` ends nothing yet).
    """
    newline = text.rfind("\n", 0, offset)
    cr = text.rfind("\r", newline + 1, offset)
    if cr != -1 and cr == offset - 1 and text.startswith("\n", offset):
        cr = text.rfind("\r", newline + 1, cr)
    return max(newline, cr) + 1


def line_number(text: str, offset: int) -> int:
    """0-based line of ``offset``: line endings before it, counted in C."""
    newlines = text.count("\n", 0, offset)
    cr = text.find("\r", 0, offset)  # most texts have none: one scan, and no counting
    if cr == -1:
        return newlines
    return newlines + text.count("\r", cr, offset) - text.count("\r\n", cr, offset + 1)


def line_offset(text: str, line: int, mark: LineMark | None = None) -> int | None:
    """Offset where ``line`` (0-based) starts, or None past the last line."""
    from_line, start = 0, 0
    if mark is not None and mark.text is text:
        if line >= mark.line:
            from_line, start = mark.line, mark.offset
        elif line > mark.line // 2:
            # Nearer the mark than the top: walk back from it, one line ending at a time.
            start = mark.offset
            for _ in range(mark.line - line):
                start = line_start(text, start - (2 if text.startswith("\r\n", start - 2) else 1))
            return start
    if from_line == 0 and line > 0:
        # One split in C instead of a Python loop of ``line`` searches: with no mark to
        # start from, this runs at the cursor's line of files thousands of lines long. It
        # is right as long as no lone \r comes before the line (two more scans in C).
        parts = text.split("\n", line)
        found = None if len(parts) <= line else len(text) - len(parts[-1])
        end = len(text) if found is None else found
        cr = text.find("\r", 0, end)
        if cr == -1 or text.count("\r", cr, end) == text.count("\r\n", cr, end):
            return found
    for _ in range(line - from_line):
        ending = line_ending_after(text, start)
        if ending is None:
            return None
        start = ending[1]
    return start


@attrs.frozen
class Located:
    """An offset, and whether the position had to be clamped to get it."""

    offset: int
    clamped: bool


def offset_at(
    text: str, line: int, character: int, encoding: str = "utf-16", mark: LineMark | None = None
) -> Located:
    """Code-point offset of an LSP position in ``text``.

    A character past the end of its line means the end of the line (the protocol says
    so); a line past the last one means the end of the document.
    """
    if line < 0 or character < 0:
        return Located(0, True)
    start = line_offset(text, line, mark)
    if start is None:
        return Located(len(text), True)
    ending = line_ending_after(text, start)
    content = text[start : len(text) if ending is None else ending[0]]
    index = _index_of_units(content, character, encoding)
    clamped = code_units(content[:index], encoding) != character
    return Located(start + index, clamped)


def position_at(text: str, offset: int, encoding: str = "utf-16") -> tuple[int, int]:
    """LSP (line, character) of a code-point offset in ``text``."""
    offset = max(0, min(offset, len(text)))
    return line_number(text, offset), code_units(text[line_start(text, offset) : offset], encoding)


def line_at(text: str, offset: int) -> tuple[str, str]:
    """The current line split at ``offset``: (text before, text after) on that line."""
    ending = line_ending_after(text, offset)
    end = len(text) if ending is None else ending[0]
    return text[line_start(text, offset) : offset], text[offset:end]


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


class InvalidChange(ValueError):
    """A ``didChange`` edit the protocol does not allow; nothing of its notification is applied."""


@attrs.frozen
class Splice:
    """One replacement, in code-point offsets of the text it was applied to."""

    start: int
    end: int
    text: str


@attrs.frozen(eq=False)
class Changed:
    """A text after a ``didChange`` notification, and how it got there."""

    text: str
    splices: tuple[Splice, ...]
    """In order; each one's offsets are into the text the previous ones produced."""
    mark: LineMark | None
    """Where the last change started (speeds up the next lookup near it)."""


def _position(position: types.Position) -> tuple[int, int]:
    return position.line, position.character


def apply_changes(
    text: str,
    changes: Sequence[types.TextDocumentContentChangeEvent],
    encoding: str,
    mark: LineMark | None = None,
) -> Changed:
    """Apply a notification's changes, in order, the way the protocol defines them.

    A character past the end of its line is the end of that line; a line past the end
    of the document is its end. A range that starts after it ends raises
    :class:`InvalidChange` and nothing is applied. Each change costs the distance from
    the previous change (lines are found from ``mark``) plus one copy of the text.
    """
    splices: list[Splice] = []
    for number, change in enumerate(changes, 1):
        if getattr(change, "range", None) is None:  # the protocol's whole-document change
            splices.append(Splice(0, len(text), change.text))
            text, mark = change.text, None
            continue
        start, end = change.range.start, change.range.end
        if _position(start) > _position(end):
            raise InvalidChange(
                f"change {number} of {len(changes)} has a range that starts (line {start.line}, "
                f"character {start.character}) after it ends (line {end.line}, character {end.character})"
            )
        line = line_offset(text, start.line, mark)
        if line is not None:
            mark = LineMark(text, start.line, line)
        s = offset_at(text, start.line, start.character, encoding, mark).offset
        e = offset_at(text, end.line, end.character, encoding, mark).offset
        splices.append(Splice(s, e, change.text))
        text = text[:s] + change.text + text[e:]
        # A lone \r ending the line above and a \n now after it are one line ending: the
        # line starts one later, so the mark is dropped rather than kept wrong.
        merged = line is not None and line > 0 and text[line - 1 : line + 1] == "\r\n"
        mark = LineMark(text, start.line, line) if line is not None and not merged else None
    return Changed(text, tuple(splices), mark)

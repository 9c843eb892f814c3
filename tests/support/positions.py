"""A reference model of LSP positions, written from the protocol's wording and nothing else.

A line ends at ``\\n``, ``\\r\\n`` or ``\\r``; a character counts code units of the
position encoding; a character past its line's end means the end of the line, and a line
past the document's end means the end of the document. Character by character and slow on
purpose: tests compare the server's fast arithmetic with it.
"""

from __future__ import annotations

from collections.abc import Iterable

Edit = tuple[tuple[int, int], tuple[int, int], str]
"""(line, character) where it starts, where it ends, and the new text."""


def protocol_lines(text: str) -> list[tuple[int, int]]:
    """(start, end of content) of each line."""
    lines, start, i = [], 0, 0
    while i < len(text):
        if text[i] in "\r\n":
            lines.append((start, i))
            i += 2 if text[i : i + 2] == "\r\n" else 1
            start = i
        else:
            i += 1
    lines.append((start, len(text)))
    return lines


def width(ch: str, encoding: str) -> int:
    """Code units of one character."""
    if encoding == "utf-8":
        return len(ch.encode("utf-8"))
    if encoding == "utf-16":
        return 2 if ord(ch) > 0xFFFF else 1
    return 1


def reference_offset(text: str, line: int, character: int, encoding: str = "utf-16") -> int:
    """Offset of a position, clamped to the line's content and to the document."""
    lines = protocol_lines(text)
    if line >= len(lines):
        return len(text)
    start, end = lines[line]
    units = 0
    for i in range(start, end):
        step = width(text[i], encoding)
        if units + step > character:
            return i
        units += step
    return end


def reference_apply(text: str, edits: Iterable[Edit], encoding: str = "utf-16") -> str:
    """Apply edits one after another, each in positions of the text the previous one left."""
    for start, end, new in edits:
        s, e = reference_offset(text, *start, encoding), reference_offset(text, *end, encoding)
        text = text[:s] + new + text[e:]
    return text

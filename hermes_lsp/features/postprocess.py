"""Turning a model's answer into ghost text that fits where the cursor is.

Pure functions, so they are cheap to test: the same rules run on the final answer and on
every partial answer while it streams, which lets the server close the stream as soon as
the useful part has arrived.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from hermes_lsp.model.hermes import clean_completion
from hermes_lsp.text import line_at

_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {v: k for k, v in _OPENERS.items()}
# Node types (from the tree-sitter grammars) inside which only one line makes sense.
_SINGLE_LINE_NODES = ("string", "comment", "template_string", "heredoc", "raw_string", "char_literal")
# Line endings that open a block: a new line after them wants a body.
_BLOCK_OPENERS = (":", "{", "(", "[", "=>", "->", " do", " then")


def decide_multiline(text: str, offset: int, mode: str, node_types: Sequence[str] = ()) -> bool:
    """Whether the completion at ``offset`` may span several lines.

    ``node_types`` are the syntax nodes around the cursor, innermost first, when the
    document's language is known.
    """
    if mode in ("always", "never"):
        return mode == "always"
    before, after = line_at(text, offset)
    if after.strip():
        return False  # mid-line: finish this line only
    if any(t.endswith(_SINGLE_LINE_NODES) for t in node_types[:3]):
        return False
    stripped = before.rstrip()
    return not stripped.strip() or stripped.endswith(_BLOCK_OPENERS)


@attrs.frozen
class Processed:
    """A post-processed completion."""

    text: str
    truncated: bool
    """A rule cut the answer short: whatever the model says next is not needed."""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _open_brackets(line: str) -> list[str]:
    """Brackets left open in ``line`` (a rough scan: quotes are skipped, not parsed)."""
    stack: list[str] = []
    _scan(line, stack)
    return stack


def _scan(text: str, stack: list[str]) -> int | None:
    """Push and pop brackets of ``text`` on ``stack``; the index of a closer with no opener."""
    quote: str | None = None
    escaped = False
    for index, ch in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote or ch == "\n":
                quote = None
            continue
        if ch in "\"'`":
            quote = ch
        elif ch in _OPENERS:
            stack.append(ch)
        elif ch in _CLOSERS:
            if not stack or stack[-1] != _CLOSERS[ch]:
                return index
            stack.pop()
    return None


def _unmatched_closers(text: str) -> int:
    """How many closing brackets in ``text`` close something opened before it."""
    count = 0
    while (index := _scan(text, [])) is not None:
        count += 1
        text = text[index + 1 :]
    return count


def _cut_unbalanced(text: str, before: str, rest_of_line: str) -> tuple[str, bool]:
    """Cut at the first closing bracket that has nothing to close.

    The completion may close brackets opened earlier on the line, except those that the
    text after the cursor already closes.
    """
    stack = _open_brackets(before)
    closed_after = _unmatched_closers(rest_of_line)
    if closed_after:
        del stack[-closed_after:]
    index = _scan(text, stack)
    return (text, False) if index is None else (text[:index], True)


def _strip_echoed_line_start(text: str, before: str) -> str:
    """Drop a repeat of the current line's start, which chat models often echo."""
    if before and text.startswith(before):
        return text[len(before) :]
    head = before.lstrip()
    if len(head) >= 3 and text.lstrip().startswith(head):
        return text.lstrip()[len(head) :]
    return text


def postprocess(answer: str, prefix: str, suffix: str, *, multiline: bool, max_lines: int = 16) -> Processed:
    """Clean ``answer`` (raw model text) into the text to insert between prefix and suffix."""
    text = clean_completion(answer)
    before, _ = line_at(prefix, len(prefix))
    rest_of_line = suffix.split("\n", 1)[0].rstrip("\r")
    text = _strip_echoed_line_start(text, before)
    truncated = False

    if not multiline:
        newline = text.find("\n")
        if newline != -1:
            if text[:newline].strip():
                text, truncated = text[:newline], True
            else:
                # A single-line slot answered with a new line: nothing to show.
                return Processed("", True)
    else:
        text, truncated = _cut_at_block_end(text, before, suffix, max_lines)

    # The model repeated what already follows the cursor on this line.
    tail = rest_of_line.strip()
    if tail and text.rstrip().endswith(tail):
        text = text.rstrip()[: -len(tail)]
    text, cut = _cut_unbalanced(text, before, rest_of_line)
    truncated = truncated or cut
    text = "\n".join(line.rstrip() for line in text.split("\n")) if multiline else text.rstrip()
    return Processed(text.rstrip("\n") if multiline else text, truncated)


def _cut_at_block_end(text: str, before: str, suffix: str, max_lines: int) -> tuple[str, bool]:
    lines = text.split("\n")
    # The enclosing block is the one the cursor line sits in: a later line indented less
    # than the cursor line belongs to the code around it, not to this completion.
    floor = _indent(before) if before.strip() else len(before.expandtabs(4))
    next_code = next((ln.strip() for ln in suffix.split("\n")[1:] if ln.strip()), "")
    kept: list[str] = [lines[0]]
    for line in lines[1:]:
        if len(kept) >= max_lines:
            return "\n".join(kept), True
        if line.strip():
            if _indent(line.expandtabs(4)) < floor:
                return "\n".join(kept), True
            if len(next_code) >= 4 and line.strip() == next_code:
                return "\n".join(kept), True  # the model is rewriting the code below
        kept.append(line)
    return "\n".join(kept), False

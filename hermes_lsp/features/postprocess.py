"""Turning a model's answer into ghost text that fits where the cursor is.

A chat model does not answer with just the missing text: it wraps code in prose and
fences, repeats the lines before the cursor (up to the whole file), and carries on with
the code that already follows. Rather than special-casing each habit, the answer is
aligned with the document: the code is taken out of the prose, then the longest run that
repeats the text before the cursor and the run that repeats the text after it are
removed; what is left is the ghost text.

Pure functions, so they are cheap to test: the same rules run on the final answer and on
every partial answer while it streams, which lets the server close the stream as soon as
the useful part has arrived. Every step is linear in the size of the answer.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from itertools import islice

import attrs

from hermes_lsp.indentation import leading, reindent, width
from hermes_lsp.model.hermes import CodeBlock, parse_answer
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


# How far back in the document an echo of earlier lines is looked for, in lines and in
# characters: the model cannot echo more than the prompt showed it (about 12,000 characters
# of the file before the cursor by default), and splitting a longer stretch on every
# keystroke would cost a millisecond in a large file.
_ECHO_WINDOW = 4000
_ECHO_CHARS = 32_000
# Fewer characters than this repeating the code below the cursor may be a coincidence.
_MIN_SUFFIX_ECHO = 4
# Line starts of comments in the supported languages.
_COMMENT_STARTS = ("#", "//", "/*", "*", "--")


@attrs.frozen
class _Document:
    """The document around the cursor, as the alignment reads it."""

    lines: list[str]
    """Whole lines before the cursor's line, without line endings."""
    before: str
    """The cursor line up to the cursor."""
    rest_of_line: str
    following: list[str]
    """Lines after the cursor's line."""
    eol: str
    known: list[str]
    """``lines`` and ``before`` as the alignment compares them."""
    unit: str
    """One level of the document's indentation."""


# Lines before the cursor whose indentation tells the document's unit.
_UNIT_LINES = 200


@attrs.frozen
class _Lines:
    """Whole lines of a stretch of the document, as the alignment reads them."""

    lines: list[str]
    known: list[str]
    tabs: bool
    """Whether one of the last lines is indented with a tab."""
    steps: frozenset[int]
    """Indentations (in spaces) of the last lines indented with spaces."""


@functools.lru_cache(maxsize=4)
def _whole_lines(block: str) -> _Lines:
    # Kept by the text of the lines: while the user types on one line the lines above it
    # do not change, and splitting and normalising 32,000 characters is most of the work.
    lines = block.split("\n")
    if "\r" in block:
        lines = [line.rstrip("\r") for line in lines]
    last = lines[-(_UNIT_LINES - 1) :]
    tabs = any(line.startswith("\t") for line in last)
    steps = frozenset(len(leading(line)) for line in last if line.startswith(" ") and line.strip())
    return _Lines(lines, [line.strip() for line in lines], tabs, steps)


@functools.lru_cache(maxsize=4)
def _lines_after(block: str) -> tuple[str, list[str]]:
    lines = [line.rstrip("\r") for line in block.split("\n")]
    return lines[0], lines[1:]


_NO_LINES = _Lines([], [], False, frozenset())


def _window_start(prefix: str) -> int:
    """The newline before the first line an echo can reach (-1: the start of the text):
    at most :data:`_ECHO_WINDOW` whole lines back, and none starting before the last
    :data:`_ECHO_CHARS` characters unless the cursor's line itself does."""
    floor = max(0, len(prefix) - _ECHO_CHARS)
    if prefix.count("\n", floor) <= _ECHO_WINDOW:  # counted in C, not found line by line
        return prefix.rfind("\n", 0, floor + 1) if floor else -1
    start = len(prefix)
    for _ in range(_ECHO_WINDOW + 1):
        start = prefix.rfind("\n", floor, start)
    return start


def _window_end(suffix: str) -> int:
    """The newline that ends the last line after the cursor an echo can reach (-1: the
    end of the text)."""
    if suffix.count("\n", 0, _ECHO_CHARS + 1) <= _ECHO_WINDOW:
        return suffix.find("\n", _ECHO_CHARS + 1)
    end = -1
    for _ in range(_ECHO_WINDOW + 1):
        end = suffix.find("\n", end + 1)
    return end


@functools.lru_cache(maxsize=4)
def _document(prefix: str, suffix: str) -> _Document:
    """The document split around the cursor (shared, never modified).

    The last few are kept: a streamed answer is post-processed many times against the
    same document, and only the window an echo can reach is split, since the prefix may
    be a large file.
    """
    eol = "\r\n" if "\r\n" in prefix[-4096:] or "\r\n" in suffix[:4096] else "\n"
    start = _window_start(prefix)
    line_start = prefix.rfind("\n") + 1
    whole = _whole_lines(prefix[start + 1 : line_start - 1]) if start < line_start - 1 else _NO_LINES
    before = prefix[line_start:].rstrip("\r")
    end = _window_end(suffix)
    rest_of_line, following = _lines_after(suffix if end == -1 else suffix[:end])
    if whole.tabs or before.startswith("\t"):
        unit = "\t"
    else:
        steps = whole.steps
        if before.startswith(" ") and before.strip():
            steps = steps | {len(leading(before))}
        unit = " " * min(steps, default=4)
    known = [*whole.known, _norm(before)]
    return _Document(whole.lines, before, rest_of_line, following, eol, known, unit)


def _norm(line: str) -> str:
    """A line as the alignment compares it: indentation and trailing spaces do not count."""
    return line.strip()


# Bounds on the search for an echo, so that a pathological answer stays cheap.
_MAX_ECHO_ENDS = 200
_MAX_ECHO_RUN = 400
# An echo that does not start the answer must be this long to be more than a coincidence.
_MIN_INNER_ECHO = 10


def _echo_runs(norm: list[str], known: list[str]) -> list[tuple[int, int]]:
    """Runs of ``norm`` that repeat the last lines of ``known``, as (start, length), longest first.

    A run ends at a line equal to the last known line and extends backwards while lines
    keep matching; only runs with a non-blank line count.
    """
    if not known:
        return []
    runs = []
    ends = [i for i, line in enumerate(norm[:-1]) if line == known[-1]][:_MAX_ECHO_ENDS]
    for end in ends:
        length = 1
        while (
            length <= end
            and length < len(known)
            and length < _MAX_ECHO_RUN
            and norm[end - length] == known[-1 - length]
        ):
            length += 1
        start = end - length + 1
        run = norm[start : end + 1]
        if any(run) and (start == 0 or sum(map(len, run)) >= _MIN_INNER_ECHO):
            runs.append((start, length))
    return sorted(runs, key=lambda run: -run[1])


def _without_line_start(line: str, before: str, *, aligned: bool) -> str | None:
    """``line`` without its repeat of the cursor line's start; None if it does not repeat it.

    ``aligned``: earlier lines of the answer matched the document, so the line is a whole
    line of the document; otherwise it may as well be the text to insert.
    """
    if before and line.startswith(before):
        return line[len(before) :]
    head = before.lstrip()
    if not head:
        return line.lstrip(" \t") if aligned else line
    if line.lstrip().startswith(head) and (aligned or len(head) >= 3):
        return line.lstrip()[len(head) :]
    return None if aligned else line


@attrs.frozen
class _Aligned:
    """An answer with its repeat of the text before the cursor removed."""

    lines: list[str]
    """The new text, line by line (empty: nothing to insert)."""
    echoed: int
    """Lines of the answer that matched the document."""
    pending: bool = False
    """The answer so far only repeats the document: too early to say anything."""


def _echo_in_progress(norm: list[str], known: list[str], *, min_chars: int) -> bool:
    """``norm`` (its last line possibly partial) repeats a run of ``known`` that goes on.

    While a model is still repeating earlier lines, nothing can be decided yet.
    ``min_chars`` of complete lines must match, so that one short line that happens to
    equal an earlier one proves nothing.
    """
    first = next((i for i, line in enumerate(norm) if line), len(norm))
    norm = norm[first:]  # blank lines at the start of the answer say nothing
    complete, partial = norm[:-1], norm[-1] if norm else ""
    if sum(map(len, norm)) < min_chars or not (complete[0] if complete else partial):
        return False
    head = complete[0] if complete else None
    size = len(complete)
    for start in range(len(known) - size):
        if head is not None and known[start] != head:
            continue
        if known[start : start + size] == complete and known[start + size].startswith(partial):
            return True
    return False


def _align_prefix(code: list[str], doc: _Document, keep: int) -> _Aligned:
    """Remove the longest run of ``code`` that repeats the text before the cursor, and what precedes it.

    At most ``keep`` lines of what is left are returned: nothing past them can be shown.
    """
    norm = list(map(str.strip, code))  # _norm, at C speed: the answer may be a whole file
    known = doc.known[:-1]
    for start, k in _echo_runs(norm, known):
        echoed = code[start : start + k]
        last = max(i for i in range(k) if norm[start + i])
        document_line = doc.lines[len(doc.lines) - k + last]
        rest = reindent(
            code[start + k : start + k + keep], leading(echoed[last]), leading(document_line), doc.unit
        )
        first = _without_line_start(rest[0], doc.before, aligned=True)
        if first is None:
            if start + k == len(code) - 1 and doc.before.lstrip().startswith(rest[0].lstrip()):
                return _Aligned([], k, pending=True)  # the cursor line is still being repeated
            continue
        return _Aligned([first, *rest[1:]], k)
    if _echo_in_progress(norm, doc.known, min_chars=_MIN_INNER_ECHO):
        return _Aligned([], 0, pending=True)
    first = _without_line_start(code[0], doc.before, aligned=False)
    return _Aligned([first or "", *code[1:keep]], 0)


# Lines that end a block in the file's frame rather than continue it.
_BLOCK_ENDS = ("}", ")", "]", "end", "else", "elif", "except", "finally", "case", "default")


def _relative_frame(lines: list[str], before: str) -> bool:
    """Whether the answer's lines are indented from the cursor rather than from the margin.

    Asked for "the code to insert" at an indented cursor, a model often writes the body
    as if it started at column 0. Its later lines then sit below the cursor's indentation
    while still continuing the block (no blank line, no closer before them).
    """
    if before.strip() or not before or leading(lines[0]):
        return False
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() and width(leading(line)) < width(before):
            if line.lstrip().startswith(_BLOCK_ENDS):
                # A closer of a bracket the answer itself opened is part of the answer.
                return bool(_open_brackets("\n".join(lines[:index])))
            return bool(lines[index - 1].strip())
    return False


def _suffix_echo_start(lines: list[str], doc: _Document) -> int | None:
    """Where the answer starts repeating the lines after the cursor (None: it does not)."""
    following = [text for text in map(_norm, doc.following) if text]
    if not following or doc.rest_of_line.strip():
        return None
    for start, line in enumerate(lines):
        if _norm(line) != following[0]:
            continue
        # One more than the suffix holds is enough to tell whether the answer goes on.
        ahead = list(islice((text for text in map(_norm, lines[start:]) if text), len(following) + 1))
        matched = 0
        for text, expected in zip(ahead, following, strict=False):
            if text != expected:
                break
            matched += len(text)
        else:
            if start == 0 and len(ahead) <= len(following):
                return 0  # the whole answer is the code below: however short, it adds nothing
        if matched >= _MIN_SUFFIX_ECHO:
            return start
    return None


def postprocess(answer: str, prefix: str, suffix: str, *, multiline: bool, max_lines: int = 16) -> Processed:
    """Clean ``answer`` (raw model text, possibly partial) into the text to insert at the cursor.

    ``truncated`` says that a rule cut the answer short: the model's next words cannot
    change the result, so its stream may be closed.
    """
    doc = _document(prefix, suffix)
    blocks = parse_answer(answer, drop_prose=not _writing_prose(doc.before))
    fitted = [_fit(block, doc, multiline=multiline, max_lines=max_lines) for block in blocks]
    # The block that fits best: one with text, then the one most aligned with the document
    # (the first of equals: max keeps it).
    return max(fitted, key=lambda fit: (bool(fit[0].text), fit[1]))[0]


def _writing_prose(before: str) -> bool:
    """Whether the cursor is in a comment or a string, where a sentence is what the user wants."""
    head = before.lstrip()
    if head.startswith(_COMMENT_STARTS) or " # " in head or " // " in head:
        return True
    return any(head.count(quote) % 2 for quote in ('"', "'", "`"))


def _fit(block: CodeBlock, doc: _Document, *, multiline: bool, max_lines: int) -> tuple[Processed, int]:
    """The ghost text one code block gives, and how many of its lines matched the document."""
    # One line more than can be shown tells whether the answer was cut.
    aligned = _align_prefix(block.text.split("\n"), doc, keep=max_lines + 1 if multiline else 2)
    if aligned.pending or not aligned.lines:
        return Processed("", False), aligned.echoed
    lines = aligned.lines
    if multiline and not aligned.echoed and _relative_frame(lines, doc.before):
        lines = [lines[0], *(doc.before + line if line.strip() else line for line in lines[1:])]
    echo = _suffix_echo_start(lines, doc) if multiline else None
    truncated = block.closed
    if echo is not None:
        lines, truncated = lines[:echo], True
    if not multiline:
        if len(lines) > 1:
            if not lines[0].strip():
                return Processed("", True), aligned.echoed  # a single-line slot answered with a new line
            lines, truncated = lines[:1], True
    else:
        lines, cut = _cut_at_block_end(lines, doc, max_lines)
        truncated = truncated or cut
    text = "\n".join(lines)
    # The model repeated what already follows the cursor on this line.
    tail = doc.rest_of_line.strip()
    if tail and text.rstrip().endswith(tail):
        text = text.rstrip()[: -len(tail)]
    text, cut = _cut_unbalanced(text, doc.before, doc.rest_of_line)
    truncated = truncated or cut
    if multiline:
        text = "\n".join(line.rstrip() for line in text.split("\n")).rstrip("\n")
    else:
        text = text.rstrip()
    if doc.eol != "\n":
        text = text.replace("\n", doc.eol)
    return Processed(text, truncated), aligned.echoed


def _cut_at_block_end(lines: list[str], doc: _Document, max_lines: int) -> tuple[list[str], bool]:
    # The enclosing block is the one the cursor line sits in: a later line indented less
    # than the cursor line belongs to the code around it, not to this completion.
    before = doc.before
    floor = width(leading(before)) if before.strip() else width(before)
    for count, line in enumerate(lines[1:], start=1):
        if count >= max_lines:
            return lines[:count], True
        if line.strip() and width(leading(line)) < floor:
            # Unless the model has started repeating earlier code up to the cursor: then
            # what it sends next shows where the new code really starts.
            going_on = _echo_in_progress([_norm(line) for line in lines[count:]], doc.known, min_chars=0)
            return lines[:count], not going_on
    return lines, False

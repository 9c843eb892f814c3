"""Per-document memory that keeps successive completion prompts alike.

A model server skips the part of a prompt that starts like one it has already seen, so
a keystroke should only change the end of the prompt. Two things would otherwise move
early parts of it: the file window (it shifts as the cursor moves and holds the text
being typed) and the repository context (retrieval re-ranks with every word typed).
This module keeps, per document:

- a snapshot of the file window, taken when the user starts working in a region and
  held until a window cut at the cursor would show more of the file, the text outside it
  changes, or the edits since grow large; the prompt shows the live lines (from the first
  edit to just past the cursor) after it;
- the context pieces already shown, in the order shown; newly retrieved pieces are
  appended, and the list starts over only when it outgrows twice the budget or the
  snapshot is retaken (everything after the snapshot is new to the server then anyway);
- the last retrieval, and whether what was typed since lets a prompt show it again
  (:func:`reusable_retrieval`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from hermes_lsp.context.retrieve import IDENTIFIER, string_literals
from hermes_lsp.context.types import Piece
from hermes_lsp.model.hermes import MAX_LIVE_CHARS, FileView, prompt_window
from hermes_lsp.text import common_ends, line_number

# Lines shown before the first edited line, so the model can place the live lines.
LIVE_LEAD_LINES = 2
# Lines shown after the cursor's line (and after the last edited line) in the live part.
LIVE_TRAIL_LINES = 3
# A snapshot holds this share of the suffix budget beyond it, so that the cursor can move
# down a little (without typing, which keeps the text after it) before less is shown.
SUFFIX_MARGIN = 4
# The context list starts over when it holds more than this many times the budget.
CONTEXT_SLACK = 2


@attrs.define
class DocumentPrompt:
    """What the last prompts for one document showed."""

    document: str
    """The whole document when the snapshot was taken."""
    start: int
    """Offset of the snapshot's first character in ``document``."""
    end: int
    """Offset just past the snapshot's last character in ``document``."""
    first_line: int
    """0-based line number of ``start``."""
    snapshot: str
    """``document[start:end]``, kept so that each prompt reuses the same string."""
    budgets: tuple[int, int]
    """The prefix and suffix budgets the window was cut for."""
    head: str = ""
    """``document[:start]``: the text before the window must stay as it is."""
    tail: str = ""
    """``document[end:]``: the text after the window must stay as it is."""
    pieces: list[Piece] = attrs.Factory(list)
    """Context pieces shown, in the order shown."""
    seen: set[Piece] = attrs.Factory(set)
    tokens: int = 0
    """Estimated tokens of ``pieces``."""
    retrieved: Retrieved | None = None
    """The last retrieval, for :func:`reusable_retrieval`."""
    lent: Retrieved | None = None
    """The retrieval last shown past :data:`TYPED_SINCE_RETRIEVAL`: it is shown so once."""


@attrs.frozen
class Retrieved:
    """What retrieval returned for a document, and the text around the word it was asked at."""

    before: str
    """The document before the identifier at the cursor."""
    after: str
    """The document after that identifier."""
    budget: int
    pieces: list[Piece]


def _word_bounds(text: str, offset: int) -> tuple[int, int]:
    """The identifier characters around ``offset``: ``text[start:end]``."""
    start = offset
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    end = offset
    while end < len(text) and (text[end].isalnum() or text[end] == "_"):
        end += 1
    return start, end


TYPED_SINCE_RETRIEVAL = 120
"""Characters typed since the last retrieval that may still reuse it as it is: new lines
move the other lines' distances from the cursor a little; after a few, retrieval weighs
them anew (see :class:`Reuse`)."""


@attrs.frozen
class Reuse:
    """What :func:`reusable_retrieval` allows: pieces to show without retrieving first."""

    pieces: list[Piece]
    refresh: bool = False
    """Held only past the length limit: the pieces are what retrieval would find, weighed
    for lines a little further off. Retrieve again once the request has gone out (or let
    the next prompt retrieve first), so that the weights do not drift further."""


def reusable_retrieval(
    state: DocumentPrompt,
    text: str,
    offset: int,
    budget: int,
    known: Callable[[str], bool] | None = None,
) -> Reuse | None:
    """Whether the last retrieval can be shown again for this cursor: None when retrieval
    must run before the prompt is built.

    Retrieval finds definitions by whole identifiers, weighing each by its line's distance
    from the cursor. A name still being typed finds nothing new until it is finished; nor
    does a finished word that nothing in the index defines (a keyword, a local variable,
    punctuation, a sentence in a string). So the last retrieval holds while the document
    differs from it only by what was typed at the cursor since, with no word ``known``
    says is defined and no finished one-word string literal among it: most of what a
    keystroke cost, even at the end of a word or a line.

    Past :data:`TYPED_SINCE_RETRIEVAL` characters typed since, nothing new can be found
    either, but the distances have drifted: the verdict says to refresh (and this
    retrieval is marked as lent). A retrieval is lent so only once; when no refresh has
    replaced it by the next prompt, that prompt retrieves first.
    """
    memo = state.retrieved
    if memo is None or memo.budget != budget:
        return None
    start, end = _word_bounds(text, offset)
    if start < len(memo.before) or len(text) - end != len(memo.after):
        return None
    if not (text.startswith(memo.before) and text.endswith(memo.after)):
        return None
    if start == len(memo.before):
        return Reuse(memo.pieces)  # only the word at the cursor has changed
    typed = text[len(memo.before) : start]
    drifted = len(typed) > TYPED_SINCE_RETRIEVAL
    if known is None or (drifted and state.lent is memo):
        return None  # (drifted: lent once already, and not refreshed since)
    if any(known(name) for name in IDENTIFIER.findall(typed)):
        return None
    if string_literals(typed):
        return None  # a one-word literal may name a file: a link to code of another language
    if drifted:
        state.lent = memo
    return Reuse(memo.pieces, refresh=drifted)


def remember_retrieval(
    state: DocumentPrompt, text: str, offset: int, budget: int, pieces: list[Piece]
) -> None:
    """Keep a retrieval for :func:`reusable_retrieval`."""
    start, end = _word_bounds(text, offset)
    state.retrieved = Retrieved(text[:start], text[end:], budget, pieces)


def take_snapshot(text: str, offset: int, prefix_tokens: int, suffix_tokens: int) -> DocumentPrompt:
    """A fresh snapshot of the window around ``offset``."""
    start, end = prompt_window(text, offset, prefix_tokens, suffix_tokens + suffix_tokens // SUFFIX_MARGIN)
    return DocumentPrompt(
        text,
        start,
        end,
        line_number(text, start),
        text[start:end],
        (prefix_tokens, suffix_tokens),
        head=text[:start],
        tail=text[end:],
    )


def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def _lines_back(text: str, offset: int, lines: int, floor: int) -> int:
    """Start of the line ``lines`` lines above the one holding ``offset``, not before ``floor``."""
    start = _line_start(text, offset)
    for _ in range(lines):
        if start <= floor:
            break
        start = _line_start(text, start - 1)
    return max(start, floor)


def _lines_forward(text: str, offset: int, lines: int) -> int:
    """End (before the newline) of the line ``lines`` lines below the one holding ``offset``."""
    end = text.find("\n", offset)
    for _ in range(lines):
        if end == -1:
            break
        end = text.find("\n", end + 1)
    return len(text) if end == -1 else end


def _live_view(
    state: DocumentPrompt, text: str, offset: int, prefix_tokens: int, suffix_tokens: int, fresh: bool
) -> FileView | None:
    """The view of ``text`` against the snapshot, or None when the snapshot no longer serves.

    A ``fresh`` snapshot always serves: its live part is cut to size instead.
    """
    old = state.document
    shift = len(text) - len(old)
    window_end = state.end + shift
    edit_start = edit_end = offset
    if not fresh:
        if state.budgets != (prefix_tokens, suffix_tokens) or not state.start <= offset <= window_end:
            return None
        # The model never sees less of the file around the cursor than a window cut for
        # this cursor would show: when it would, the window moves.
        start, end = prompt_window(text, offset, prefix_tokens, suffix_tokens)
        if start < state.start or end > window_end:
            return None
        # Edits outside the window shift or change what the snapshot stands for. The text
        # around the window is compared in place, and only the window is diffed: a
        # document can be large, a window is not.
        if not (text.startswith(state.head) and text.endswith(state.tail)) or window_end < state.start:
            return None
        same_start, same_end = common_ends(state.snapshot, text[state.start : window_end])
        if same_start < window_end - state.start:
            edit_start = min(state.start + same_start, offset)
            edit_end = max(window_end - same_end, offset)
    live_start = _lines_back(text, edit_start, LIVE_LEAD_LINES, state.start)
    live_end = _lines_forward(text, edit_end, LIVE_TRAIL_LINES)
    if live_end - live_start > MAX_LIVE_CHARS:
        if not fresh:
            return None
        # Very long lines: keep the live part small around the cursor.
        live_start = max(live_start, offset - MAX_LIVE_CHARS // 2)
        live_end = min(live_end, offset + MAX_LIVE_CHARS // 2)
    return FileView(
        snapshot=state.snapshot,
        snapshot_line=state.first_line + 1,
        live_line=line_number(text, live_start) + 1,
        before=text[live_start:offset],
        after=text[offset:live_end],
    )


def file_view(
    state: DocumentPrompt | None, text: str, offset: int, prefix_tokens: int, suffix_tokens: int
) -> tuple[DocumentPrompt, FileView, bool]:
    """The view for a cursor, the state to keep, and whether the snapshot was (re)taken."""
    offset = max(0, min(offset, len(text)))
    if state is not None:
        view = _live_view(state, text, offset, prefix_tokens, suffix_tokens, fresh=False)
        if view is not None:
            return state, view, False
    state = take_snapshot(text, offset, prefix_tokens, suffix_tokens)
    view = _live_view(state, text, offset, prefix_tokens, suffix_tokens, fresh=True)
    assert view is not None
    return state, view, True


def stable_pieces(
    state: DocumentPrompt,
    fresh: Sequence[Piece],
    budget: int,
    restart: bool,
    shares: Callable[[str], bool] = lambda path: True,
) -> list[Piece]:
    """The context to show: earlier pieces in their places, new ones appended.

    ``restart`` (the snapshot was just retaken) takes ``fresh`` as it is: the server
    must prefill everything after the snapshot anyway, so the best ranking costs nothing.
    A piece whose file may no longer reach the model (``shares`` says no: it is ignored
    now) is dropped at once, from the kept pieces and from ``fresh``.
    """
    # Asked once per file (a file gives many pieces).
    allowed = {path: shares(path) for path in {piece.path for piece in (*fresh, *state.pieces)}}
    fresh = [piece for piece in fresh if allowed[piece.path]]
    kept = [piece for piece in state.pieces if allowed[piece.path]]
    if len(kept) != len(state.pieces):
        state.pieces, state.seen = kept, set(kept)
        state.tokens = sum(piece.tokens for piece in kept)
    new = fresh if restart else [piece for piece in fresh if piece not in state.seen]
    tokens = sum(piece.tokens for piece in new)
    if restart or state.tokens + tokens > budget * CONTEXT_SLACK:
        state.pieces = list(fresh)
        state.seen = set(fresh)
        state.tokens = sum(piece.tokens for piece in fresh)
    elif new:
        state.pieces.extend(new)
        state.seen.update(new)
        state.tokens += tokens
    return state.pieces

"""Hermes 4 prompt format, on the client side.

Hermes 4 has no fill-in-the-middle tokens, so a completion is a chat: the system prompt
says what to do, the user message shows the file with a cursor marker, and the model
answers with the text to insert. Everything Hermes-specific happens here, so that
trtllm-serve, vLLM, llama.cpp and the test server all behave the same.

The prompt is ordered from the most stable to the most volatile (system prompt, a
snapshot of the file, repository context, the live lines at the cursor) so the server's
KV-cache block reuse can skip all but the tail of each new prompt.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import attrs

from hermes_lsp.context.values import Piece
from hermes_lsp.model.window import prompt_room
from hermes_lsp.text import line_number

CURSOR = "<CURSOR>"

# The directive that turns Hermes 4's reasoning on; without it the model answers directly.
THINKING_DIRECTIVE = (
    "You are a deep thinking AI, you may use extremely long chains of thought to deeply consider "
    "the problem and deliberate with yourself via systematic reasoning processes to help come to "
    "a correct solution prior to answering. You should enclose your thoughts and internal monologue "
    "inside <think> </think> tags, and then provide your solution or response to the problem."
)

COMPLETION_SYSTEM = f"""You are a code completion engine inside a code editor.
You are shown part of a file as it read a moment ago, possibly related code from the same
repository, and then the lines the user is editing as they read now, with the marker
{CURSOR} where the user's cursor is. Reply with exactly the code to insert at {CURSOR}:
no explanation, no repetition of the code before or after the cursor, no markdown fences.
Continue the code the way its author would, matching indentation and style. If the
request says "single line", finish only the current line. If nothing sensible fits,
reply with nothing."""


@attrs.frozen
class FileView:
    """What a completion prompt shows of the current file.

    A snapshot of the lines around the cursor, taken when the user started working in
    this region and kept while they type, and the live lines from the first edit since
    then to a little past the cursor. A keystroke changes only the live part, which
    sits at the end of the prompt, so the server reuses the cache of everything else.
    """

    snapshot: str
    """Lines of the file as they read when the snapshot was taken (whole lines)."""
    snapshot_line: int
    """1-based number of the snapshot's first line."""
    live_line: int
    """1-based number of the first live line."""
    before: str
    """The live text from the start of ``live_line`` to the cursor."""
    after: str
    """The live text from the cursor to the end of the live lines."""


@attrs.frozen
class CompletionRequest:
    """What the prompt needs to know about the cursor."""

    path: str
    """Path shown to the model (relative to the workspace when known)."""
    language: str
    view: FileView
    multiline: bool


_BACKTICK_RUN = re.compile(r"`{3,}")


def _fence_for(text: str) -> str:
    # A fence longer than any backtick run inside keeps the document intact.
    if "```" not in text:
        return "```"
    longest = max(len(m) for m in _BACKTICK_RUN.findall(text))
    return "`" * (longest + 1)


def piece_blocks(pieces: Sequence[Piece]) -> list[str]:
    """Repository context as the model sees it: one fenced block per piece."""
    blocks = []
    for piece in pieces:
        fence = _fence_for(piece.text)
        where = f"{piece.path}:{piece.start_line}-{piece.end_line}"
        blocks.append(f"{piece.kind} from {where}\n{fence}\n{piece.text}\n{fence}")
    return blocks


def format_pieces(pieces: Sequence[Piece]) -> str:
    """Repository context as the model sees it, the blocks one after another."""
    return "\n\n".join(piece_blocks(pieces))


# The window starts on a multiple of this many lines, so that a snapshot taken a little
# later or earlier in the same region starts at the same place.
WINDOW_ALIGN_LINES = 32


def prompt_window(text: str, offset: int, prefix_tokens: int, suffix_tokens: int) -> tuple[int, int]:
    """Offsets ``(start, end)`` of the part of ``text`` around ``offset`` that fits the budgets.

    Budgets are in tokens of about 4 characters. The start is the beginning of a line
    whose number is a multiple of ``WINDOW_ALIGN_LINES`` (or the start of the file); the
    end is the end of a line (or of the file). Nothing is copied: documents can be large.
    """
    offset = max(0, min(offset, len(text)))
    start = 0
    cut = offset - prefix_tokens * 4
    if cut > 0:
        start = text.find("\n", cut, offset) + 1  # the first whole line after the cut
        if start:
            skip = -text.count("\n", 0, start) % WINDOW_ALIGN_LINES
            for _ in range(skip):
                following = text.find("\n", start, offset) + 1
                if not following:
                    break
                start = following
        else:
            start = cut  # one line longer than the budget: cut inside it
    end = len(text)
    limit = offset + suffix_tokens * 4
    if limit < end:
        newline = text.rfind("\n", offset, limit)
        end = newline if newline != -1 else limit
    return start, end


# The live lines hold at most this many characters; more edits make a new snapshot.
MAX_LIVE_CHARS = 3000
# Room kept free of budgeted text: the system prompt, headers and fences, and the live lines.
FIXED_PROMPT_CHARS = len(COMPLETION_SYSTEM) + 600 + MAX_LIVE_CHARS


@attrs.frozen
class Budgets:
    """How much of the file and of the repository a completion prompt shows, in tokens of 4 characters."""

    prefix: int
    suffix: int
    context: int


def fit_budgets(
    wanted: Budgets, max_tokens: int, context_length: int | None, chars_per_token: float, context_slack: int
) -> Budgets:
    """The budgets scaled down so that prompt and answer fit ``context_length`` tokens.

    ``chars_per_token`` is the served model's tokenizer density (4 unless its answers have
    shown otherwise); the context may grow to ``context_slack`` times its budget.
    """
    if not context_length:
        return wanted
    room = prompt_room(context_length, max_tokens, chars_per_token) - FIXED_PROMPT_CHARS
    # The snapshot holds up to a quarter more of the suffix (see prompt_state.SUFFIX_MARGIN).
    wanted_chars = 4 * (wanted.prefix + wanted.suffix * 5 // 4 + context_slack * wanted.context)
    if wanted_chars <= room:
        return wanted
    scale = max(room, 0) / wanted_chars
    return Budgets(
        prefix=max(16, int(wanted.prefix * scale)),
        suffix=int(wanted.suffix * scale),
        context=int(wanted.context * scale),
    )


def snapshot_block(path: str, language: str, view: FileView) -> str:
    """The file snapshot, as the prompt shows it."""
    last_line = view.snapshot_line + line_number(view.snapshot, len(view.snapshot))
    fence = _fence_for(view.snapshot)
    return (
        f"File {path} ({language}), lines {view.snapshot_line}-{last_line} as they read a moment ago:\n"
        f"{fence}\n{view.snapshot}\n{fence}\n\n"
    )


def context_block(pieces: Sequence[Piece]) -> str:
    """Repository context, as the prompt shows it (empty without pieces)."""
    if not pieces:
        return ""
    return "Related code from the repository:\n\n" + format_pieces(pieces) + "\n\n"


def live_block(path: str, view: FileView, multiline: bool) -> str:
    """The live lines with the cursor marker, and the instruction."""
    live = view.before + CURSOR + view.after
    fence = _fence_for(live)
    mode = "multi line" if multiline else "single line"
    return (
        f"From line {view.live_line}, {path} now reads as follows; the cursor is at {CURSOR}:\n"
        f"{fence}\n{live}\n{fence}\n\nComplete at {CURSOR} ({mode})."
    )


def completion_messages(request: CompletionRequest, pieces: Sequence[Piece] = ()) -> list[dict[str, Any]]:
    """The chat messages for one inline completion, from the most stable part to the most volatile.

    The file snapshot changes when the user moves to another region; the repository
    context only grows at its end while the snapshot holds; the live lines change with
    each keystroke and are short. ``hermes-lsp bench prompt`` compares this order with
    the alternatives.
    """
    view = request.view
    content = (
        snapshot_block(request.path, request.language, view)
        + context_block(pieces)
        + live_block(request.path, view, request.multiline)
    )
    return [{"role": "system", "content": COMPLETION_SYSTEM}, {"role": "user", "content": content}]


# -- parsing answers ---------------------------------------------------------------------

_THINK_BLOCK = re.compile(r"<think>.*?</think>\s*", re.DOTALL)
# A fence line: its marker, then an optional info string (the language).
_FENCE_LINE = re.compile(r"[ \t]*(`{3,}|~{3,})[ \t]*([^`\s]*)[^`\n]*$")
_FENCE_STARTS = re.compile(r"^[ \t]*(?:```|~~~)", re.MULTILINE)
# What a chat model writes around code: a sentence that starts with a capital letter.
_PROSE = re.compile(r"^[A-Z][\w'’]*[,!]?(?: +[^\s=;{}]+){2,}$")
_CODE_MARKS = ("=", ";", "{", "}", "->", "=>", "::", "&&", "||")


def strip_think(text: str) -> str:
    """Remove ``<think>`` blocks; an unfinished one (still thinking) hides everything after it."""
    text = _THINK_BLOCK.sub("", text)
    start = text.find("<think>")
    if start != -1:
        text = text[:start]
    # A model prompted without the opening tag may still close one.
    end = text.find("</think>")
    if end != -1:
        text = text[end + len("</think>") :].lstrip("\n")
    return text


def looks_like_prose(line: str) -> bool:
    """Whether a line reads as a sentence about code rather than as code."""
    line = line.strip()
    if not _PROSE.match(line) or any(mark in line for mark in _CODE_MARKS):
        return False
    return line.endswith((":", ".", "!")) or line.count(" ") >= 4


@attrs.frozen
class CodeBlock:
    """A piece of an answer that holds code."""

    text: str
    closed: bool
    """The block's closing fence has arrived: the model is done with it."""


def _partial_fence(line: str) -> bool:
    """A last line that may be the start of a fence still streaming in."""
    stripped = line.strip()
    return bool(stripped) and (set(stripped) <= {"`"} or set(stripped) <= {"~"})


def parse_answer(text: str, *, drop_prose: bool = True) -> tuple[CodeBlock, ...]:
    """The code of a completion answer, possibly partial: reasoning, prose, fences and the
    cursor marker taken away.

    The fenced blocks, in order; or, when there is none, the whole answer without the
    sentences in front of it (unless ``drop_prose`` is off: where the user writes a
    comment, a sentence is the completion).
    """
    text = strip_think(text).replace("\r\n", "\n").replace(CURSOR, "")
    blocks: list[CodeBlock] = []
    fence: str | None = None
    outside = 0  # where the text outside any block resumes
    body = 0  # where the open block's body starts
    # Only lines that start like a fence are looked at: the answer may be a whole file,
    # post-processed again at every streamed delta.
    for start in _FENCE_STARTS.finditer(text):
        end = text.find("\n", start.start())
        end = len(text) if end == -1 else end
        match = _FENCE_LINE.match(text, start.start(), end)
        if match is None:
            continue
        after = min(end + 1, len(text))
        if fence is None:
            before = text[outside : start.start()]
            if not blocks and not match.group(2) and before.strip():
                if not looks_like_prose(next(ln for ln in before.split("\n") if ln.strip())):
                    # Code, then a bare fence: the model closed a block it never opened.
                    blocks.append(CodeBlock(before.removesuffix("\n"), True))
                    outside = after
                    continue
            fence, body = match.group(1), after
        elif match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) and not match.group(2):
            blocks.append(CodeBlock(text[body : start.start()].removesuffix("\n"), True))
            fence, outside = None, after
    if fence is not None:
        last = text.rfind("\n", body) + 1 or body
        # A last line made of backticks is the closing fence arriving.
        end = max(body, last - 1) if _partial_fence(text[last:]) else len(text)
        blocks.append(CodeBlock(text[body:end], False))
    if blocks:
        return tuple(blocks)
    loose = text.split("\n")
    if loose and _partial_fence(loose[-1]):
        loose.pop()
    # Sentences before the code ("Here is the completion:") are not part of it.
    sentences = 0
    while drop_prose and sentences < len(loose) and looks_like_prose(loose[sentences]):
        sentences += 1
    if sentences:
        loose = loose[sentences:]
        while len(loose) > 1 and not loose[0].strip():
            loose.pop(0)
    return (CodeBlock("\n".join(loose), False),)

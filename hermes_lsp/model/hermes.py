"""Hermes 4 prompt format, on the client side.

Hermes 4 has no fill-in-the-middle tokens, so a completion is a chat: the system prompt
says what to do, the user message shows the file with a cursor marker, and the model
answers with the text to insert. Everything Hermes-specific happens here, so that
trtllm-serve, vLLM, llama.cpp and the test server all behave the same.

The prompt is ordered from the most stable to the most volatile (system prompt,
repository context, the file before the cursor, the cursor and what follows) so the
server's KV-cache block reuse can skip all but the tail of each new prompt.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import attrs

from hermes_lsp.context.values import Piece

CURSOR = "<CURSOR>"

# The directive that turns Hermes 4's reasoning on; without it the model answers directly.
THINKING_DIRECTIVE = (
    "You are a deep thinking AI, you may use extremely long chains of thought to deeply consider "
    "the problem and deliberate with yourself via systematic reasoning processes to help come to "
    "a correct solution prior to answering. You should enclose your thoughts and internal monologue "
    "inside <think> </think> tags, and then provide your solution or response to the problem."
)

COMPLETION_SYSTEM = f"""You are a code completion engine inside a code editor.
You are shown a file with the marker {CURSOR} where the user's cursor is, possibly after
related code from the same repository. Reply with exactly the code to insert at {CURSOR}:
no explanation, no repetition of the code before or after the cursor, no markdown fences.
Continue the code the way its author would, matching indentation and style. If the
request says "single line", finish only the current line. If nothing sensible fits,
reply with nothing."""


@attrs.frozen
class CompletionRequest:
    """What the prompt needs to know about the cursor."""

    path: str
    """Path shown to the model (relative to the workspace when known)."""
    language: str
    prefix: str
    """The document text before the cursor."""
    suffix: str
    """The document text after the cursor."""
    multiline: bool


def _fence_for(text: str) -> str:
    # A fence longer than any backtick run inside keeps the document intact.
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=2)
    return "`" * (longest + 1)


def format_pieces(pieces: Sequence[Piece]) -> str:
    """Repository context as the model sees it: one fenced block per piece."""
    blocks = []
    for piece in pieces:
        fence = _fence_for(piece.text)
        where = f"{piece.path}:{piece.start_line}-{piece.end_line}"
        blocks.append(f"{piece.kind} from {where}\n{fence}\n{piece.text}\n{fence}")
    return "\n\n".join(blocks)


# The prefix window starts on a multiple of this many lines, so that it stays put while
# the user types and the server can reuse the KV cache of everything before the cursor.
WINDOW_ALIGN_LINES = 32


def prompt_window(prefix: str, suffix: str, prefix_tokens: int, suffix_tokens: int) -> tuple[str, str]:
    """The parts of the file around the cursor that fit the budgets (about 4 characters a token).

    The prefix is cut at a line boundary that only moves in steps of
    ``WINDOW_ALIGN_LINES`` lines; the suffix is cut at the end of a line.
    """
    max_prefix = prefix_tokens * 4
    if len(prefix) > max_prefix:
        cut = len(prefix) - max_prefix
        first_line = prefix.count("\n", 0, cut) + 1  # the first whole line after the cut
        start = prefix.find("\n", cut) + 1
        for _ in range(-(-first_line // WINDOW_ALIGN_LINES) * WINDOW_ALIGN_LINES - first_line):
            start = prefix.find("\n", start) + 1
            if start == 0:
                break
        prefix = prefix[start:] if start else prefix[cut:]
    max_suffix = suffix_tokens * 4
    if len(suffix) > max_suffix:
        end = suffix.rfind("\n", 0, max_suffix)
        suffix = suffix[: end if end != -1 else max_suffix]
    return prefix, suffix


def completion_messages(request: CompletionRequest, pieces: Sequence[Piece] = ()) -> list[dict[str, Any]]:
    """The chat messages for one inline completion, stable parts first."""
    fence = _fence_for(request.prefix + request.suffix)
    mode = "multi line" if request.multiline else "single line"
    parts = []
    if pieces:
        parts.append("Related code from the repository:\n\n" + format_pieces(pieces) + "\n\n")
    # The file prefix is the next most stable part: a keystroke only changes its end.
    parts.append(f"File {request.path} ({request.language}):\n{fence}\n{request.prefix}")
    parts.append(f"{CURSOR}{request.suffix}\n{fence}\n\nComplete at {CURSOR} ({mode}).")
    return [
        {"role": "system", "content": COMPLETION_SYSTEM},
        {"role": "user", "content": "".join(parts)},
    ]


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

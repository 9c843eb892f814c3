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

from hermes_lsp.context.types import Piece

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

# A fence closing the code is the end of a useful answer from a chat model.
COMPLETION_STOP = ["\n```"]


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
_OPEN_FENCE = re.compile(r"^\s*(`{3,}|~{3,})[^\n`]*\n")


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


def strip_code_fences(text: str) -> str:
    """Unwrap an answer wrapped in a markdown code fence (closing fence optional)."""
    match = _OPEN_FENCE.match(text)
    if not match:
        return text
    fence = match.group(1)
    body = text[match.end() :]
    close = body.find("\n" + fence[0] * 3)
    if close != -1:
        return body[:close]
    if body.rstrip().endswith(fence[0] * 3):
        return body.rstrip()[:-3].rstrip("\n")
    return body


def clean_completion(text: str) -> str:
    """The insertable text of a completion answer: no reasoning, no fences, no cursor marker."""
    text = strip_code_fences(strip_think(text))
    return text.replace(CURSOR, "")

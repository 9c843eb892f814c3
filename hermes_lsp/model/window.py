"""Fitting prompts into the context window the model server serves.

Completions and code actions share this arithmetic: how many characters of prompt a
window of N tokens holds once the answer's tokens are set aside (at the tokenizer density
the server has shown), and what window to fit after a server refused a prompt as too long.

A code action's message is fitted part by part. Each part says the least it can be cut to
and renders itself as fully as a number of characters allows; the parts that matter most
get their room first, so the parts that matter least are the first to shrink. A message
whose least parts do not fit is not sent at all: the user is told instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs

if TYPE_CHECKING:
    from hermes_lsp.model.client import ModelClient, ModelContextExceeded

# Real tokenizers disagree with any estimate: leave this share of the window unused.
CONTEXT_MARGIN = 0.9
# What a chat template adds around each message (role headers, separators), in characters.
MESSAGE_OVERHEAD_CHARS = 32
# A server that says neither its limit nor the prompt's length gets this share of the refused prompt.
SHRINK_UNSAID = 0.75


def prompt_room(context_length: int, answer_tokens: int, chars_per_token: float) -> int:
    """Characters of prompt that fit ``context_length`` tokens beside an answer of ``answer_tokens``."""
    return max(0, int((context_length - answer_tokens) * chars_per_token * CONTEXT_MARGIN))


def answer_tokens(max_tokens: int, context_length: int | None) -> int:
    """Tokens set aside for one answer: ``max_tokens``, but at most half a known window, so
    that a prompt still fits beside it (a server refuses prompt plus ``max_tokens`` beyond it)."""
    if not context_length:
        return max_tokens
    return max(1, min(max_tokens, context_length // 2))


async def limit_after_refusal(
    client: ModelClient, refusal: ModelContextExceeded, messages: Sequence[dict[str, Any]]
) -> int:
    """The context length to fit after the server refused ``messages`` as too long.

    The client learns the limit and its tokenizer's density from the refusal; a server that
    says neither gets a quarter less than the prompt it refused.
    """
    chars = sum(len(str(m.get("content") or "")) for m in messages)
    client.learn_from(refusal, chars)
    return await client.context_length() or int(chars / client.chars_per_token * SHRINK_UNSAID)


# -- fitting a message part by part ----------------------------------------------------------


class Part(Protocol):
    """One part of a message that can be rendered within a number of characters."""

    @property
    def rank(self) -> int:
        """Which parts get their room first: lower ranks grow first and are cut last."""

    @property
    def least(self) -> int:
        """Characters of the smallest rendering (0: the part may vanish)."""

    def render(self, limit: int) -> str:
        """The fullest rendering within ``limit`` characters (``limit >= least``)."""


@attrs.frozen
class Fixed:
    """Text that is shown whole or not at all: the task, the target's description."""

    text: str
    rank: int = 0

    @property
    def least(self) -> int:
        return len(self.text)

    def render(self, limit: int) -> str:
        return self.text


@attrs.frozen
class Blocks:
    """Blocks under a heading, each shown whole; those that do not fit are left out (the
    heading too when none fits). Repository context: its pieces come in retrieval order."""

    heading: str
    blocks: tuple[str, ...]
    rank: int = 0
    separator: str = "\n\n"

    @property
    def least(self) -> int:
        return 0

    def render(self, limit: int) -> str:
        used = len(self.heading)
        kept: list[str] = []
        for block in self.blocks:
            cost = len(block) + (len(self.separator) if kept else 0)
            if used + cost <= limit:
                kept.append(block)
                used += cost
        return self.heading + self.separator.join(kept) if kept else ""


@attrs.frozen
class Around:
    """Lines around a focus: the focus always, and as many lines either side (up to ``span``)
    as fit. ``show(first, last)`` renders lines ``first``-``last``, 1-based and inclusive.

    With ``optional``, a focus that does not fit leaves the part out rather than the message.
    """

    focus: tuple[int, int]
    span: tuple[int, int]
    show: Callable[[int, int], str] = attrs.field(eq=False)
    rank: int = 0
    optional: bool = False

    def _at(self, margin: int) -> str:
        (first, last), (low, high) = self.focus, self.span
        return self.show(max(low, first - margin), min(high, last + margin))

    @property
    def _widest(self) -> int:
        (first, last), (low, high) = self.focus, self.span
        return max(first - low, high - last, 0)

    @property
    def least(self) -> int:
        return 0 if self.optional else len(self._at(0))

    def render(self, limit: int) -> str:
        whole = self._at(self._widest)
        if len(whole) <= limit:
            return whole
        if len(self._at(0)) > limit:
            return ""  # only an optional part gets here: it is left out
        low, high = 0, self._widest  # _at(low) fits, _at(high) does not
        while high - low > 1:
            middle = (low + high) // 2
            if len(self._at(middle)) <= limit:
                low = middle
            else:
                high = middle
        return self._at(low)


@attrs.frozen
class Ends:
    """Text whose middle may go (a stack trace: its first lines say where it started, its
    last ones what failed). At most ``cap`` characters even when the window is unknown;
    never less than its last ``floor`` characters."""

    text: str
    cap: int
    floor: int
    rank: int = 0

    @property
    def least(self) -> int:
        return min(len(self.text), self.floor, self.cap)

    def render(self, limit: int) -> str:
        limit = min(limit, self.cap)
        if len(self.text) <= limit:
            return self.text
        note = "\n[… {} lines left out to fit the model's context window …]\n"
        room = limit - len(note.format(len(self.text)))  # the widest count there can be
        if room <= 0:
            return self.text[len(self.text) - limit :]
        head = self.text[: room // 3]
        tail = self.text[len(self.text) - (room - len(head)) :]
        # Whole lines where there is a line break to cut at.
        if "\n" in head:
            head = head[: head.rfind("\n")]
        if "\n" in tail[:-1]:
            tail = tail[tail.find("\n") + 1 :]
        left_out = self.text.count("\n", len(head), len(self.text) - len(tail)) - 1
        return head + note.format(max(1, left_out)) + tail


def fit(parts: Sequence[Part], room: int | None, separator: str = "\n\n") -> str | None:
    """The parts in their order, joined, within ``room`` characters; None when even their
    least renderings do not fit. Without a room (the window is unknown) each part is whole.

    Parts get their room by rank, lowest first: each renders within what is left once the
    others are counted at the size they have so far (their least until their turn).
    """
    if room is None:
        return separator.join(t for t in (p.render(1 << 62) for p in parts) if t)
    joints = len(separator) * max(0, len(parts) - 1)
    sizes = [p.least for p in parts]
    if sum(sizes) + joints > room:
        return None
    texts = [""] * len(parts)
    for index in sorted(range(len(parts)), key=lambda i: parts[i].rank):
        limit = room - joints - (sum(sizes) - sizes[index])
        texts[index] = parts[index].render(limit)
        sizes[index] = len(texts[index])
    return separator.join(t for t in texts if t)


def least_chars(parts: Sequence[Part], separator: str = "\n\n") -> int:
    """Characters the parts take at their least (what :func:`fit` needs to say yes)."""
    return sum(p.least for p in parts) + len(separator) * max(0, len(parts) - 1)

"""An action's conversation with the model, kept within the served context window.

The system prompt and the task message open it; each turn of the tool loop adds the
model's reply and the results of the tools it called (or a plain message, such as a
request to repair the syntax). Before each request the whole is fitted to the window:

- the task message is fitted part by part (:func:`~hermes_lsp.model.window.fit`) to a
  share of the room, so that the loop has room to read and edit; it stays the same from
  turn to turn, so the server reuses its cache;
- when the turns outgrow the rest, tool results are shortened, oldest first, the latest
  one cut to what fits; each cut result tells the model what was cut;
- then earlier replies give way, oldest first; the latest reply (the calls whose results
  follow) stays whole. A conversation that does not fit even so is not sent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import attrs

from hermes_lsp.features.read_tools import bounded
from hermes_lsp.model.tools import tool_response
from hermes_lsp.model.window import MESSAGE_OVERHEAD_CHARS, Part, fit, least_chars

# The share of the room (after the system prompt) the task message may fill when more of
# it would fit: the rest is for the tool loop's replies and results.
TASK_SHARE = 0.6
# What a shortened tool result keeps at least: its name and the note saying it was cut.
RESULT_STUB_CHARS = 240
WINDOW_NOTE = "the model's context window (ask for less at a time)"
EARLIER_REPLY_LEFT_OUT = "[this earlier reply was left out to fit the model's context window]"
# A limit no result reaches: rendered whole.
UNCUT = 1 << 62


@attrs.frozen
class ToolResult:
    """One tool's answer, kept whole so that it can be cut anew as the conversation grows."""

    name: str
    content: Any


@attrs.frozen
class Turn:
    """One round of the loop: the model's reply, then what it is told back."""

    reply: str
    results: tuple[ToolResult, ...] = ()
    """The results of the tools the reply called."""
    text: str = ""
    """A plain message instead of tool results."""


def cut_result(result: ToolResult, limit: int) -> str:
    """A tool result as the model reads it, within about ``limit`` characters, saying what was cut."""
    content = bounded(result.content, limit, WINDOW_NOTE)
    if isinstance(content, dict) and "error" in content and content is not result.content:
        # Not cut to shape (an edit's report, an error): say it was left out, not that it failed.
        size = len(json.dumps(result.content, ensure_ascii=False))
        content = {
            "note": f"this result ({size} characters) was left out to fit {WINDOW_NOTE}; "
            "call the tool again if you need it"
        }
    return tool_response(result.name, content)


@attrs.define
class Conversation:
    """What an action has said to the model so far, rendered to fit a room in characters."""

    system: str
    task: Sequence[Part]
    """The parts of the first user message (see :mod:`hermes_lsp.model.window`)."""
    turns: list[Turn] = attrs.Factory(list)
    _task_text: tuple[int | None, str | None] | None = None
    """The task message fitted for a room, kept while the room holds."""

    def add(self, turn: Turn) -> None:
        self.turns.append(turn)

    def least_chars(self) -> int:
        """The least characters the opening messages can take (system prompt, task at its least)."""
        return len(self.system) + least_chars(self.task) + 2 * MESSAGE_OVERHEAD_CHARS

    def task_text(self, room: int | None) -> str | None:
        """The task message for ``room`` characters of prompt (None: it does not fit)."""
        if self._task_text is None or self._task_text[0] != room:
            share = None
            if room is not None:
                left = room - len(self.system) - 2 * MESSAGE_OVERHEAD_CHARS
                share = min(left, max(int(left * TASK_SHARE), least_chars(self.task)))
            self._task_text = (room, fit(self.task, share))
        return self._task_text[1]

    def messages(self, room: int | None) -> list[dict[str, str]] | None:
        """The chat messages within ``room`` characters (None: the window is unknown, nothing
        is cut); None when they cannot be made to fit."""
        task = self.task_text(room)
        if task is None:
            return None
        replies = [turn.reply for turn in self.turns]
        results = [[cut_result(r, UNCUT) for r in turn.results] for turn in self.turns]
        if room is not None:
            excess = len(self.system) + len(task) + 2 * MESSAGE_OVERHEAD_CHARS - room
            for reply, said, turn in zip(replies, results, self.turns, strict=True):
                told = sum(len(r) + 1 for r in said) if said else len(turn.text)
                excess += len(reply) + told + 2 * MESSAGE_OVERHEAD_CHARS
            excess = self._shorten_results(results, excess)
            excess = _leave_out_replies(replies, excess)
            if excess > 0:
                return None
        messages = [{"role": "system", "content": self.system}, {"role": "user", "content": task}]
        for reply, said, turn in zip(replies, results, self.turns, strict=True):
            messages.append({"role": "assistant", "content": reply})
            messages.append({"role": "user", "content": "\n".join(said) if said else turn.text})
        return messages

    def _shorten_results(self, results: list[list[str]], excess: int) -> int:
        """Shorten tool results, oldest first, until ``excess`` characters are gone; what is left over."""
        for rendered, turn in zip(results, self.turns, strict=True):
            for index, result in enumerate(turn.results):
                if excess <= 0:
                    return excess
                now = len(rendered[index])
                # A little under the aim: the note that says what was cut takes room too.
                shorter = cut_result(result, max(RESULT_STUB_CHARS, now - excess - 64))
                if len(shorter) < now:
                    rendered[index] = shorter
                    excess -= now - len(shorter)
        return excess


def _leave_out_replies(replies: list[str], excess: int) -> int:
    """Leave out earlier replies (never the latest), oldest first; the excess left over."""
    for index in range(len(replies) - 1):
        if excess <= 0:
            break
        if len(replies[index]) > len(EARLIER_REPLY_LEFT_OUT):
            excess -= len(replies[index]) - len(EARLIER_REPLY_LEFT_OUT)
            replies[index] = EARLIER_REPLY_LEFT_OUT
    return excess

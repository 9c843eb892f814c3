"""The bounded tool loop behind every code action.

Each turn the model may read (symbols, references, file ranges: see
:mod:`~hermes_lsp.features.read_tools`) or edit (through :class:`~hermes_lsp.edits.EditSet`,
in memory); results go back as ``<tool_response>``, and a failing tool is an error result,
never a failed action. Every request is fitted to the model's context window
(:mod:`~hermes_lsp.features.conversation`); one the server refuses as too long is fitted to
what the refusal says and sent once more.
The loop ends when the model answers without calling a tool, or after ``max_steps``
turns. Edits that break the syntax are shown to the model once for repair; if they are
still broken, nothing is offered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import aclosing
from typing import Any

import attrs

from hermes_lsp.config import ActionSettings, LimitSettings
from hermes_lsp.context.types import ContextEngine
from hermes_lsp.edits import EditError, EditSet
from hermes_lsp.features.conversation import Conversation, ToolResult, Turn
from hermes_lsp.features.read_tools import ReadTools, describe_failure
from hermes_lsp.model.client import ModelClient, ModelContextExceeded
from hermes_lsp.model.tools import EDIT_TOOL_NAMES, READ_TOOL_NAMES, ParsedReply, parse_reply
from hermes_lsp.model.window import answer_tokens, limit_after_refusal, prompt_room

log = logging.getLogger(__name__)

# Progress callback: a short message for the editor's progress UI.
Progress = Callable[[str], None]


@attrs.frozen
class AgentResult:
    answer: str
    """The model's final words: what it changed and why (or its explanation)."""
    problems: list[str]
    """Why the edits cannot be offered; empty when they can."""
    requests: int
    """Model requests the action took."""
    refused: list[str] = attrs.Factory(list)
    """Why each edit call that was refused (and not applied) was refused."""
    broken: list[str] = attrs.Factory(list)
    """Syntax errors the edits would still leave after one repair: they are not offered."""


def _throttled(progress: Progress, interval: float = 0.25) -> Callable[[str], None]:
    last = [0.0]

    def report(message: str) -> None:
        now = time.monotonic()
        if now - last[0] >= interval:
            last[0] = now
            progress(message)

    return report


class ThoughtFollower:
    """The model's latest line of reasoning while it streams, for the progress message.

    Each delta is looked at once (with a tag's length of overlap), never the whole answer
    again: a long ``<think>`` block costs time in proportion to its length, not its square.
    """

    _OVERLAP = len("</think>")
    _LOOKBACK = 400

    def __init__(self) -> None:
        self._start: int | None = None
        """Where the open ``<think>`` block's text starts; None when none is open."""
        self._seen = 0

    def feed(self, raw: str) -> str | None:
        """The last line of the open ``<think>`` block in ``raw`` (which only grows)."""
        window_start = max(0, self._seen - self._OVERLAP)
        window = raw[window_start:]
        self._seen = len(raw)
        opened, closed = window.rfind("<think>"), window.rfind("</think>")
        if opened > closed:
            self._start = window_start + opened + len("<think>")
        elif closed != -1:
            self._start = None
        if self._start is None:
            return None
        recent = raw[max(self._start, len(raw) - self._LOOKBACK) :]
        lines = [ln.strip() for ln in recent.split("\n") if ln.strip()]
        return lines[-1][:100] if lines else None


class DoesNotFit(Exception):
    """The action's prompt cannot be made to fit the model's context window; ``str()`` says why."""


async def run_agent(
    model: ModelClient,
    conversation: Conversation,
    edits: EditSet,
    engine: ContextEngine,
    settings: ActionSettings,
    *,
    reasoning: bool,
    progress: Progress,
    limits: LimitSettings | None = None,
) -> AgentResult:
    """Run the tool loop until the model answers; the edits stay in ``edits``.

    Each request is fitted to the model's context window (when it is known) with the
    answer's tokens set aside; a request the server refuses as too long is fitted to what
    the refusal says and sent once more. Each turn reads at most ``limits.maxAnswerChars``
    of the model's answer; each read tool result holds at most ``limits.maxToolResultChars``.
    """
    limits = limits or LimitSettings()
    max_chars = limits.max_answer_chars
    reader = ReadTools(engine, edits, limits.max_tool_result_chars)
    stream_progress = _throttled(progress)
    extra = {"chat_template_kwargs": {"thinking": True}} if reasoning else None
    repaired = False
    last_error = ""
    refused: list[str] = []
    for step in range(1, settings.max_steps + 1):
        try:
            raw = await _turn(model, conversation, settings, extra, max_chars, stream_progress, step)
        except DoesNotFit as exc:
            return AgentResult("", [str(exc)], step, refused)
        capped = len(raw) >= max_chars
        reply = parse_reply(raw)
        if capped and not reply.calls:
            # Nothing usable in the part that was read: say why, rather than "no change".
            problem = f"the model's answer grew past {max_chars} characters (hermes.limits.maxAnswerChars)"
            return AgentResult("", [problem], step, refused)
        results = await _run_tools(reply, reader, edits, progress, refused)
        # Keep the history lean: earlier reasoning is not needed to continue.
        if results:
            last_error = next((r for r in reply.errors), last_error)
            conversation.add(Turn(_without_thinking(raw), tuple(results)))
            continue
        progress("Checking the edits")
        problems = await edits.check_syntax()
        if problems and not repaired:
            repaired = True
            text = (
                "Your edits would break the syntax: "
                + "; ".join(problems)
                + ". The files now hold your edits; fix them with the edit tools, then answer."
            )
            conversation.add(Turn(_without_thinking(raw), text=text))
            continue
        broken = [f"the edit would break the syntax ({p})" for p in problems]
        return AgentResult(reply.text, [], step, refused, broken)
    reason = f"the model did not finish within {settings.max_steps} steps"
    if last_error:
        reason += f" (last problem: {last_error})"
    return AgentResult("", [reason], settings.max_steps, refused)


async def _turn(
    model: ModelClient,
    conversation: Conversation,
    settings: ActionSettings,
    extra: dict[str, Any] | None,
    max_chars: int,
    stream_progress: Progress,
    step: int,
) -> str:
    """One model turn (at most ``max_chars`` of it), its prompt fitted to the window."""
    limit = await model.context_length()
    for may_retry in (True, False):
        answer = answer_tokens(settings.max_tokens, limit)
        room = prompt_room(limit, answer, model.chars_per_token) if limit else None
        messages = conversation.messages(room)
        if messages is None:
            raise DoesNotFit(_why_it_does_not_fit(model, conversation, limit or 0, answer, step))
        raw = ""
        thoughts = ThoughtFollower()
        stream = model.stream_chat(
            messages, max_tokens=answer, temperature=settings.temperature, extra_body=extra
        )
        try:
            async with aclosing(stream) as deltas:
                async for delta in deltas:
                    raw += delta
                    if len(raw) >= max_chars:
                        return raw[:max_chars]  # closing the stream stops the generation
                    thought = thoughts.feed(raw)
                    if thought:
                        stream_progress(f"Thinking: {thought}")
        except ModelContextExceeded as exc:
            if not may_retry:
                raise
            log.info("the model server refused an action's prompt as too long; fitting it: %s", exc)
            limit = await limit_after_refusal(model, exc, messages)
            continue
        return raw
    raise AssertionError("unreachable: the second attempt returns or raises")


def _why_it_does_not_fit(
    model: ModelClient, conversation: Conversation, limit: int, answer: int, step: int
) -> str:
    """What the user reads when an action's prompt cannot fit the window."""
    window = f"the model's context window ({limit} tokens, {answer} of them kept for the answer)"
    if step > 1:
        return (
            f"the conversation outgrew {window} after {step - 1} steps; "
            "select less code, or serve the model with a longer context"
        )
    least = int(conversation.least_chars() / model.chars_per_token)
    return (
        f"the code it works on does not fit {window}: its prompt needs about {least} tokens even "
        "with everything else left out; select less code, or serve the model with a longer context"
    )


def _without_thinking(raw: str) -> str:
    start = raw.find("<think>")
    end = raw.rfind("</think>")
    if start != -1 and end != -1:
        return (raw[:start] + raw[end + len("</think>") :]).strip()
    return raw.strip()


async def _run_tools(
    reply: ParsedReply, reader: ReadTools, edits: EditSet, progress: Progress, refused: list[str]
) -> list[ToolResult]:
    results = [ToolResult("error", error) for error in reply.errors]
    for call in reply.calls:
        if call.name in READ_TOOL_NAMES:
            progress(f"Reading: {call.name} {_short(call.arguments)}")
            content: Any = await reader.call(call)
        elif call.name in EDIT_TOOL_NAMES:
            progress(f"Editing: {call.name} {_short(call.arguments)}")
            try:
                content = {"ok": await edits.run(call)}
            except EditError as exc:
                refused.append(str(exc))
                content = {"error": str(exc)}
            except Exception as exc:  # an unexpected failure is the model's to hear about too
                log.exception("the %s tool failed", call.name)
                refused.append(f"{call.name} failed ({describe_failure(exc)})")
                content = {"error": f"{call.name} failed ({describe_failure(exc)}); nothing was changed"}
        else:
            known = ", ".join(sorted(READ_TOOL_NAMES | EDIT_TOOL_NAMES))
            content = {"error": f"there is no tool named {call.name!r}; the tools are: {known}"}
        results.append(ToolResult(call.name, content))
    return results


def _short(arguments: dict[str, Any]) -> str:
    for key in ("path", "name", "symbol", "anchor"):
        if isinstance(arguments.get(key), str):
            return arguments[key][:60]
    return ""

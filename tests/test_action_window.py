"""Sizing a code action's prompt to the model's context window: the parts of its message
and the growing conversation of its tool loop."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hermes_lsp.features.conversation import EARLIER_REPLY_LEFT_OUT, Conversation, ToolResult, Turn
from hermes_lsp.model.window import (
    MESSAGE_OVERHEAD_CHARS,
    Around,
    Blocks,
    Ends,
    Fixed,
    Part,
    answer_tokens,
    fit,
    least_chars,
    prompt_room,
)


def messages_chars(messages: list[dict[str, str]]) -> int:
    """Characters a chat prompt takes as the fitting counts them: each message's text and
    what a chat template adds around it."""
    return sum(len(m["content"]) + MESSAGE_OVERHEAD_CHARS for m in messages)


LINES = [f"line_{n} = compute(records[{n}])" for n in range(1, 2001)]


def numbered(first: int, last: int) -> str:
    return "\n".join(f"{n:>5}  {LINES[n - 1]}" for n in range(first, last + 1))


def around(first: int, last: int, margin: int, rank: int = 1, optional: bool = False) -> Around:
    span = (max(1, first - margin), min(len(LINES), last + margin))
    return Around((first, last), span, numbered, rank=rank, optional=optional)


@st.composite
def parts(draw: st.DrawFn) -> list[Part]:
    chosen: list[Part] = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["fixed", "blocks", "around", "ends"]))
        rank = draw(st.integers(0, 4))
        if kind == "fixed":
            chosen.append(Fixed("t" * draw(st.integers(0, 3000)), rank))
        elif kind == "blocks":
            sizes = draw(st.lists(st.integers(1, 2000), max_size=8))
            chosen.append(Blocks("Context:\n\n", tuple("b" * n for n in sizes), rank))
        elif kind == "around":
            first = draw(st.integers(1, 1900))
            last = draw(st.integers(first, first + 50))
            chosen.append(around(first, last, draw(st.integers(0, 60)), rank, draw(st.booleans())))
        else:
            text = "\n".join("frame " * draw(st.integers(0, 30)) for _ in range(draw(st.integers(1, 300))))
            chosen.append(Ends(text, cap=6000, floor=draw(st.integers(0, 1200)), rank=rank))
    return chosen


@settings(max_examples=300, deadline=None)
@given(parts(), st.integers(0, 40_000))
def test_a_fitted_message_fits_its_room_or_is_refused(chosen: list[Part], room: int) -> None:
    fitted = fit(chosen, room)
    if least_chars(chosen) > room:
        assert fitted is None  # refused: nothing is sent that must fail
    else:
        assert fitted is not None and len(fitted) <= room
        for part in chosen:
            if isinstance(part, Fixed) and part.text:
                assert part.text in fitted  # what is never cut is whole


@settings(max_examples=200, deadline=None)
@given(parts())
def test_with_room_enough_nothing_is_cut(chosen: list[Part]) -> None:
    whole = fit(chosen, None)
    # What each part takes uncut (a trace cut to its cap is given the whole cap).
    need = sum(p.cap if isinstance(p, Ends) else len(p.render(1 << 62)) for p in chosen) + 2 * len(chosen)
    assert whole is not None and fit(chosen, need) == whole


@given(st.integers(1, 10**6), st.integers(0, 10**6), st.floats(0.5, 8.0))
def test_the_answer_never_takes_the_whole_window(max_tokens: int, window: int, density: float) -> None:
    answer = answer_tokens(max_tokens, window or None)
    assert answer <= max_tokens
    if window:
        assert answer <= max(1, window // 2)
        assert prompt_room(window, answer, density) >= 0


def test_repository_context_is_cut_before_the_lines_around_the_target() -> None:
    target = around(1000, 1004, 40)
    context = Blocks("Related code:\n\n", tuple(f"def helper_{n}(): ...\n" * 20 for n in range(10)), rank=2)
    task = Fixed("Task: fix it.")
    whole_file = target.render(1 << 30)
    room = len(whole_file) + len(task.text) + 600
    fitted = fit([context, target, task], room)
    assert fitted is not None and whole_file in fitted  # the file around it is whole
    assert fitted.count("def helper_") < 10 * 20  # the context gave way
    # Less room still: the context is gone, then the lines around the target shrink,
    # but the target's own lines stay.
    tight = fit([context, target, task], len(numbered(1000, 1004)) + len(task.text) + 10)
    assert tight is not None and "def helper_" not in tight
    assert numbered(1000, 1004) in tight and "line_960 " not in tight
    assert fit([context, target, task], len(numbered(1000, 1004)) - 1) is None


def test_a_long_trace_keeps_its_start_and_its_end() -> None:
    trace = "\n".join(
        ["Traceback (most recent call last):"] + [f'  File "app.py", line {n}' for n in range(500)]
    )
    trace += "\nRecursionError: maximum recursion depth exceeded"
    part = Ends(trace, cap=6000, floor=800)
    cut = part.render(1500)
    assert len(cut) <= 1500
    assert cut.startswith("Traceback") and cut.endswith("maximum recursion depth exceeded")
    assert "lines left out to fit the model's context window" in cut
    assert len(part.render(1 << 30)) <= 6000  # capped even when the window is unknown


@st.composite
def conversations(draw: st.DrawFn) -> Conversation:
    system = "s" * draw(st.integers(0, 6000))
    task: list[Part] = [
        Blocks("Context:\n\n", tuple("c" * n for n in draw(st.lists(st.integers(1, 3000), max_size=5))), 2),
        around(
            draw(st.integers(50, 1900)), draw(st.integers(1900, 1950)) if draw(st.booleans()) else 1950, 40
        ),
        Fixed("Task: " + "x" * draw(st.integers(0, 500))),
    ]
    conversation = Conversation(system, task)
    for _ in range(draw(st.integers(0, 6))):
        reply = "r" * draw(st.integers(0, 4000))
        results = tuple(
            ToolResult("read_file", {"path": "a.py", "text": "y" * draw(st.integers(0, 32000))})
            for _ in range(draw(st.integers(0, 3)))
        )
        conversation.add(Turn(reply, results) if results else Turn(reply, text="fix the syntax"))
    return conversation


@settings(max_examples=300, deadline=None)
@given(
    conversations(),
    st.integers(512, 200_000),
    st.integers(1, 8192),
    st.floats(0.5, 8.0),
)
def test_every_request_of_an_action_fits_the_window_or_is_not_sent(
    conversation: Conversation, window: int, max_tokens: int, density: float
) -> None:
    """For any sizes: the prompt plus the answer's tokens fit the window, or nothing is sent."""
    answer = answer_tokens(max_tokens, window)
    room = prompt_room(window, answer, density)
    messages = conversation.messages(room)
    if messages is None:
        return
    assert messages_chars(messages) / density + answer <= window
    assert messages[0]["content"] == conversation.system
    if conversation.turns:  # the latest reply, whose results follow, is whole
        assert messages[-2]["content"] == conversation.turns[-1].reply


def test_oldest_tool_results_are_cut_first_and_the_model_is_told() -> None:
    conversation = Conversation("system", [Fixed("Task: read and fix.")])
    for n in range(3):
        text = "\n".join(f"{n}-{i} " * 10 for i in range(200))
        reply = f"reading part {n} " + "to see where the value comes from " * 8
        conversation.add(Turn(reply, (ToolResult("read_file", {"path": "a.py", "text": text}),)))
    whole = conversation.messages(None)
    assert whole is not None
    room = messages_chars(whole) - 12_000
    fitted = conversation.messages(room)
    assert fitted is not None and messages_chars(fitted) <= room
    told = [m["content"] for m in fitted if m["role"] == "user"][1:]
    assert "cut to fit the model's context window" in told[0]
    assert told[2] == [m["content"] for m in whole if m["role"] == "user"][3]  # the latest is whole
    assert len(told[0]) < len(told[1]) or told[1] == [m["content"] for m in whole][5]
    # Tighter: every result gives way, and earlier replies too, but not the latest reply.
    tight = conversation.messages(len("system") + 1_300)
    assert tight is not None and messages_chars(tight) <= len("system") + 1_300
    assert [m["content"] for m in tight if m["role"] == "assistant"][:2] == [EARLIER_REPLY_LEFT_OUT] * 2
    assert tight[-2]["content"] == conversation.turns[-1].reply
    assert conversation.messages(100) is None  # not even the task fits: nothing is sent

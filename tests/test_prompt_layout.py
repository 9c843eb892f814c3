"""The completion prompt layout: what the model sees, and how much of it a keystroke changes."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hermes_lsp.config import CompletionSettings
from hermes_lsp.context.types import NullContext, Piece
from hermes_lsp.features.completion import CompletionService, Cursor
from hermes_lsp.features.prompt_state import file_view, stable_pieces
from hermes_lsp.model.client import ModelClient, ModelConfig
from hermes_lsp.model.hermes import (
    CURSOR,
    MAX_LIVE_CHARS,
    Budgets,
    CompletionRequest,
    completion_messages,
    prompt_window,
)
from hermes_lsp.scripted_server import Reply, ScriptedServer
from hermes_lsp.text import common_ends

TYPING = Path(os.__file__).with_name("typing.py").read_text(encoding="utf-8")


def _prompt(state, text: str, offset: int, pieces=()):  # type: ignore[no-untyped-def]
    state, view, restart = file_view(state, text, offset, 3000, 1000)
    shown = stable_pieces(state, list(pieces), 2048, restart)
    messages = completion_messages(CompletionRequest("typing.py", "python", view, False), shown)
    return state, view, restart, messages[1]["content"]


edits = st.lists(
    st.tuples(st.floats(0, 1), st.integers(0, 40), st.text("x_ (\n", max_size=12)), min_size=1, max_size=12
)


@settings(max_examples=60, deadline=None)
@given(edits)
def test_the_live_lines_are_the_document_around_the_cursor_after_any_edits(steps) -> None:  # type: ignore[no-untyped-def]
    """Whatever the user typed or deleted, the live part is exactly the document at the
    cursor, the marker sits at the cursor, and the snapshot is a run of whole lines."""
    text, state = TYPING, None
    for where, deleted, inserted in steps:
        offset = int(where * len(text))
        text = text[:offset] + inserted + text[offset + deleted :]
        cursor = offset + len(inserted)
        state, view, _, content = _prompt(state, text, cursor)
        live_start = cursor - len(view.before)
        assert (
            text[live_start:cursor] == view.before and text[cursor : cursor + len(view.after)] == view.after
        )
        assert live_start == 0 or text[live_start - 1] == "\n"
        assert text.count("\n", 0, live_start) + 1 == view.live_line
        # The marker: in the live lines' header, at the cursor, in the instruction.
        assert content.count(CURSOR) == 3 and f"{view.before}{CURSOR}{view.after}" in content
        assert len(view.before) + len(view.after) <= MAX_LIVE_CHARS
        assert state.document[state.start : state.end] == view.snapshot
        # Never less of the file than a window cut for this cursor: the snapshot covers it.
        start, end = prompt_window(text, cursor, 3000, 1000)
        assert state.start <= start and end <= state.end + len(text) - len(state.document)


def test_typing_a_word_costs_the_characters_typed_not_the_text_after_the_cursor() -> None:
    line = TYPING.index("\n", len(TYPING) // 2) + 1
    state, _, restart, first = _prompt(None, TYPING, line)
    assert restart
    text = TYPING[:line] + "value = compute(" + TYPING[line:]
    state, _, restart, second = _prompt(state, text, line + len("value = compute("))
    assert not restart
    changed = len(second) - common_ends(first, second)[0]
    # What follows the typed text: the rest of the live lines and the instruction.
    assert changed < 400
    # The model still sees the whole window: before and after the cursor.
    start, end = prompt_window(text, line, 3000, 1000)
    assert TYPING[start:line] in second and TYPING[line:end] in second


def test_moving_far_away_takes_a_new_snapshot_around_the_new_cursor() -> None:
    state, _, _, _ = _prompt(None, TYPING, len(TYPING) // 4)
    far = TYPING.index("\n", 3 * len(TYPING) // 4) + 1
    _, view, restart, content = _prompt(state, TYPING, far)
    assert restart
    assert TYPING[far - 2000 : far + 1000] in view.snapshot
    assert f"{CURSOR}{TYPING[far : far + 20]}" in content


def test_new_context_is_appended_and_old_context_stays_in_place() -> None:
    a = Piece("definition", "a.py", 1, 2, "def a():\n    pass", 5)
    b = Piece("definition", "b.py", 1, 2, "def b():\n    pass", 5)
    c = Piece("definition", "c.py", 1, 2, "def c():\n    pass", 5)
    offset = len(TYPING) // 2
    state, _, _, first = _prompt(None, TYPING, offset, [a, b])
    state, _, _, second = _prompt(state, TYPING, offset, [c, a])
    assert second.index("def a()") < second.index("def b()") < second.index("def c()")
    # Everything before the new piece is what the first prompt had.
    assert first[: first.index("From line")] == second[: second.index("definition from c.py")]


def test_context_starts_over_when_it_outgrows_twice_the_budget() -> None:
    offset = len(TYPING) // 2
    state = None
    for index in range(6):
        piece = Piece("definition", f"m{index}.py", 1, 1, f"x{index} = 1", 1000)
        state, _, _, content = _prompt(state, TYPING, offset, [piece])
    assert state is not None and state.tokens <= 2 * 2048
    assert "x5 = 1" in content and "x0 = 1" not in content


def test_a_line_longer_than_the_live_limit_still_gives_a_bounded_prompt() -> None:
    text = "x = '" + "a" * 50_000 + "'\n"
    _, view, _, content = _prompt(None, text, 30_000)
    assert len(view.before) + len(view.after) <= MAX_LIVE_CHARS
    assert content.count(CURSOR) == 3


class CountingContext(NullContext):
    """A context engine that counts retrievals and returns one piece naming the last word."""

    def __init__(self, defined: frozenset[str] = frozenset({"comp"})) -> None:
        self.calls = 0
        self.defined = defined

    def context(self, uri: str, text: str, offset: int, budget: int, purpose: str) -> list[Piece]:  # type: ignore[override]
        self.calls += 1
        word = text[:offset].split()[-1] if text[:offset].split() else ""
        return [Piece("definition", "w.py", 1, 1, f"# near {word}", 4)]

    def defines(self, name: str) -> bool:
        return name in self.defined


def _service(engine: CountingContext) -> CompletionService:
    return CompletionService(
        model=lambda: None,  # type: ignore[arg-type,return-value]
        settings=CompletionSettings,
        context=lambda: engine,
        on_error=lambda error: None,
    )


def test_typing_inside_a_word_reuses_the_retrieval_and_the_next_word_retrieves_again() -> None:
    engine = CountingContext()
    service = _service(engine)
    text = "import os\n\nvalue = \n"
    at = text.index("= ") + 2
    budgets = Budgets(3000, 1000, 2048)
    for typed in ["c", "co", "com", "comp"]:
        current = text[:at] + typed + text[at:]
        service.prepare(Cursor("file:///a.py", current, at + len(typed), "a.py", "python"), False, budgets)
    assert engine.calls == 1  # the word being typed finds nothing new
    current = text[:at] + "comp(" + text[at:]
    cursor = Cursor("file:///a.py", current, at + 5, "a.py", "python")
    messages = service.prepare(cursor, False, budgets).messages
    assert engine.calls == 2 and "# near comp(" in messages[1]["content"]
    # Moving elsewhere in the document retrieves again too.
    service.prepare(Cursor("file:///a.py", current, 3, "a.py", "python"), False, budgets)
    assert engine.calls == 3


def test_words_nothing_defines_typed_on_the_line_reuse_the_retrieval_and_a_defined_one_does_not() -> None:
    engine = CountingContext(frozenset({"compute_totals", "records"}))
    service = _service(engine)
    text = "import os\n\n\n\n"
    at = text.index("\n\n\n") + 2
    budgets = Budgets(3000, 1000, 2048)
    line = "result = compute_totals(records, key=lambda r: r.amount)"
    calls_after = []
    for count in range(1, len(line) + 1):
        current = text[:at] + line[:count] + text[at:]
        service.prepare(Cursor("file:///a.py", current, at + count, "a.py", "python"), False, budgets)
        calls_after.append(engine.calls)
    # `result`, `=`, `key`, `lambda`, `r`, `amount`: nothing defines them, the retrieval holds;
    # finishing `compute_totals` and `records` (both defined) retrieves again.
    assert engine.calls == 3
    assert calls_after[len("result = compute_totals(") - 1] == 2
    assert calls_after[len("result = compute_totals(records,") - 1] == 3
    # A sentence in a string holds it; a one-word literal (it may name a file) does not.
    for typed in [" or 'nothing to add up'", " or 'install.sh'"]:
        current = text[:at] + line + typed + text[at:]
        service.prepare(
            Cursor("file:///a.py", current, at + len(line) + len(typed), "a.py", "python"), False, budgets
        )
    assert engine.calls == 4
    # A new line with nothing defined on it holds it too, up to 120 characters typed since.
    more = " or 'install.sh'\n    x = 1"
    current = text[:at] + line + more + text[at:]
    service.prepare(
        Cursor("file:///a.py", current, at + len(line) + len(more), "a.py", "python"), False, budgets
    )
    assert engine.calls == 4
    # Past 120 characters typed since, the prompt still shows it (its refresh waits for the
    # request to go out); when none went out, the next prompt retrieves before it is built.
    more += "\n    y = 2" * 12
    for typed in [more, more + " "]:
        current = text[:at] + line + typed + text[at:]
        service.prepare(
            Cursor("file:///a.py", current, at + len(line) + len(typed), "a.py", "python"), False, budgets
        )
        assert engine.calls == 4 if typed == more else engine.calls == 5


class TimedContext(CountingContext):
    """A counting context engine that notes when each retrieval ran, and can fail one."""

    def __init__(self, defined: frozenset[str], fail_at: int = 0) -> None:
        super().__init__(defined)
        self.times: list[float] = []
        self.fail_at = fail_at

    def context(self, uri: str, text: str, offset: int, budget: int, purpose: str) -> list[Piece]:  # type: ignore[override]
        self.times.append(time.monotonic())
        if len(self.times) == self.fail_at:
            raise RuntimeError("the index is being rebuilt")
        return super().context(uri, text, offset, budget, purpose)


@contextlib.asynccontextmanager
async def _served(engine: CountingContext, model: ScriptedServer) -> AsyncIterator[CompletionService]:
    """A completion service asking the scripted model server, debounce off, that has
    completed after ``x = 1`` (one retrieval, shown)."""
    model.script(default=Reply(text="§"))
    config = ModelConfig(
        endpoint=model.url, model="", api_key="", connect_timeout=1.0, read_timeout=5.0, retries=1
    )
    client = ModelClient(config)
    try:
        service = CompletionService(
            model=lambda: client,
            settings=lambda: CompletionSettings(debounce_ms=0),
            context=lambda: engine,
            on_error=lambda error: None,
        )
        await _type(service, "x = 1")
        yield service
    finally:
        await client.aclose()


async def _type(service: CompletionService, typed: str) -> str | None:
    """Complete after ``typed``, typed on an empty line of a small file."""
    text = "import os\n\n\n\n"
    at = text.index("\n\n\n") + 2
    current = text[:at] + typed + text[at:]
    return await service.complete(Cursor("file:///a.py", current, at + len(typed), "a.py", "python"))


LONG = "x = 1" + "\n    y = 2" * 13  # more than 120 characters that nothing defines


async def test_past_the_length_limit_the_prompt_reuses_the_retrieval_and_it_is_refreshed_after_the_request(
    scripted: ScriptedServer,
) -> None:
    engine = TimedContext(frozenset({"compute_totals"}))
    async with _served(engine, scripted) as service:
        assert await _type(service, LONG) == "§"
        request = scripted.model_requests()[-1]
        # The prompt shows the earlier pieces; the retrieval ran once the request was out.
        assert "# near 1" in request.prompt and "# near 2" not in request.prompt
        assert len(engine.times) == 2 and engine.times[1] > request.received_at
        # The next keystroke shows what that retrieval found, without retrieving first.
        await _type(service, LONG + " ")
        assert "# near 2" in scripted.model_requests()[-1].prompt and len(engine.times) == 2


async def test_a_defined_word_past_the_length_limit_retrieves_before_the_request(
    scripted: ScriptedServer,
) -> None:
    engine = TimedContext(frozenset({"compute_totals"}))
    async with _served(engine, scripted) as service:
        await _type(service, LONG + " compute_totals(")
        request = scripted.model_requests()[-1]
        assert "# near compute_totals(" in request.prompt
        assert len(engine.times) == 2 and engine.times[1] < request.received_at


async def test_a_refresh_that_fails_leaves_the_suggestion_and_the_next_keystroke_retrieves_first(
    scripted: ScriptedServer,
) -> None:
    engine = TimedContext(frozenset({"compute_totals"}), fail_at=2)
    async with _served(engine, scripted) as service:
        assert await _type(service, LONG) == "§"  # its refresh failed
        await _type(service, LONG + " ")
        request = scripted.model_requests()[-1]
        assert len(engine.times) == 3 and engine.times[2] < request.received_at
        assert "# near 2" in request.prompt


def test_a_piece_from_a_file_ignored_since_is_dropped_at_once() -> None:
    kept = Piece("definition", "secret.py", 1, 2, "TOKEN = 'abc'", 5)
    other = Piece("definition", "ok.py", 1, 2, "def ok(): pass", 5)
    offset = len(TYPING) // 2
    state, _, _ = file_view(None, TYPING, offset, 3000, 1000)
    assert stable_pieces(state, [kept, other], 2048, True) == [kept, other]
    ignored = {"secret.py"}
    # The stale retrieval (the index has not caught up yet) still offers it: dropped anyway.
    shown = stable_pieces(state, [kept, other], 2048, False, lambda path: path not in ignored)
    assert shown == [other] and kept not in state.seen


def test_line_numbers_in_the_prompt_count_every_kind_of_line_ending() -> None:
    # A classic-Mac file (lone \r) and a Windows one: line 6 is line 6 to the model too.
    for ending in ("\r", "\r\n"):
        text = ending.join(f"line_{n} = {n}" for n in range(1, 11)) + ending
        cursor = text.index("line_6") + len("line_6")
        _, view, _, content = _prompt(None, text, cursor)
        assert view.snapshot_line == 1 and "lines 1-11 as they read" in content
        live_start = cursor - len(view.before)
        assert view.live_line == text.count(ending, 0, live_start) + 1

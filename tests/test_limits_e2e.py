"""Enormous and endless model answers, end to end: a real LSP client, hermes-lsp over
stdio, a scripted model server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import pytest_lsp
from pytest_lsp import LanguageClient

from hermes_lsp.config import LimitSettings
from hermes_lsp.scripted_server import Reply, ScriptedServer
from tests.support.lsp import (
    initialize,
    inline,
    offered_action,
    open_document,
    push_settings,
    read_code_actions_correctly,
    server_config,
)

ROOT = "file:///tmp/hermes-limits"
OPTIONS = {"completion": {"debounceMs": 0, "adaptiveDebounce": False}}


@pytest_lsp.fixture(scope="module", config=server_config())
async def client(lsp_client: LanguageClient, scripted_session: ScriptedServer):
    lsp_client.set_configuration({"hermes": {}})
    read_code_actions_correctly(lsp_client)
    await initialize(lsp_client, {"endpoint": scripted_session.url, **OPTIONS}, ROOT)
    yield
    await lsp_client.shutdown_session()


async def test_a_5_mb_answer_is_cut_and_another_document_is_answered_meanwhile(
    client: LanguageClient, scripted: ScriptedServer
):
    huge, small = f"{ROOT}/huge.py", f"{ROOT}/small.py"
    open_document(client, huge, "name = 'huge'\nvalue = compute(\n")
    open_document(client, small, "name = 'small'\ntotal = \n")
    answer = "x" * 5_000_000  # one endless line: no rule ever says it is complete
    scripted.script(
        Reply(text=answer, match="compute(<CURSOR>", chunk_size=4096, chunk_delay=0.02),
        Reply(text="42", match="total = <CURSOR>"),
    )
    big = asyncio.ensure_future(inline(client, huge, 1, 16))
    assert await asyncio.to_thread(scripted.wait_for, lambda: bool(scripted.model_requests()))
    other = await inline(client, small, 1, 8)
    assert other.items[0].insert_text == "42"
    result = await big
    shown = "".join(item.insert_text for item in result.items)
    assert len(shown) <= LimitSettings().max_answer_chars
    (request,) = [r for r in scripted.model_requests() if "compute(<CURSOR>" in r.prompt]
    assert await asyncio.to_thread(scripted.wait_for, lambda: request.disconnected)
    assert request.events_sent * 4096 < len(answer)  # the stream was closed, not read to the end


@pytest.fixture
def short_deadline(client: LanguageClient) -> Iterator[None]:
    """Completions get 1.5 s for this test."""
    push_settings(client, {"limits": {"completionDeadlineMs": 1500}})
    yield
    push_settings(client, {"limits": {"completionDeadlineMs": LimitSettings().completion_deadline_ms}})


@pytest.mark.usefixtures("short_deadline")
async def test_a_stream_of_one_token_a_second_ends_at_the_deadline(
    client: LanguageClient, scripted: ScriptedServer
):
    uri = f"{ROOT}/slow.py"
    open_document(client, uri, "def slow():\n    return \n")
    scripted.script(Reply(text="compute_the_answer()", chunk_size=1, chunk_delay=1.0))
    result = await inline(client, uri, 1, 11)
    assert result is not None and not result.items
    (request,) = scripted.model_requests()
    assert await asyncio.to_thread(scripted.wait_for, lambda: request.disconnected)
    assert request.finished_at is None and request.events_sent < len("compute_the_answer()")


@pytest.mark.usefixtures("short_deadline")
async def test_at_the_deadline_a_complete_line_is_still_shown(
    client: LanguageClient, scripted: ScriptedServer
):
    uri = f"{ROOT}/partial.py"
    open_document(client, uri, "def partial():\n    return \n")
    # The first line arrives at once; then the model stalls: the line is whole, show it.
    scripted.script(Reply(text="total + 1\nmore", chunk_size=10, chunk_delay=5.0))
    result = await inline(client, uri, 1, 11)
    assert [item.insert_text for item in result.items] == ["total + 1"]


async def test_a_2_mb_think_block_in_an_action_is_cut_while_completions_go_on(
    client: LanguageClient, scripted: ScriptedServer
):
    uri, other = f"{ROOT}/thinking.py", f"{ROOT}/typing.py"
    open_document(client, uri, "def area(r):\n    return 3.14 * r * r\n")
    open_document(client, other, "count = \n")
    thinking = "<think>\n" + "Consider the radius once more.\n" * 70_000  # about 2 MB, never closed
    scripted.script(
        Reply(text=thinking, path="/chat/completions", match="Task:", chunk_size=8192, chunk_delay=0.01),
        Reply(text="7", match="count = <CURSOR>"),
    )
    action = await offered_action(client, uri, "refactor.rewrite.hermes.simplify")
    client.messages.clear()
    resolving = asyncio.ensure_future(client.code_action_resolve_async(action))
    assert await asyncio.to_thread(scripted.wait_for, lambda: bool(scripted.model_requests()))
    typed = await inline(client, other, 0, 8)
    assert typed.items[0].insert_text == "7"
    resolved = await resolving
    assert resolved.edit is None
    (request,) = [r for r in scripted.model_requests() if "Task:" in r.prompt]
    assert await asyncio.to_thread(scripted.wait_for, lambda: request.disconnected)
    assert request.events_sent * 8192 < len(thinking)
    assert any("grew past 65536 characters" in m.message for m in client.messages), client.messages


async def test_an_action_ends_at_its_deadline_with_a_message_that_says_so(
    client: LanguageClient, scripted: ScriptedServer
):
    uri = f"{ROOT}/deadline.py"
    open_document(client, uri, "def slow(r):\n    return r\n")
    push_settings(client, {"limits": {"actionDeadlineMs": 1500}})
    try:
        scripted.script(Reply(text="Thinking about it " * 20, path="/chat/completions", chunk_delay=1.0))
        action = await offered_action(client, uri, "refactor.rewrite.hermes.simplify")
        client.messages.clear()
        resolved = await client.code_action_resolve_async(action)
        assert resolved.edit is None
        (request,) = scripted.model_requests()
        assert await asyncio.to_thread(scripted.wait_for, lambda: request.disconnected)
        shown = [m.message for m in client.messages]
        assert "hermes-lsp: Hermes could not simplify: it did not finish within 1.5 s" in shown[0], shown
    finally:
        push_settings(client, {"limits": {"actionDeadlineMs": LimitSettings().action_deadline_ms}})

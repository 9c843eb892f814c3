"""Inline completion end to end: a real LSP client, hermes-lsp over stdio, a scripted model
server on a loopback socket."""

from __future__ import annotations

import asyncio
import time

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from hermes_lsp.scripted_server import Reply, ScriptedServer
from tests.support.lsp import initialize, inline, insert, open_document, server_config, until

ROOT = "file:///tmp/hermes-e2e"


@pytest_lsp.fixture(scope="module", config=server_config())
async def client(lsp_client: LanguageClient, scripted_session: ScriptedServer):
    lsp_client.set_configuration({"hermes": {}})
    await initialize(lsp_client, {"endpoint": scripted_session.url}, ROOT)
    yield
    await lsp_client.shutdown_session()


def doc(name: str) -> str:
    return f"{ROOT}/{name}"


async def test_ghost_text_is_shown(client: LanguageClient, scripted: ScriptedServer):
    scripted.script(Reply(text="```python\nreturn a + b\n```"))
    uri = doc("add.py")
    open_document(client, uri, "def add(a, b):\n    \n")
    result = await inline(client, uri, 1, 4)
    assert result is not None and len(result.items) == 1
    item = result.items[0]
    assert item.insert_text == "return a + b"
    assert item.range == types.Range(types.Position(1, 4), types.Position(1, 4))
    request = scripted.model_requests()[0]
    assert request.body["stream"] is True
    # The prompt marks the cursor between prefix and suffix.
    assert "def add(a, b):\n    <CURSOR>\n" in request.prompt


async def test_newer_keystroke_cancels_stale_request_and_closes_its_stream(
    client: LanguageClient, scripted: ScriptedServer
):
    uri = doc("stale.py")
    open_document(client, uri, "def f():\n    x = \n")
    scripted.script(
        Reply(text="slow_answer()", first_delay=3.0, match="x = <CURSOR>"),
        Reply(text="fast_answer()", match="x = 1<CURSOR>"),
    )
    first = asyncio.ensure_future(inline(client, uri, 1, 8))
    assert await until(lambda: len(scripted.model_requests()) == 1)
    insert(client, uri, 2, 1, 8, "1")
    second = await inline(client, uri, 1, 9)
    stale = scripted.model_requests()[0]
    assert await until(lambda: stale.disconnected, timeout=2.0), "stale upstream stream left open"
    assert (await first) is not None and len((await first).items) == 0
    assert second is not None and second.items[0].insert_text == "fast_answer()"


async def test_cancel_request_closes_upstream_stream(client: LanguageClient, scripted: ScriptedServer):
    uri = doc("cancel.py")
    open_document(client, uri, "total = \n")
    scripted.script(Reply(text="sum(values)", first_delay=3.0))
    params = types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(0, 8),
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
    )
    future = client.protocol.send_request(types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id="cancel-me")
    assert await until(lambda: len(scripted.model_requests()) == 1)
    sent = time.monotonic()
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="cancel-me"))
    upstream = scripted.model_requests()[0]
    assert await until(lambda: upstream.disconnected, timeout=2.0)
    assert upstream.disconnected_at - sent < 0.5
    with pytest.raises(Exception, match="cancel"):
        await asyncio.wait_for(asyncio.wrap_future(future) if not asyncio.isfuture(future) else future, 5)


async def test_typing_the_suggestion_is_served_without_a_model_call(
    client: LanguageClient, scripted: ScriptedServer
):
    uri = doc("typeahead.py")
    open_document(client, uri, "for item in items:\n    \n")
    scripted.script(Reply(text="print(item.name)"))
    first = await inline(client, uri, 1, 4)
    assert first is not None and first.items[0].insert_text == "print(item.name)"
    insert(client, uri, 2, 1, 4, "pri")
    second = await inline(client, uri, 1, 7)
    assert second is not None and second.items[0].insert_text == "nt(item.name)"
    assert len(scripted.model_requests()) == 1


async def test_same_prompt_twice_is_answered_from_the_cache(client: LanguageClient, scripted: ScriptedServer):
    uri = doc("cache.py")
    open_document(client, uri, "import os\npath = \n")
    scripted.script(Reply(text="os.getcwd()"))
    first = await inline(client, uri, 1, 7)
    insert(client, uri, 2, 1, 7, "x")  # type something else, then take it back
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=3),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(1, 7), types.Position(1, 8)), text=""
                )
            ],
        )
    )
    second = await inline(client, uri, 1, 7)
    assert first.items[0].insert_text == second.items[0].insert_text == "os.getcwd()"
    assert len(scripted.model_requests()) == 1


async def test_garbage_stream_gives_nothing_and_server_survives(
    client: LanguageClient, scripted: ScriptedServer
):
    uri = doc("garbage.py")
    open_document(client, uri, "value = \n")
    scripted.script(Reply(body="data: {this is not json\n\n", times=1), Reply(text="42"))
    result = await inline(client, uri, 0, 8)
    assert result is not None and len(result.items) == 0
    insert(client, uri, 2, 0, 8, " ")
    again = await inline(client, uri, 0, 9)
    assert again.items[0].insert_text == "42"


async def test_stream_cut_midway_shows_no_partial_text(client: LanguageClient, scripted: ScriptedServer):
    uri = doc("cut.py")
    open_document(client, uri, "def area(r):\n    \n")
    scripted.script(Reply(text="return 3.14159 * r * r", chunk_size=3, cut_after=2))
    result = await inline(client, uri, 1, 4)
    assert result is not None and len(result.items) == 0
    assert client.error is None


async def test_non_ascii_line_gives_utf16_ranges(client: LanguageClient, scripted: ScriptedServer):
    uri = doc("unicode.py")
    line = 'greeting = "😀 漢字" + '
    open_document(client, uri, line + "\n")
    scripted.script(Reply(text="name"))
    utf16_end = len(line.encode("utf-16-le")) // 2  # the emoji is two UTF-16 units
    assert utf16_end == len(line) + 1
    result = await inline(client, uri, 0, utf16_end)
    item = result.items[0]
    assert item.insert_text == "name"
    assert item.range.start == types.Position(0, utf16_end)
    # The cursor landed after the "+ ", not one character early or late.
    assert f"{line}<CURSOR>" in scripted.model_requests()[0].prompt


async def test_completion_fallback_replaces_the_word_being_typed(
    client: LanguageClient, scripted: ScriptedServer
):
    uri = doc("fallback.py")
    open_document(client, uri, "result = comp\n")
    scripted.script(Reply(text="ute_total(items)"))
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(0, 13)
        )
    )
    item = result.items[0]
    assert item.text_edit.new_text == "compute_total(items)"
    assert item.text_edit.range == types.Range(types.Position(0, 9), types.Position(0, 13))

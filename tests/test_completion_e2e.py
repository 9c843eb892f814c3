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
from tests.support.lsp import initialize, inline, insert, open_document, push_settings, server_config, until

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


async def test_asking_for_more_suggestions_samples_different_ones(
    client: LanguageClient, scripted: ScriptedServer
):
    uri = doc("more.py")
    open_document(client, uri, "def add(a, b):\n    \n")
    scripted.script(
        Reply(text="return a + b", times=1),
        Reply(text="return b + a", times=1),
        Reply(text="return a + b", times=1),  # a duplicate is not offered twice
    )
    typed = await inline(client, uri, 1, 4)
    assert typed is not None and [i.insert_text for i in typed.items] == ["return a + b"]
    assert len(scripted.model_requests()) == 1  # typing costs one request, no more

    more = await inline(client, uri, 1, 4, types.InlineCompletionTriggerKind.Invoked)

    assert more is not None and [i.insert_text for i in more.items] == ["return a + b", "return b + a"]
    first, *extra = scripted.model_requests()
    assert len(extra) == 2  # the first suggestion came from the cache
    assert all(r.body["temperature"] > first.body["temperature"] for r in extra)


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


async def test_model_server_down_gives_empty_result_and_one_clear_message(
    client: LanguageClient, scripted: ScriptedServer
):
    uri = doc("down.py")
    open_document(client, uri, "x = \n")
    client.messages.clear()
    push_settings(client, {"endpoint": "http://127.0.0.1:9/v1", "retries": 1})
    try:
        for version in (2, 3):
            result = await inline(client, uri, 0, 4)
            assert result is not None and len(result.items) == 0
            insert(client, uri, version, 0, 4, " ")
        errors = [m for m in client.messages if "Cannot reach the model server" in m.message]
        assert len(errors) == 1, client.messages
        assert errors[0].type == types.MessageType.Error
        assert "127.0.0.1:9" in errors[0].message and "HERMES_LSP_ENDPOINT" in errors[0].message
    finally:
        push_settings(client, {"endpoint": scripted.url, "retries": 2})
    scripted.script(Reply(text="1"))
    assert await until(lambda: True)
    back = await inline(client, uri, 0, 6)
    assert back.items[0].insert_text == "1"


async def test_settings_change_applies_live(client: LanguageClient, scripted: ScriptedServer):
    uri = doc("live.py")
    open_document(client, uri, "name = \n")
    scripted.script(Reply(text="'hermes'"))
    push_settings(client, {"completion": {"maxTokens": 7, "temperature": 0.5}})
    try:
        await inline(client, uri, 0, 7)
        body = scripted.model_requests()[-1].body
        assert body["max_tokens"] == 7 and body["temperature"] == 0.5
        # The pull model: the client only says "changed"; the server asks workspace/configuration.
        client.set_configuration({"hermes": {"completion": {"maxTokens": 9}}})
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        insert(client, uri, 2, 0, 7, " ")
        await asyncio.sleep(0.2)
        await inline(client, uri, 0, 8)
        assert scripted.model_requests()[-1].body["max_tokens"] == 9
    finally:
        push_settings(client, {"completion": {"maxTokens": 128, "temperature": 0.2}})


async def test_disabling_completion_stops_model_calls(client: LanguageClient, scripted: ScriptedServer):
    uri = doc("disabled.py")
    open_document(client, uri, "y = \n")
    scripted.script(Reply(text="2"))
    push_settings(client, {"completion": {"enable": False}})
    try:
        result = await inline(client, uri, 0, 4)
        assert result is not None and len(result.items) == 0
        assert scripted.model_requests() == []
    finally:
        push_settings(client, {"completion": {"enable": True}})


async def test_bad_setting_is_reported_once_by_key_and_default_kept(
    client: LanguageClient, scripted: ScriptedServer
):
    client.messages.clear()
    for _ in range(2):
        push_settings(client, {"completion": {"debounceMs": "soon"}})
    assert await until(lambda: any("debounceMs" in m.message for m in client.messages))
    await asyncio.sleep(0.2)
    reported = [m for m in client.messages if "debounceMs" in m.message]
    assert len(reported) == 1
    assert "hermes.completion.debounceMs" in reported[0].message and "75" in reported[0].message


async def test_position_past_end_of_line_is_clamped(client: LanguageClient, scripted: ScriptedServer):
    uri = doc("clamp.py")
    open_document(client, uri, "short = \n")
    scripted.script(Reply(text="1"))
    result = await inline(client, uri, 0, 400)
    assert result.items[0].insert_text == "1"
    assert result.items[0].range.start == types.Position(0, 8)
    assert "short = <CURSOR>" in scripted.model_requests()[0].prompt


@pytest_lsp.fixture(scope="module", config=server_config())
async def utf8_client(lsp_client: LanguageClient, scripted_session: ScriptedServer):
    result = await initialize(
        lsp_client, {"endpoint": scripted_session.url}, ROOT, encodings=("utf-8", "utf-16")
    )
    assert result.capabilities.position_encoding == "utf-8"
    yield
    await lsp_client.shutdown_session()


async def test_utf8_client_gets_utf8_ranges(utf8_client: LanguageClient, scripted: ScriptedServer):
    uri = doc("utf8.py")
    line = 'label = "naïve 😀 漢字" + '
    open_document(utf8_client, uri, line + "\n")
    scripted.script(Reply(text="suffix"))
    end = len(line.encode("utf-8"))
    result = await inline(utf8_client, uri, 0, end)
    assert result.items[0].range.start == types.Position(0, end)
    assert f"{line}<CURSOR>" in scripted.model_requests()[0].prompt


async def test_syntax_decides_single_line_inside_a_comment(client: LanguageClient, scripted: ScriptedServer):
    uri = doc("syntax.py")
    # Text alone would say "a block opener ends the line: write several lines"; the tree
    # says the cursor is in a comment, where only the rest of the line makes sense.
    open_document(client, uri, "def plan():\n    # Steps:\n    pass\n")
    scripted.script(Reply(text=" load, clean, save\n    load()\n    clean()"))
    result = await inline(client, uri, 1, 12)
    assert result.items[0].insert_text == " load, clean, save"
    assert "(single line)" in scripted.model_requests()[0].prompt

    body = doc("syntax_body.py")
    open_document(client, body, "def plan():\n    \n")
    scripted.script(Reply(text="load()\n    clean()"))
    result = await inline(client, body, 1, 4)
    assert result.items[0].insert_text == "load()\n    clean()"
    assert "(multi line)" in scripted.model_requests()[-1].prompt

"""Corpus answers end to end: hermes-lsp over stdio shows exactly the wanted ghost text.

The scripted model server replays the corpus answers (tests/data/completions/) as real
SSE streams; the editor side is a real LSP client. Accepting the ghost text must give
exactly the document the corpus expects, in UTF-16 positions, with CRLF and tabs.
"""

from __future__ import annotations

import pytest
import pytest_lsp
from pytest_lsp import LanguageClient

from hermes_lsp.scripted_server import Reply, ScriptedServer
from hermes_lsp.text import offset_at, position_at
from tests.completion_corpus import Case, all_cases
from tests.support.lsp import initialize, inline, open_document, server_config, until

ROOT = "file:///tmp/hermes-corpus-e2e"
LANGUAGES = {
    "python": ("py", "python"),
    "typescript": ("ts", "typescript"),
    "go": ("go", "go"),
    "rust": ("rs", "rust"),
}
CHOSEN = [
    "python:prose fence prose",
    "python:whole file rewritten",
    "python:only the existing code again",
    "typescript:class method repeated at column zero",
    "go:crlf document",
    "rust:non-ascii strings",
]
CASES = [case for case in all_cases() if case.name in CHOSEN]


@pytest_lsp.fixture(scope="module", config=server_config())
async def client(lsp_client: LanguageClient, scripted_session: ScriptedServer):
    lsp_client.set_configuration({"hermes": {}})
    await initialize(lsp_client, {"endpoint": scripted_session.url, "completion": {"debounceMs": 0}}, ROOT)
    yield
    await lsp_client.shutdown_session()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_the_editor_gets_exactly_the_wanted_document(
    client: LanguageClient, scripted: ScriptedServer, case: Case
):
    assert len(CASES) == len(CHOSEN)
    language = case.name.split(":")[0]
    extension, language_id = LANGUAGES[language]
    uri = f"{ROOT}/{case.name.split(':')[1].replace(' ', '_')}.{extension}"
    text = case.prefix + case.suffix
    scripted.script(Reply(text=case.answer, chunk_size=3))
    open_document(client, uri, text, language_id)
    line, character = position_at(text, len(case.prefix))
    result = await inline(client, uri, line, character)
    assert result is not None
    if not case.wanted:
        assert result.items == [] or all(not item.insert_text for item in result.items)
        return
    assert len(result.items) == 1
    item = result.items[0]
    start = offset_at(text, item.range.start.line, item.range.start.character).offset
    end = offset_at(text, item.range.end.line, item.range.end.character).offset
    assert text[:start] + item.insert_text + text[end:] == case.after


async def test_the_model_stream_is_closed_once_the_code_block_is_complete(
    client: LanguageClient, scripted: ScriptedServer
):
    # A chat model keeps explaining after its code block; nothing it says then can change
    # the ghost text, so the server hangs up instead of letting the GPU write it.
    case = next(case for case in all_cases() if case.name == "python:prose fence prose")
    chatter = "\n\nThis works because the sum of the values divided by their count is the mean." * 20
    scripted.script(Reply(text=case.answer + chatter, chunk_size=3, chunk_delay=0.005))
    uri = f"{ROOT}/early_stop.py"
    text = case.prefix + case.suffix
    open_document(client, uri, text)
    result = await inline(client, uri, *position_at(text, len(case.prefix)))
    assert result is not None and result.items[0].insert_text == case.wanted
    request = scripted.model_requests()[0]
    assert await until(lambda: request.disconnected, timeout=5.0)
    assert request.events_sent * 3 < len(case.answer) + 40

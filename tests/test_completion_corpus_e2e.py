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
from tests.support.lsp import initialize, inline, open_document, server_config

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

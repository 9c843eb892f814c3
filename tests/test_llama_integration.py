"""hermes-lsp against a server nobody here wrote: llama.cpp's OpenAI-compatible server
serving a tiny random-weight model. Its text is junk, so these tests assert on protocol
and structure only."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import psutil
import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from hermes_lsp.model.client import ModelClient, ModelConfig
from tests.support.llama import LlamaServer
from tests.support.lsp import initialize, inline, open_document, server_config

pytestmark = pytest.mark.llama


def client_for(server: LlamaServer) -> ModelClient:
    return ModelClient(
        ModelConfig(
            endpoint=server.url, model="", api_key="", connect_timeout=2.0, read_timeout=60.0, retries=0
        )
    )


async def test_streaming_chat_arrives_in_several_deltas(llama_server: LlamaServer):
    client = client_for(llama_server)
    try:
        assert await client.model() == llama_server.model  # discovered from /v1/models
        deltas = [
            d
            async for d in client.stream_chat(
                [{"role": "user", "content": "def add(a, b):"}], max_tokens=12, temperature=0.6
            )
        ]
    finally:
        await client.aclose()
    assert len(deltas) >= 2 and all(isinstance(d, str) for d in deltas)


def _open_connections_to(port: int) -> list[psutil._common.pconn]:
    return [
        c
        for c in psutil.Process(os.getpid()).net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
    ]


async def test_cancelling_a_stream_closes_its_connection(llama_server: LlamaServer):
    port = int(llama_server.url.rsplit(":", 1)[1].split("/")[0])
    client = client_for(llama_server)
    first_delta = asyncio.Event()

    async def consume() -> None:
        async for _ in client.stream_chat(
            [{"role": "user", "content": "Write a long story."}], max_tokens=800, temperature=1.0
        ):
            first_delta.set()

    try:
        task = asyncio.ensure_future(consume())
        await asyncio.wait_for(first_delta.wait(), 60)
        assert len(_open_connections_to(port)) == 1  # the stream is open
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(100):
            if not _open_connections_to(port):
                break
            await asyncio.sleep(0.01)
        assert _open_connections_to(port) == []  # closed, not parked in the pool
        # The server is free again: a new request is answered.
        again = await asyncio.wait_for(
            client.chat([{"role": "user", "content": "x"}], max_tokens=2, temperature=0.0), 60
        )
        assert isinstance(again, str)
    finally:
        await client.aclose()


def test_complete_command_against_llama_cpp(llama_server: LlamaServer, tmp_path):
    source = tmp_path / "calc.py"
    source.write_text("def add(a, b):\n    \n")
    result = subprocess.run(
        [sys.executable, "-m", "hermes_lsp", "complete", f"{source}:2:5", "--multiline", "always"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HERMES_LSP_ENDPOINT": llama_server.url, "HERMES_LSP_MODEL": ""},
    )
    assert result.returncode == 0, result.stderr
    # Junk text, but either a suggestion or the sentence saying there is none; never an error.
    assert result.stdout.strip() or "nothing to suggest" in result.stderr
    assert "Cannot reach" not in result.stderr and "Traceback" not in result.stderr


def test_complete_with_repository_context_fits_the_server_context(llama_server: LlamaServer, tmp_path):
    """The tests' server holds 4,096 tokens and says so only by refusing a longer prompt:
    the prompt is shrunk to fit and sent once more instead of failing."""
    for n in range(8):
        (tmp_path / f"module_{n}.py").write_text(
            "".join(f"def util_{n}_{i}(value):\n    return value * {i}\n\n" for i in range(60))
        )
    source = tmp_path / "main.py"
    body = "".join(f"total_{i} = util_{i % 8}_{i}(records[{i}])\n" for i in range(400))
    source.write_text(f"from module_0 import util_0_1\n{body}\ndef summary(records):\n    \n")
    result = subprocess.run(
        [sys.executable, "-m", "hermes_lsp", "complete", f"{source}:404:5", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HERMES_LSP_ENDPOINT": llama_server.url, "HERMES_LSP_MODEL": ""},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() or "nothing to suggest" in result.stderr
    assert "context window" not in result.stderr, result.stderr


@pytest_lsp.fixture(scope="module", config=server_config())
async def lsp(lsp_client: LanguageClient, llama_server: LlamaServer):
    await initialize(lsp_client, {"endpoint": llama_server.url, "completion": {"maxTokens": 16}})
    yield
    await lsp_client.shutdown_session()


async def test_inline_completion_through_the_server(lsp: LanguageClient, llama_server: LlamaServer):
    uri = "file:///tmp/llama-e2e/mod.py"
    open_document(lsp, uri, "import math\n\ndef area(r):\n    return \n")
    result = await inline(lsp, uri, 3, 11)
    assert isinstance(result, types.InlineCompletionList)
    for item in result.items:
        assert isinstance(item.insert_text, str) and item.insert_text
        assert item.range.start == types.Position(3, 11)
    assert not [m for m in lsp.messages if m.type == types.MessageType.Error], lsp.messages


async def test_code_action_against_junk_output_is_refused_cleanly(
    tmp_path_factory, llama_server: LlamaServer
):
    """Random weights never produce a valid tool call: the user gets a message, not an edit."""
    from tests.support.lsp import read_code_actions_correctly, server_config

    root = tmp_path_factory.mktemp("llama-actions")
    (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    client = await server_config().start()
    read_code_actions_correctly(client)
    try:
        options = {
            "endpoint": llama_server.url,
            "actions": {"maxSteps": 2, "maxTokens": 24, "contextBudget": 0, "reasoning": False},
        }
        await initialize(client, options, root.as_uri())
        uri = (root / "calc.py").as_uri()
        open_document(client, uri, (root / "calc.py").read_text())
        offered = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(types.Position(1, 4), types.Position(1, 4)),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        action = next(a for a in offered if a.kind == "refactor.rewrite.hermes.docstring")
        resolved = await asyncio.wait_for(client.code_action_resolve_async(action), 120)
        assert resolved.edit is None
        said = [m.message for m in client.messages]
        assert any(
            "Hermes proposed no change" in m or "Hermes could not" in m or "edit was refused" in m
            for m in said
        ), said
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_a_code_action_on_a_large_file_fits_the_servers_window(
    tmp_path_factory: pytest.TempPathFactory, llama_server: LlamaServer
):
    """The server holds 4,096 tokens and says so only by refusing a longer prompt. Explaining
    a function of a 600-line file, with 6,000 tokens of repository context asked for, is
    fitted to that window and answered (junk, but an answer) instead of failing."""
    from tests.support.lsp import indexed, until

    root = tmp_path_factory.mktemp("llama-window")
    for k in range(8):
        (root / f"module_{k}.py").write_text(
            "".join(f"def util_{k}_{i}(value):\n    return value * {i}\n\n\n" for i in range(60))
        )
    body = "".join(f"total_{i} = util_{i % 8}_{i}(records[{i}])\n" for i in range(600))
    text = f"from module_0 import util_0_1\n{body}\ndef summary(records):\n    return sum(records)\n"
    (root / "main.py").write_text(text)
    client = await server_config().start()
    try:
        options = {"endpoint": llama_server.url, "actions": {"maxSteps": 1, "maxTokens": 32}}
        await initialize(client, options, root.as_uri())
        uri = (root / "main.py").as_uri()
        open_document(client, uri, text)
        assert await until(lambda: indexed(client), 120)
        answer = await asyncio.wait_for(
            client.workspace_execute_command_async(
                types.ExecuteCommandParams(
                    command="hermes.explain", arguments=[{"uri": uri, "start": 603, "end": 604}]
                )
            ),
            300,
        )
        errors = [m.message for m in client.messages if m.type == types.MessageType.Error]
        assert errors == [] and isinstance(answer, str), (errors, answer)
    finally:
        await client.shutdown_session()
        await client.stop()

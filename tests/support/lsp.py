"""Helpers for driving hermes-lsp through a real LSP client (pytest-lsp) over stdio."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from hermes_lsp.bench.overhead import read_code_actions_correctly
from hermes_lsp.scripted_server import ScriptedServer
from tests.support.positions import reference_offset

__all__ = ["read_code_actions_correctly"]

SERVER_COMMAND = [sys.executable, "-m", "hermes_lsp", "--stdio"]


def server_config(**env: str) -> ClientServerConfig:
    """Start ``hermes-lsp --stdio`` as a subprocess, as an editor would.

    The environment is read when the server starts (not now), so that session fixtures
    such as the temporary index cache apply.
    """
    import os

    return ClientServerConfig(
        server_command=SERVER_COMMAND, server_env={**os.environ, **env} if env else None
    )


def capabilities(encodings: tuple[str, ...] = ("utf-16",)) -> types.ClientCapabilities:
    """What a modern editor (VS Code 1.100-like) announces."""
    return types.ClientCapabilities(
        general=types.GeneralClientCapabilities(position_encodings=list(encodings)),
        window=types.WindowClientCapabilities(work_done_progress=True),
        workspace=types.WorkspaceClientCapabilities(
            configuration=True,
            apply_edit=True,
            did_change_configuration=types.DidChangeConfigurationClientCapabilities(
                dynamic_registration=True
            ),
            workspace_edit=types.WorkspaceEditClientCapabilities(
                document_changes=True, change_annotation_support=types.ChangeAnnotationsSupportOptions()
            ),
        ),
        text_document=types.TextDocumentClientCapabilities(
            inline_completion=types.InlineCompletionClientCapabilities(),
            completion=types.CompletionClientCapabilities(),
            code_action=types.CodeActionClientCapabilities(
                code_action_literal_support=types.ClientCodeActionLiteralOptions(
                    code_action_kind=types.ClientCodeActionKindOptions(
                        value_set=["quickfix", "refactor", "source"]
                    )
                ),
                resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]),
                data_support=True,
            ),
        ),
    )


async def initialize(
    client: LanguageClient,
    options: dict[str, Any],
    root_uri: str | None = None,
    encodings: tuple[str, ...] = ("utf-16",),
) -> types.InitializeResult:
    return await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(encodings), initialization_options=options, root_uri=root_uri
        )
    )


def open_document(client: LanguageClient, uri: str, text: str, language: str = "python") -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
        )
    )


def insert(client: LanguageClient, uri: str, version: int, line: int, character: int, text: str) -> None:
    """Type ``text`` at a position (an incremental didChange)."""
    here = types.Position(line, character)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(range=types.Range(here, here), text=text)
            ],
        )
    )


def push_settings(client: LanguageClient, settings: dict[str, Any]) -> None:
    """Send new ``hermes`` settings (``workspace/didChangeConfiguration``, push model)."""
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"hermes": settings})
    )


async def offered_action(client: LanguageClient, uri: str, kind: str, lines: tuple[int, int] = (0, 1)) -> Any:
    """The code action of ``kind`` offered for ``lines`` (0-based, no diagnostics)."""
    found = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(types.Position(lines[0], 0), types.Position(lines[1], 0)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    return next(a for a in found or [] if getattr(a, "kind", None) == kind)


async def inline(
    client: LanguageClient,
    uri: str,
    line: int,
    character: int,
    trigger: types.InlineCompletionTriggerKind = types.InlineCompletionTriggerKind.Automatic,
) -> types.InlineCompletionList | None:
    """An inline completion request: as typing sends it, or (``Invoked``) as a key asks for more."""
    return await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line, character),
            context=types.InlineCompletionContext(trigger_kind=trigger),
        )
    )


async def until(predicate: Any, timeout: float = 5.0) -> bool:
    """Wait (without blocking the event loop) until ``predicate()`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return bool(predicate())


def indexed(client: LanguageClient) -> bool:
    """Whether the workspace index has been built (its progress report has ended)."""
    return any(
        reports
        and isinstance(reports[0], types.WorkDoneProgressBegin)
        and reports[0].title == "Hermes: indexing"
        and isinstance(reports[-1], types.WorkDoneProgressEnd)
        for reports in client.progress_reports.values()
    )


def progress_messages(client: LanguageClient) -> list[str]:
    """Every ``$/progress`` message the client has received so far, in order per token."""
    return [
        report.message
        for reports in client.progress_reports.values()
        for report in reports
        if getattr(report, "message", None)
    ]


def call(tool: str, /, **arguments: str) -> str:
    """One tool call as Hermes writes it."""
    return f"<tool_call>\n{json.dumps({'name': tool, 'arguments': arguments})}\n</tool_call>"


def turns(*texts: str) -> list[Any]:
    """One scripted reply per model turn, in order."""
    from hermes_lsp.scripted_server import Reply

    return [Reply(text=t, times=1, chunk_size=40) for t in texts]


async def actions(
    client: LanguageClient, uri: str, start: types.Position, end: types.Position, diagnostics: Any = ()
) -> list[types.CodeAction]:
    """The code actions offered for a range (and diagnostics)."""
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start, end),
            context=types.CodeActionContext(diagnostics=list(diagnostics)),
        )
    )
    return list(result or [])


def apply_text_edits(text: str, edits: Any) -> str:
    """Apply one document's LSP edits (UTF-16 positions into ``text``) as an editor does."""

    def offset(p: types.Position) -> int:
        return reference_offset(text, p.line, p.character)

    spans = sorted(((offset(e.range.start), offset(e.range.end), e.new_text) for e in edits), reverse=True)
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def accept_edits(client: LanguageClient, applied: list[types.WorkspaceEdit]) -> None:
    """Act as an editor that reads code actions properly and applies (records) every edit."""
    read_code_actions_correctly(client)

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        applied.append(params.edit)
        return types.ApplyWorkspaceEditResult(applied=True)


def scripted_client(root_uri: str) -> Any:
    """A module-scoped pytest-lsp client fixture: ``hermes-lsp --stdio`` on the scripted
    model server, its workspace at ``root_uri``. Assign it to ``client`` in a test module."""

    @pytest_lsp.fixture(scope="module", config=server_config())
    async def client(lsp_client: LanguageClient, scripted_session: ScriptedServer) -> Any:
        lsp_client.set_configuration({"hermes": {}})
        await initialize(lsp_client, {"endpoint": scripted_session.url}, root_uri)
        yield
        await lsp_client.shutdown_session()

    return client

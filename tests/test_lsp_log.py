"""The server's log reaches the editor as window/logMessage, each line at its own level
(an editor shows raw stderr as one stream of errors)."""

from __future__ import annotations

import logging

import pytest_lsp
from hypothesis import given
from hypothesis import strategies as st
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from hermes_lsp.lsp_log import message_type
from hermes_lsp.scripted_server import Reply, ScriptedServer
from tests.support.lsp import SERVER_COMMAND, initialize, inline, open_document, scripted_client, until

client = scripted_client("file:///tmp/hermes-log")


@given(st.integers(min_value=0, max_value=100), st.integers(min_value=0, max_value=100))
def test_a_more_severe_level_never_maps_to_a_milder_message_type(low: int, high: int):
    low, high = sorted((low, high))
    # MessageType counts down in severity: Error 1, Warning 2, Info 3, Log 4.
    assert message_type(high) <= message_type(low)


def test_levels_map_to_message_types():
    assert message_type(logging.ERROR) == types.MessageType.Error
    assert message_type(logging.CRITICAL) == types.MessageType.Error
    assert message_type(logging.WARNING) == types.MessageType.Warning
    assert message_type(logging.INFO) == types.MessageType.Info
    assert message_type(logging.DEBUG) == types.MessageType.Log


async def test_info_lines_arrive_as_info_and_errors_as_errors(
    client: LanguageClient, scripted: ScriptedServer
):
    # The start-up line is information, not an error.
    assert await until(
        lambda: any("hermes-lsp" in m.message and " for " in m.message for m in client.log_messages)
    )
    [start] = [m for m in client.log_messages if " for " in m.message and m.message.startswith("INFO")]
    assert start.type == types.MessageType.Info

    # A model failure the user is shown as an error is logged as one.
    scripted.script(Reply(status=500))
    uri = "file:///tmp/hermes-log/a.py"
    open_document(client, uri, "x = \n")
    await inline(client, uri, 0, 4)
    assert await until(lambda: any(m.type == types.MessageType.Error for m in client.log_messages))
    errors = [m for m in client.log_messages if m.type == types.MessageType.Error]
    assert all(m.message.startswith("ERROR") for m in errors)
    assert not [
        m for m in client.log_messages if m.type == types.MessageType.Error and m.message.startswith("INFO")
    ]


SECRET = "sk-hermes-test-0123456789"


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=[*SERVER_COMMAND, "-v"]))
async def verbose_client(lsp_client: LanguageClient, scripted_session: ScriptedServer):
    lsp_client.set_configuration({"hermes": {"apiKey": SECRET}})
    await initialize(
        lsp_client, {"endpoint": scripted_session.url, "apiKey": SECRET}, "file:///tmp/hermes-log-v"
    )
    yield
    await lsp_client.shutdown_session()


async def test_the_api_key_never_reaches_the_editors_log(
    verbose_client: LanguageClient, scripted: ScriptedServer
):
    # Debug logging writes whole LSP messages, initializationOptions included.
    scripted.script(Reply(text="x"))
    uri = "file:///tmp/hermes-log-v/a.py"
    open_document(verbose_client, uri, "y = \n")
    await inline(verbose_client, uri, 0, 4)
    assert await until(lambda: len(verbose_client.log_messages) > 5)
    assert any("[redacted]" in m.message for m in verbose_client.log_messages)
    assert not [m.message for m in verbose_client.log_messages if SECRET in m.message]

"""What the user is told, end to end: pop-ups stay few and honest, the status follows the
model's health, internal errors are told apart from bad client traffic."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from pathlib import Path

import pytest
import pytest_lsp
from hypothesis import given
from hypothesis import strategies as st
from lsprotocol import types
from pytest_lsp import LanguageClient

from hermes_lsp.messages import MessageGate, with_prefix
from hermes_lsp.scripted_server import Reply, ScriptedServer
from hermes_lsp.server import create_server
from hermes_lsp.status import StatusBoard
from tests.support.lsp import (
    initialize,
    offered_action,
    open_document,
    read_code_actions_correctly,
    server_config,
    until,
)
from tests.support.raw import PROBE, PROBE_PARAMS, RawServer, frame, notification, request

SOURCE = "def area(r):\n    return 3.14 * r * r\n"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("messages-ws")
    (root / "shapes.py").write_text(SOURCE)
    return root


@pytest_lsp.fixture(scope="module", config=server_config())
async def client(lsp_client: LanguageClient, scripted_session: ScriptedServer, workspace: Path):
    read_code_actions_correctly(lsp_client)
    statuses: list[tuple[str, str]] = []

    @lsp_client.feature("hermes/status")
    def status(*args: object) -> None:
        params = args[-1]  # pygls passes the client first
        if isinstance(params, dict):
            statuses.append((params["state"], params["message"]))
        else:
            statuses.append((params.state, params.message))  # type: ignore[attr-defined]

    lsp_client.statuses = statuses  # type: ignore[attr-defined]
    await initialize(
        lsp_client, {"endpoint": scripted_session.url, "actions": {"maxSteps": 3}}, workspace.as_uri()
    )
    open_document(lsp_client, (workspace / "shapes.py").as_uri(), SOURCE)
    yield
    await lsp_client.shutdown_session()


async def run_simplify(client: LanguageClient, workspace: Path) -> None:
    uri = (workspace / "shapes.py").as_uri()
    action = await offered_action(client, uri, "refactor.rewrite.hermes.simplify")
    await client.code_action_resolve_async(action)


async def test_a_failed_action_leaves_the_status_on_the_failure_not_on_ready(
    client: LanguageClient, scripted: ScriptedServer, workspace: Path
):
    assert await until(lambda: client.statuses and client.statuses[-1][1].startswith("Hermes is ready"))
    scripted.script(Reply(status=500, body="the GPU fell over"))
    client.statuses.clear()
    await run_simplify(client, workspace)
    states = [state for state, _ in client.statuses if state != "indexing"]  # indexing runs on its own
    assert states[states.index("busy") :] == ["busy", "error"], client.statuses
    assert "the GPU fell over" in client.statuses[-1][1]
    # The model works again: the next action's result sets the health back to ready.
    scripted.script(Reply(text="Nothing to simplify."))
    client.statuses.clear()
    await run_simplify(client, workspace)

    def health() -> list[str]:
        # Indexing is shown over a ready model and may still be running: its end says ready.
        return [state for state, _ in client.statuses if state != "indexing"]

    await until(lambda: health()[-1] != "busy")
    states = health()
    assert states[states.index("busy") :] == ["busy", "ready"], client.statuses


async def test_no_message_says_its_name_twice(client: LanguageClient, scripted: ScriptedServer):
    client.messages.clear()
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="hermes.runAction", arguments=[{"action": "nonsense", "uri": "x"}])
    )
    assert [m.message for m in client.messages] == [
        "hermes-lsp: this code action is no longer valid; ask for code actions again"
    ]


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        (["search_replace", {"search": "radius", "replace": "r"}], "search text not found in shapes.py"),
        (["search_replace", {"search": "r", "replace": "x"}], "search text occurs 6 times in shapes.py"),
        (
            ["search_replace", {"search": "def area(r):", "replace": "def area(r:"}],
            "the edit would break the syntax",
        ),
    ],
)
async def test_a_refused_edit_says_refused_and_why_never_fixed(
    client: LanguageClient, scripted: ScriptedServer, workspace: Path, script, reason
):
    name, arguments = script
    call = json.dumps({"name": name, "arguments": {"path": "shapes.py", **arguments}})
    scripted.script(
        Reply(text=f"<tool_call>{call}</tool_call>", times=1),
        Reply(text="Fixed: simplified area.", times=1),
        default=Reply(text="Fixed: simplified area."),
    )
    client.messages.clear()
    await run_simplify(client, workspace)
    (shown,) = [m.message for m in client.messages]
    assert shown.startswith("hermes-lsp: Hermes' edit was refused, nothing was changed: ")
    assert reason in shown and "Fixed" not in shown


# -- bad traffic and internal errors, over raw stdio ---------------------------------------


def test_garbage_and_client_mistakes_are_logged_not_shown(scripted: ScriptedServer):
    server = RawServer()
    try:
        server.initialize({"endpoint": scripted.url})
        change = {
            "textDocument": {"uri": "file:///never/opened.py", "version": 2},
            "contentChanges": [{"text": "x"}],
        }
        for n in range(200):
            server.send(frame(b'{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": %d}' % n))
            server.send(frame(b"[" * 5000 + b"]" * 5000))
            server.send(frame(notification("textDocument/didChange", change)))
            server.send(frame(notification("$/cancelRequest", {"id": {"not": "an id"}})))
        assert "result" in server.ask(PROBE, PROBE_PARAMS)
        assert server.notifications("window/showMessage") == []
        assert "unreadable message from the client" in server.log
        assert "file:///never/opened.py is not open; its change is ignored" in server.log
        assert "internal error" not in server.log
    finally:
        server.close()


def test_a_failing_handler_is_an_internal_error_shown_once_with_its_traceback_logged(
    caplog: pytest.LogCaptureFixture,
):
    server = create_server()
    written: list[bytes] = []

    class Writer:
        def write(self, data: bytes) -> None:
            written.append(data)

        def close(self) -> None:
            pass

    @server.feature("hermes/explode")
    def explode(ls: object, params: object) -> None:
        raise IndexError("list index out of range")

    incoming = [frame(request(1, "initialize", {"processId": None, "capabilities": {}}))]
    incoming += [frame(notification("hermes/explode", {}))] * 10 + [b""]

    async def read_some() -> bytes:
        return incoming.pop(0)

    server.protocol.set_writer(Writer())
    server._stop_event = threading.Event()
    with caplog.at_level(logging.ERROR, logger="hermes_lsp.server"):
        asyncio.run(server.serve_stream(read_some))
    shown = [m for m in b"".join(written).split(b"Content-Length") if b"window/showMessage" in m]
    assert len(shown) == 1 and b"internal error (IndexError: list index out of range)" in shown[0]
    failures = [r for r in caplog.records if r.getMessage().startswith("internal error: IndexError")]
    assert len(failures) == 10 and all(r.exc_info and r.exc_info[0] is IndexError for r in failures)


# -- the rules on their own ----------------------------------------------------------------


def test_the_gate_shows_a_message_once_a_minute_and_at_most_five_a_minute():
    now = [0.0]
    gate = MessageGate(clock=lambda: now[0])
    assert gate.allow("a") and not gate.allow("a")
    assert [gate.allow(m) for m in "bcdef"] == [True, True, True, True, False]
    now[0] = 60.0
    assert gate.allow("a") and gate.allow("f")


@given(
    st.lists(
        st.tuples(st.floats(min_value=0, max_value=30, allow_nan=False), st.sampled_from("abcdefgh")),
        max_size=200,
    )
)
def test_the_gate_never_shows_more_than_it_allows(events: list[tuple[float, str]]):
    now = [0.0]
    gate = MessageGate(clock=lambda: now[0])
    shown: list[tuple[float, str]] = []
    for gap, message in events:
        now[0] += gap
        if gate.allow(message):
            shown.append((now[0], message))
    for at, message in shown:
        window = [m for t, m in shown if at <= t < at + 60.0]
        assert len(window) <= gate.per_minute
        assert window.count(message) == 1  # the same message not again within a minute


def test_the_prefix_is_written_once():
    assert with_prefix("hermes-lsp: hermes-lsp: open the file") == "hermes-lsp: open the file"
    assert with_prefix("open the file") == "hermes-lsp: open the file"


def test_busy_is_overlaid_and_health_comes_back_when_the_work_ends():
    board = StatusBoard()
    board.indexing = "indexing 3 files"
    assert board.shown() == ("indexing", "indexing 3 files")
    board.busy.append("Hermes: simplify")
    assert board.shown() == ("busy", "Hermes: simplify")
    board.model_result("unreachable", "Cannot reach the model server")
    board.busy.remove("Hermes: simplify")
    assert board.shown() == ("unreachable", "Cannot reach the model server")

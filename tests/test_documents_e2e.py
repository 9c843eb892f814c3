"""Open documents end to end: names that need %-encoding, edits as the protocol defines them
(lines ending at a lone \\r too), one huge document, and text the editor sends that UTF-8
cannot carry. A real LSP client drives ``hermes-lsp --stdio``; a scripted model server
answers on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from hermes_lsp.scripted_server import Reply, ScriptedServer
from tests.support.lsp import (
    accept_edits,
    actions,
    apply_text_edits,
    call,
    initialize,
    inline,
    insert,
    open_document,
    progress_messages,
    server_config,
    turns,
    until,
)

SHAPES = """def first(a):
    return a


def second(b):
    return b
"""

ADDED = "def zeroth():\n    return 0\n\n\n"
"""Typed at the top of each file and never saved: the disk text has every function lower."""

applied: list[types.WorkspaceEdit] = []


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("documents-ws")
    for name in ("my file.py", "café.py"):
        (root / name).write_text(SHAPES)
    return root


@pytest_lsp.fixture(scope="module", config=server_config())
async def client(lsp_client: LanguageClient, scripted_session: ScriptedServer, workspace: Path):
    accept_edits(lsp_client, applied)

    options = {
        "endpoint": scripted_session.url,
        "completion": {"debounceMs": 0, "adaptiveDebounce": False},
        "actions": {"maxSteps": 3, "reasoning": False},
    }
    await initialize(lsp_client, options, workspace.as_uri())
    yield
    await lsp_client.shutdown_session()


def open_with_unsaved_changes(client: LanguageClient, uri: str) -> str:
    """Open a file, type a new function at its top (version 2), return the buffer's text."""
    open_document(client, uri, SHAPES)
    insert(client, uri, 2, 0, 0, ADDED)
    return ADDED + SHAPES


DOUBLED = SHAPES.replace("    return b\n", "    return b * 2\n")


@pytest.mark.parametrize("name", ["my file.py", "café.py"])
async def test_a_code_action_on_a_file_whose_name_needs_encoding_edits_its_buffer(
    client: LanguageClient, scripted: ScriptedServer, workspace: Path, name: str
):
    opened = (workspace / name).as_uri()  # percent-encoded, as editors send it
    assert "%" in opened
    buffer = open_with_unsaved_changes(client, opened)
    spelled = "file://" + str(workspace / name)  # the same file, spelled without escapes
    found = await actions(client, spelled, types.Position(8, 4), types.Position(8, 4))
    action = next(a for a in found if a.kind == "refactor.rewrite.hermes.simplify")
    scripted.script(
        *turns(
            call("replace_symbol", path=name, symbol="second", code=DOUBLED[DOUBLED.index("def second") :])
        )
        + turns("Doubled.")
    )
    client.messages.clear()
    resolved = await client.code_action_resolve_async(action)
    assert not any("open the file" in m.message for m in client.messages)
    assert resolved.edit is not None, [m.message for m in client.messages]
    (document_edit,) = resolved.edit.document_changes
    assert document_edit.text_document.uri == opened
    assert document_edit.text_document.version == 2
    assert apply_text_edits(buffer, document_edit.edits) == ADDED + DOUBLED
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=opened))
    )


async def test_refactor_command_computes_its_edit_from_the_unsaved_buffer(
    client: LanguageClient, scripted: ScriptedServer, workspace: Path
):
    opened = (workspace / "café.py").as_uri()
    buffer = open_with_unsaved_changes(client, opened)
    scripted.script(
        *turns(
            call("search_replace", path="café.py", search="    return b\n", replace="    return b * 2\n"),
            "Doubled.",
        )
    )
    applied.clear()
    answer = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="hermes.refactor",
            arguments=[
                {
                    "uri": "file://" + str(workspace / "café.py"),
                    "range": {"start": {"line": 8, "character": 4}, "end": {"line": 8, "character": 4}},
                    "instruction": "double it",
                }
            ],
        )
    )
    assert answer == "Doubled."
    (edit,) = applied
    (document_edit,) = edit.document_changes
    assert document_edit.text_document.uri == opened
    assert document_edit.text_document.version == 2  # the buffer's version, not "from disk"
    assert apply_text_edits(buffer, document_edit.edits) == ADDED + DOUBLED
    # The model was shown the buffer (with the unsaved function), and the target's lines in it.
    prompt = scripted.model_requests()[0].prompt
    assert "def zeroth" in prompt and "lines 9-10" in prompt
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=opened))
    )


def mac(text: str) -> str:
    """``text`` with classic-Mac line endings (a lone \\r)."""
    return text.replace("\n", "\r")


async def test_edits_and_an_action_on_a_document_with_lone_cr_line_endings(
    client: LanguageClient, scripted: ScriptedServer, workspace: Path
):
    source = SHAPES + "\n\ndef third(c):\n    return c\n"
    (workspace / "mac.py").write_text(mac(source), newline="")
    uri = (workspace / "mac.py").as_uri()
    open_document(client, uri, mac(source))
    # Typed as the editor sends it: a function above the others, then a change in second's
    # body (line 9 once the new function is there), then one in first's (line 5).
    insert(client, uri, 2, 0, 0, mac(ADDED))
    insert(client, uri, 3, 9, 12, " + 2")
    insert(client, uri, 4, 5, 12, " + 1")
    buffer = mac(ADDED + source.replace("return b", "return b + 2").replace("return a", "return a + 1"))

    # The cursor in third's body (line 13): the action is about third, and so is the edit.
    found = await actions(client, uri, types.Position(13, 4), types.Position(13, 4))
    action = next(a for a in found if a.kind == "refactor.rewrite.hermes.simplify")
    scripted.script(
        *turns(
            call("replace_symbol", path="mac.py", symbol="third", code="def third(c):\n    return c * 3\n"),
            "Tripled.",
        )
    )
    resolved = await client.code_action_resolve_async(action)
    assert resolved.edit is not None, [m.message for m in client.messages]
    (document_edit,) = resolved.edit.document_changes
    assert document_edit.text_document.version == 4
    assert apply_text_edits(buffer, document_edit.edits) == buffer.replace("return c", "return c * 3")

    # The model was shown the editor's buffer, its lines numbered as the editor numbers them.
    prompt = scripted.model_requests()[0].prompt
    assert "lines 13-14" in prompt
    assert "return b + 2" in prompt and "return a + 1" in prompt
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )


async def test_the_server_answers_while_an_edit_tool_works_on_a_1_mb_file(
    client: LanguageClient, scripted: ScriptedServer, workspace: Path
):
    # About 1 MB of functions, just under index.maxFileKb: the largest file an edit parses.
    big = "".join(f"def f_{i}(x):\n    return x + {i}\n\n\n" for i in range(26_500))
    assert 900_000 < len(big) < 1024 * 1024
    (workspace / "big_module.py").write_text(big)
    uri = (workspace / "caller.py").as_uri()
    open_document(client, uri, "from big_module import f_7\n\n\ndef g():\n    return f_7(1)\n")
    found = await actions(client, uri, types.Position(4, 4), types.Position(4, 4))
    action = next(a for a in found if a.kind == "refactor.rewrite.hermes.simplify")
    scripted.script(
        *turns(
            call("replace_symbol", path="big_module.py", symbol="f_7", code="def f_7(x):\n    return x * 7\n")
            + call("search_replace", path="big_module.py", search="return x + 9\n", replace="return x * 9\n"),
            "Multiplied.",
        )
    )
    resolving = asyncio.ensure_future(client.code_action_resolve_async(action))
    # The first edit has begun: the server parses and searches 1 MB for it. A cheap request
    # sent now is answered before that edit is done (the second one has not begun).
    assert await until(lambda: "Editing: replace_symbol big_module.py" in progress_messages(client), 60)
    why = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="hermes.whyNoSuggestion", arguments=[{"uri": uri}])
    )
    assert why["kind"] == "none"
    assert "Editing: search_replace big_module.py" not in progress_messages(client)

    resolved = await resolving
    assert resolved.edit is not None, [m.message for m in client.messages]
    (document_edit,) = resolved.edit.document_changes
    expected = big.replace("return x + 7\n", "return x * 7\n").replace("return x + 9\n", "return x * 9\n")
    assert apply_text_edits(big, document_edit.edits) == expected


async def test_listing_actions_in_a_1_mb_document_leaves_the_server_answering(
    client: LanguageClient, scripted: ScriptedServer, workspace: Path
):
    # Finding the function around the cursor takes the definitions of the whole file.
    big = "".join(f"def g_{i}(x):\n    return x - {i}\n\n\n" for i in range(26_500))
    uri = (workspace / "big_open.py").as_uri()
    open_document(client, uri, big)
    insert(client, uri, 2, 4, 0, "# typed\n")
    here = types.Position(4 * 20_000 + 2, 4)
    listing = client.protocol.send_request(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(here, here),
            context=types.CodeActionContext(diagnostics=[]),
        ),
    )
    why = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="hermes.whyNoSuggestion", arguments=[{"uri": uri}])
    )
    assert why["kind"] == "none"
    assert not listing.done()  # answered while the definitions were being found
    offered = await asyncio.wrap_future(listing)
    simplify = next(a for a in offered if a.kind == "refactor.rewrite.hermes.simplify")
    # The action is about the function around the cursor: g_20000, below the typed line.
    assert (simplify.data["start"], simplify.data["end"]) == (4 * 20_000 + 2, 4 * 20_000 + 3)
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )


async def test_an_action_in_a_document_above_the_size_limit_takes_the_cursor_line(
    client: LanguageClient, scripted: ScriptedServer, workspace: Path
):
    # Above limits.maxDocumentKb (2 MB) a document is plain text: no tree is built for it,
    # not even to find the function around the cursor.
    huge = "".join(f"def h_{i}(x):\n    return x - {i}\n\n\n" for i in range(70_000))
    assert len(huge) > 2048 * 1024
    uri = (workspace / "huge_open.py").as_uri()
    open_document(client, uri, huge)
    here = types.Position(4 * 50_000 + 1, 4)
    found = await actions(client, uri, here, here)
    simplify = next(a for a in found if a.kind == "refactor.rewrite.hermes.simplify")
    assert (simplify.data["start"], simplify.data["end"]) == (here.line + 1, here.line + 1)
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )


async def completion_prompt(client: LanguageClient, scripted: ScriptedServer, uri: str, line: int, col: int):
    scripted.reset()
    scripted.script(Reply(text="pass"))
    await inline(client, uri, line, col)
    return scripted.model_requests()[-1].prompt


async def test_edits_follow_the_protocol_and_a_bad_one_changes_nothing(
    client: LanguageClient, scripted: ScriptedServer, workspace: Path
):
    uri = (workspace / "tail.py").as_uri()
    open_document(client, uri, "abc")  # no newline at the end
    insert(client, uri, 2, 0, 10, "X")  # past the end of the last line: at its end
    assert "abcX<CURSOR>" in await completion_prompt(client, scripted, uri, 0, 4)

    client.messages.clear()
    bad = types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(0, 3), types.Position(0, 1)), text="Y"
    )
    for version in (3, 4):  # said once, however often it comes
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[bad],
            )
        )
    # (Another cursor: the same prompt would be answered from the cache without a request.)
    assert "\nabc<CURSOR>X\n" in await completion_prompt(client, scripted, uri, 0, 3)
    refused = [m.message for m in client.messages if "ignored an edit" in m.message]
    assert len(refused) == 1 and "tail.py" in refused[0] and "starts" in refused[0]

    # The context engine's copy is the same text: a tool that reads the open file sees it.
    scripted.reset()
    scripted.script(*turns(call("read_file", path="tail.py", start_line="1", end_line="1"), "Read it."))
    answer = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="hermes.explain", arguments=[{"uri": uri, "start": 1, "end": 1}])
    )
    assert answer == "Read it."
    tool_result = scripted.model_requests()[1].body["messages"][-1]["content"]
    assert "abcX" in tool_result and "Y" not in tool_result


async def test_a_huge_document_being_edited_leaves_other_documents_answered(
    client: LanguageClient, scripted: ScriptedServer, workspace: Path
):
    line = "value_{n} = compute(value_{m}, 'some text to make the line long enough')\n"
    big = "".join(line.format(n=n, m=n - 1) for n in range(70_000))  # about 5 MB
    assert len(big) > 5_000_000
    big_uri = (workspace / "big.py").as_uri()
    small_uri = (workspace / "small.py").as_uri()
    open_document(client, big_uri, big)
    open_document(client, small_uri, "def add(a, b):\n    \n")
    scripted.script(
        Reply(text="return a + b", match="def add(a, b):\n    <CURSOR>"), default=Reply(text="x = 1")
    )
    # Keystrokes all over the big document, then a word typed near its end, with a
    # completion in the small document sent among them.
    for version in range(2, 27):
        insert(client, big_uri, version, (version * 2711) % 70_000, 0, "z")
    small = asyncio.ensure_future(inline(client, small_uri, 1, 4))
    for version in range(27, 52):
        insert(client, big_uri, version, 59_990, version - 27, "y")
    result = await small
    assert result is not None and result.items[0].insert_text == "return a + b"

    # The big document completes too, from the lines around the cursor, with every keystroke in.
    prompt = await completion_prompt(client, scripted, big_uri, 60_000, 0)
    assert "<CURSOR>value_60000 = compute(value_59999" in prompt
    assert "\n" + "y" * 25 + "value_59990 = compute(value_59989" in prompt
    assert len(prompt) < 100_000


async def test_a_lone_surrogate_in_a_document_does_not_break_completions(
    client: LanguageClient, scripted: ScriptedServer, workspace: Path
):
    uri = (workspace / "odd.py").as_uri()
    open_document(client, uri, 'text = "\ud800"\nname = \n')
    scripted.script(Reply(text="'x'"))
    result = await inline(client, uri, 1, 7)
    assert result is not None and result.items[0].insert_text == "'x'"
    prompt = scripted.model_requests()[0].prompt
    assert 'text = "\ufffd"' in prompt  # replaced on the way out, nowhere else
    # Another document that takes it as context, and a code action resolved in it.
    other = (workspace / "other.py").as_uri()
    open_document(client, other, "text = \n")
    scripted.reset()
    scripted.script(Reply(text="'y'"))
    result = await inline(client, other, 0, 7)
    assert result is not None and result.items[0].insert_text == "'y'"
    assert 'text = "\ufffd"' in scripted.model_requests()[0].prompt  # odd.py, as a snippet
    found = await actions(client, uri, types.Position(0, 0), types.Position(1, 7))
    action = next(a for a in found if a.kind == "refactor.rewrite.hermes.simplify")
    scripted.reset()
    scripted.script(
        *turns(call("search_replace", path="odd.py", search="name = ", replace="name = 'n'"), "Named.")
    )
    resolved = await client.code_action_resolve_async(action)
    assert resolved.edit is not None, [m.message for m in client.messages]
    (document_edit,) = resolved.edit.document_changes
    (edit,) = document_edit.edits
    assert edit.new_text == "'n'" and edit.range.start == types.Position(1, 7)

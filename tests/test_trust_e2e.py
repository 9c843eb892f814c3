"""What never reaches the model, and tools that cannot break an action, end to end.

A real LSP client drives ``hermes-lsp --stdio`` on a workspace that holds the usual traps:
a symlinked file and folder that lead out of the workspace, a file the ``.gitignore``
excludes, a folder ``index.exclude`` excludes, a file above ``index.maxFileKb`` and one
whose lines make a long tool result. A scripted model server records every prompt, so
each test can look for content that must not be there.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from hermes_lsp.context.store import RefreshLock, database_path
from hermes_lsp.scripted_server import Reply, ScriptedServer
from tests.support.lsp import (
    initialize,
    inline,
    insert,
    open_document,
    push_settings,
    read_code_actions_correctly,
    server_config,
    until,
)

OUTSIDE = "OUTSIDE-SECRET-7f3a"
IGNORED = "IGNORED-SECRET-91bc"
EXCLUDED = "EXCLUDED-SECRET-c0de"
SECRETS = (OUTSIDE, IGNORED, EXCLUDED)
VAULT = "VAULT-SECRET-5e1f"
"""In a file shared at first, and excluded by a later change of ``index.exclude``."""
MAX_RESULT = 4000

APP = """from leak import secret_fn
from secrets_module import ignored_fn
from helpers import shared_helper


def main():
    secret_fn()
    ignored_fn()
    return shared_helper()
"""

CALLER = """from vault import vault_key


# Calls into the vault.
def use():
    return vault_key()
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("trust")
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text(
        f"def secret_fn():\n    return '{OUTSIDE}'\n\n\nsecret_fn()  # {OUTSIDE}\n"
    )
    root = base / "ws"
    root.mkdir()
    (root / "app.py").write_text(APP)
    (root / "helpers.py").write_text("def shared_helper():\n    return 42\n")
    (root / "real.py").write_text("def real_thing():\n    return 'REAL-CONTENT'\n")
    (root / "inside_link.py").symlink_to(root / "real.py")
    (root / "leak.py").symlink_to(outside / "secret.py")
    (root / "linkdir").symlink_to(outside, target_is_directory=True)
    (root / ".gitignore").write_text("secrets_module.py\n")
    (root / "secrets_module.py").write_text(f"def ignored_fn():\n    return '{IGNORED}'\n")
    (root / "conf").mkdir()
    (root / "conf" / "local.py").write_text(f"def local_setting():\n    return '{EXCLUDED}'\n")
    (root / "big.py").write_text("".join(f"def f_{i}():\n    return {i}\n\n\n" for i in range(6000)))
    (root / "wide.py").write_text("".join(f"W_{i} = '{'x' * 900}'\n" for i in range(50)))
    vault = f"def vault_key():\n    return '{VAULT}'\n\n\nKEY = vault_key()  # {VAULT}\n"
    (root / "vault.py").write_text(vault)
    (root / "caller.py").write_text(CALLER)
    return root


SETTINGS = {
    "index": {"exclude": ["conf/"], "maxFileKb": 64},
    "limits": {"maxToolResultChars": MAX_RESULT},
    "actions": {"maxSteps": 4, "reasoning": False},
    "completion": {"debounceMs": 0},
}


@pytest_lsp.fixture(scope="module", config=server_config())
async def client(lsp_client: LanguageClient, scripted_session: ScriptedServer, workspace: Path):
    read_code_actions_correctly(lsp_client)
    lsp_client.set_configuration({"hermes": {}})
    await initialize(lsp_client, {"endpoint": scripted_session.url, **SETTINGS}, workspace.as_uri())
    # The index is built in the background; its progress ends when it is ready.
    assert await until(lambda: _progress_ended(lsp_client), timeout=60)
    yield
    await lsp_client.shutdown_session()


def _progress_ended(client: LanguageClient) -> bool:
    return any(
        isinstance(report, types.WorkDoneProgressEnd)
        for reports in client.progress_reports.values()
        for report in reports
    )


def uri(workspace: Path, name: str) -> str:
    return (workspace / name).as_uri()


def call(tool: str, /, **arguments: object) -> str:
    return f"<tool_call>\n{json.dumps({'name': tool, 'arguments': arguments})}\n</tool_call>"


def tool_results(prompt: str) -> list[dict]:
    """The tool responses the server sent back to the model, in order."""
    found = re.findall(r"<tool_response>\n(.*?)\n</tool_response>", prompt, re.S)
    return [json.loads(item) for item in found]


async def simplify(client: LanguageClient, doc: str) -> types.CodeAction:
    """The "simplify" action offered on line 6 of ``doc``."""
    found = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=doc),
            range=types.Range(types.Position(5, 0), types.Position(5, 0)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    return next(a for a in found or [] if a.kind == "refactor.rewrite.hermes.simplify")


async def run_action(client: LanguageClient, scripted: ScriptedServer, doc: str, *turns: str) -> str:
    """Resolve a "simplify" action on ``doc`` with scripted model turns; the last prompt."""
    scripted.script(*[Reply(text=t, times=1, chunk_size=200) for t in turns])
    await client.code_action_resolve_async(await simplify(client, doc))  # an internal error would raise here
    requests = scripted.model_requests()
    assert len(requests) == len(turns)
    return requests[-1].prompt


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret} reached the model"


async def test_completion_context_never_holds_outside_or_ignored_content(client, scripted, workspace):
    # The user looks at every one of them: open documents are the snippets' source.
    for name in ("leak.py", "linkdir/secret.py", "secrets_module.py", "conf/local.py", "real.py"):
        open_document(client, uri(workspace, name), (workspace / name).read_text())
    app = uri(workspace, "app.py")
    open_document(client, app, APP)
    scripted.script(Reply(text="None"))
    for line, character in ((6, 15), (7, 16), (8, 26)):
        await inline(client, app, line, character)
    prompts = [r.prompt for r in scripted.model_requests()]
    assert prompts
    assert "def shared_helper():" in "\n".join(prompts)  # workspace context does flow
    for prompt in prompts:
        assert_no_secret(prompt)


async def test_an_edited_ignored_file_never_enters_the_index(client, scripted, workspace):
    secrets = uri(workspace, "secrets_module.py")
    open_document(client, secrets, (workspace / "secrets_module.py").read_text())
    insert(client, secrets, 2, 2, 0, f"def typed_here():\n    return ignored_fn()  # {IGNORED}\n")
    # Long enough for an edited document's definitions to be indexed, were it allowed.
    await asyncio.sleep(2.5)
    prompt = await run_action(
        client,
        scripted,
        uri(workspace, "app.py"),
        call("read_symbol", name="typed_here"),
        call("find_references", name="ignored_fn"),
        "Done.",
    )
    assert_no_secret(prompt)
    symbol, references = (r["content"] for r in tool_results(prompt))
    assert symbol == {"error": "no definition named typed_here found"}
    assert {r["path"] for r in references} == {"app.py"}


async def test_no_completion_or_action_in_an_ignored_file_and_the_user_is_told_once(
    client, scripted, workspace
):
    for name in ("secrets_module.py", "conf/local.py"):
        doc = uri(workspace, name)
        open_document(client, doc, (workspace / name).read_text())
        for _ in range(2):
            result = await inline(client, doc, 1, 4)
            assert result is not None and not result.items
        found = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=doc),
                range=types.Range(types.Position(0, 0), types.Position(0, 0)),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        assert not found
        said = [m.message for m in client.messages if name in m.message and "excluded" in m.message]
        assert len(said) == 1, said
        assert "ignore rules" in said[0] and "no completions or actions" in said[0]
    assert scripted.model_requests() == []


async def test_read_tools_never_read_through_a_link_out_of_the_workspace(client, scripted, workspace):
    prompt = await run_action(
        client,
        scripted,
        uri(workspace, "app.py"),
        call("read_file", path="leak.py", start_line=1, end_line=20)
        + call("list_symbols", path="leak.py")
        + call("read_symbol", name="secret_fn")
        + call("find_references", name="secret_fn")
        + call("read_file", path="linkdir/secret.py", start_line=1, end_line=20)
        + call("read_file", path="secrets_module.py", start_line=1, end_line=20)
        + call("read_symbol", name="local_setting")
        + call("read_file", path="inside_link.py", start_line=1, end_line=5),
        "Done.",
    )
    assert_no_secret(prompt)
    results = tool_results(prompt)
    assert len(results) == 8
    assert "outside the workspace" in results[0]["content"]["error"]
    assert "outside the workspace" in results[4]["content"]["error"]
    assert "ignore rules" in results[5]["content"]["error"]
    assert "REAL-CONTENT" in results[7]["content"]["text"]  # a link inside the workspace is fine


async def test_tool_results_are_bounded_and_say_what_was_cut(client, scripted, workspace):
    prompt = await run_action(
        client,
        scripted,
        uri(workspace, "app.py"),
        call("list_symbols", path="big.py")
        + call("read_file", path="big.py", start_line=4001, end_line=4008)
        + call("read_file", path="wide.py", start_line=1, end_line=50)
        + call("read_symbol", name="f_10", path="big.py")
        + call("search_replace", path="big.py", search="def f_10():", replace="def f_ten():"),
        "Done.",
    )
    results = [r["content"] for r in tool_results(prompt)]
    for content in results:
        assert len(json.dumps(content, ensure_ascii=False)) <= MAX_RESULT
    assert "index.maxFileKb" in results[0]["error"] and "read_file" in results[0]["error"]
    assert "def f_1000():" in results[1]["text"]  # a large file can still be read by range
    assert results[1]["lines"].startswith("4001-")
    assert "limits.maxToolResultChars" in results[2]["note"]
    assert "start_line=" in results[2]["note"]
    assert "index.maxFileKb" in results[3]["error"]
    assert "cannot be edited" in results[4]["error"]  # nor loaded whole to be edited


async def test_failing_tools_are_errors_the_model_reads_not_a_failed_action(client, scripted, workspace):
    bad = [
        call("read_file", path="app\u0000.py", start_line=1, end_line=3),
        call("search_replace", path="app\u0000.py", search="main", replace="x"),
        call("replace_symbol", path="\u0000", symbol="main", code="def main(): pass"),
        call("read_file", path="app.py", start_line="first", end_line=3),
        call("list_symbols", path=["app.py"]),
        call("read_symbol"),
        call("find_references", name=5),
        call("insert_code", path="app.py", anchor="main", where="after", code="x = 1", extra="?"),
        call("read_file", path=".", start_line=1, end_line=2),
        call("create_file", path="../escape.py", content="x = 1\n"),
    ]
    prompt = await run_action(client, scripted, uri(workspace, "app.py"), "".join(bad), "Done.")
    results = tool_results(prompt)
    assert len(results) == len(bad)
    for result in results:
        assert "error" in result["content"], result
    assert any("NUL" in r["content"]["error"] for r in results)
    assert any(m.message.endswith("Done.") for m in client.messages)


async def test_a_changed_ignore_file_is_obeyed_at_once(client, scripted, workspace):
    (workspace / "notes.py").write_text("def note():\n    return \n")
    doc = uri(workspace, "notes.py")
    open_document(client, doc, (workspace / "notes.py").read_text())
    scripted.script(Reply(text="1"))
    assert (await inline(client, doc, 1, 11)).items  # not ignored yet: a completion
    (workspace / ".hermesignore").write_text("notes.py\n")
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=uri(workspace, ".hermesignore"), type=types.FileChangeType.Created)]
        )
    )
    insert(client, doc, 2, 1, 11, "x")
    result = await inline(client, doc, 1, 12)
    assert result is not None and not result.items
    assert len(scripted.model_requests()) == 1
    assert any("notes.py is excluded" in m.message for m in client.messages)


async def test_a_document_whose_name_holds_a_nul_byte_is_no_internal_error(client, scripted, workspace):
    doc = workspace.as_uri() + "/bad%00name.py"
    open_document(client, doc, "def f():\n    return \n")
    scripted.script(Reply(text="1"))
    result = await inline(client, doc, 1, 11)  # an error answer would raise here
    assert result is not None


async def test_a_changed_index_exclude_takes_files_out_of_the_index(client, scripted, workspace):
    # Last in this module: it changes the server's settings for good.
    app = uri(workspace, "app.py")
    open_document(client, app, APP.replace("shared_helper()", "shared_helper() + 1"))  # a new prompt
    signature = "def shared_helper():"
    scripted.script(Reply(text="None"))
    await inline(client, app, 8, 30)
    assert signature in scripted.model_requests()[-1].prompt
    excluded = {"hermes": {"index": {"exclude": ["conf/", "helpers.py"]}}}
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=excluded))

    async def prompt_without_helper() -> bool:
        await inline(client, app, 8, 30)
        return signature not in scripted.model_requests()[-1].prompt

    for _ in range(100):  # the index is refreshed in the background
        if await prompt_without_helper():
            break
        await asyncio.sleep(0.1)
    assert signature not in scripted.model_requests()[-1].prompt


async def test_a_newly_excluded_file_is_refused_at_once_while_the_index_still_holds_it(
    client, scripted, workspace
):
    # Another window refreshing the same index cache holds its lock: the refresh that would
    # take the newly excluded file out of this server's index waits for it meanwhile.
    lock = RefreshLock(database_path(str(workspace)))
    assert await until(lock.acquire, timeout=30)
    try:
        caller = uri(workspace, "caller.py")
        open_document(client, caller, CALLER)
        searches = call("read_symbol", name="vault_key") + call("find_references", name="vault_key")
        assert VAULT in await run_action(client, scripted, caller, searches, "Done.")  # shared so far

        scripted.reset()
        exclude = ["conf/", "helpers.py", "vault.py"]
        push_settings(client, {**SETTINGS, "index": {"exclude": exclude, "maxFileKb": 64}})
        reads = call("list_symbols", path="vault.py")
        reads += call("read_file", path="vault.py", start_line=1, end_line=2)
        prompt = await run_action(client, scripted, caller, searches + reads, "Done.")
        symbol, references, listed, read = (r["content"] for r in tool_results(prompt))
        assert symbol == {"error": "no definition named vault_key found"}
        assert {r["path"] for r in references} == {"caller.py"}
        assert "excluded" in listed["error"] and "excluded" in read["error"]
        # A trace through the excluded file: only the other frame's code is shown.
        trace = (
            "Traceback (most recent call last):\n"
            f'  File "{workspace}/caller.py", line 6, in use\n    return vault_key()\n'
            f'  File "{workspace}/vault.py", line 2, in vault_key\nKeyError: 1\n'
        )
        scripted.script(Reply(text="Explained.", times=1))
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="hermes.debug", arguments=[{"trace": trace}])
        )
        assert "return vault_key()" in scripted.model_requests()[-1].prompt
        scripted.script(Reply(text="None"))
        await inline(client, caller, 5, 22)
        requests = scripted.model_requests()
        assert len(requests) == 4 and "<CURSOR>" in requests[-1].prompt
        for request in requests:
            assert VAULT not in request.prompt
    finally:
        lock.release()


async def test_an_exclusion_made_while_an_action_runs_holds_for_its_next_tool_call(
    client, scripted, workspace
):
    caller = uri(workspace, "caller.py")
    open_document(client, caller, CALLER)
    # The model takes a while over its first turn; the user excludes real.py meanwhile.
    scripted.script(
        Reply(text=call("read_file", path="real.py", start_line=1, end_line=2), times=1, first_delay=3.0),
        Reply(text="Done.", times=1),
    )
    resolving = asyncio.ensure_future(client.code_action_resolve_async(await simplify(client, caller)))
    assert await asyncio.to_thread(scripted.wait_for, lambda: bool(scripted.model_requests()))
    exclude = ["conf/", "helpers.py", "vault.py", "real.py"]
    push_settings(client, {**SETTINGS, "index": {"exclude": exclude, "maxFileKb": 64}})
    # Answered after the settings notification, so the server has taken the new settings.
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="hermes.whyNoSuggestion", arguments=[{"uri": caller}])
    )
    assert len(scripted.model_requests()) == 1  # the first turn is still being answered
    await resolving
    _, second = scripted.model_requests()
    (read,) = (r["content"] for r in tool_results(second.prompt))
    assert "excluded" in str(read.get("error")), read
    assert "REAL-CONTENT" not in second.prompt

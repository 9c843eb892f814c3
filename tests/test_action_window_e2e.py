"""Code actions against a model server with a small context window, over stdio: a fix, a
refactor and a debug on a large file, a large repository context and a long trace are
answered and their edits applied; every request the server sees fits its window."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from hermes_lsp.scripted_server import RecordedRequest, ScriptedServer
from tests.support.lsp import (
    accept_edits,
    actions,
    apply_text_edits,
    call,
    indexed,
    initialize,
    open_document,
    server_config,
    turns,
    until,
)

WINDOW = 4096
# The function to fix sits in the middle of a 1,500-line file: its line (0-based) and text.
TYPO_LINE = 750
TYPO = "    return sum(r.amount for r in recods)"


def big_file() -> str:
    lines: list[str] = []
    for n in range(375):
        body = f"    return helper_{n % 20}.scale_{n}(records) / {n + 1}"
        lines += [f"def share_{n}(records):", body, "", ""]
    lines[TYPO_LINE - 1 : TYPO_LINE + 1] = ["def total_of(records):", TYPO]
    return "from helpers import *\n" + "\n".join(lines) + "\n"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    for k in range(20):  # plenty of repository context for the fitting to cut
        body = "".join(
            f"def scale_{n}(records):\n    '''Scale the amounts of records by {n}.'''\n"
            f"    return [r.amount * {n} for r in records]\n\n\n"
            for n in range(k, 375, 20)
        )
        (tmp_path / f"helper_{k}.py").write_text(body)
    (tmp_path / "helpers.py").write_text("".join(f"import helper_{k}\n" for k in range(20)))
    (tmp_path / "big.py").write_text(big_file())
    return tmp_path


applied: list[types.WorkspaceEdit] = []


@pytest_lsp.fixture(config=server_config())
async def lsp(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    """A started ``hermes-lsp --stdio`` that applies every edit; each test initializes it."""
    applied.clear()
    accept_edits(lsp_client, applied)
    lsp_client.set_configuration({"hermes": {}})
    yield lsp_client
    await lsp_client.shutdown_session()


async def start(
    lsp: LanguageClient, model: ScriptedServer, workspace: Path, actions: dict[str, int] | None = None
) -> str:
    """Initialize on ``workspace`` against ``model``, open big.py, wait for the index."""
    await initialize(lsp, {"endpoint": model.url, "actions": actions or {}}, workspace.as_uri())
    uri = (workspace / "big.py").as_uri()
    open_document(lsp, uri, (workspace / "big.py").read_text())
    assert await until(lambda: indexed(lsp), 60)
    return uri


def tokens(request: RecordedRequest) -> int:
    """What the request asks of the window, counted as the scripted server counts it."""
    assert request.body is not None
    return (len(request.prompt) + 3) // 4 + int(request.body["max_tokens"])


def fixed(workspace: Path, edit: types.WorkspaceEdit) -> str:
    (change,) = edit.document_changes
    return apply_text_edits((workspace / "big.py").read_text(), change.edits)


FIX = call("search_replace", path="big.py", search=TYPO, replace=TYPO.replace("recods", "records"))
DIAGNOSTIC = types.Diagnostic(
    range=types.Range(types.Position(TYPO_LINE + 1, 33), types.Position(TYPO_LINE + 1, 39)),
    message="undefined name 'recods'",
)


async def offered_fix(lsp: LanguageClient, uri: str) -> types.CodeAction:
    """The fix Hermes offers for the misspelt name."""
    here = types.Position(TYPO_LINE + 1, 33)
    found = await actions(lsp, uri, here, here, [DIAGNOSTIC])
    return next(a for a in found if a.kind == "quickfix.hermes.fix")


async def test_a_fix_in_a_large_file_fits_a_small_window(lsp: LanguageClient, workspace: Path):
    with ScriptedServer(context_length=WINDOW) as model:
        model.script(*turns(FIX, "Fixed the misspelt records."))
        uri = await start(lsp, model, workspace)
        resolved = await lsp.code_action_resolve_async(await offered_fix(lsp, uri))
        assert resolved.edit is not None
        assert TYPO.replace("recods", "records") in fixed(workspace, resolved.edit)
        first, second = model.model_requests()  # no request was refused
        assert all(tokens(r) <= WINDOW for r in (first, second))
        assert TYPO in first.prompt and "undefined name 'recods'" in first.prompt
        # The answer was given room beside the prompt: half the window, not the 4,096 asked.
        assert first.body is not None and first.body["max_tokens"] == WINDOW // 2


async def test_a_refactor_with_repository_context_fits_and_keeps_the_file_around_it(
    lsp: LanguageClient, workspace: Path
):
    window = 8192  # room for some of the repository context, not all 6,000 tokens of it
    with ScriptedServer(context_length=window) as model:
        rename = call(
            "replace_symbol",
            path="big.py",
            symbol="total_of",
            code="def total_of(items):\n    return sum(r.amount for r in items)",
        )
        model.script(*turns(rename, "Renamed the parameter."))
        uri = await start(lsp, model, workspace)
        answer = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="hermes.refactor",
                arguments=[
                    {
                        "uri": uri,
                        "range": {
                            "start": {"line": TYPO_LINE + 1, "character": 4},
                            "end": {"line": TYPO_LINE + 1, "character": 4},
                        },
                        "instruction": "rename the parameter to items",
                    }
                ],
            )
        )
        assert answer == "Renamed the parameter."
        (edit,) = applied
        assert "def total_of(items):" in fixed(workspace, edit)
        first = model.model_requests()[0]
        assert all(tokens(r) <= window for r in model.model_requests())
        # The lines around the target are whole (40 either side), the context was cut to fit.
        assert f"{TYPO_LINE - 39:>5}  " in first.prompt and f"{TYPO_LINE + 42:>5}  " in first.prompt
        assert "Related code from the repository" in first.prompt
        assert 0 < first.prompt.count("def scale_") < 375


async def test_a_debug_with_a_long_trace_fits_a_small_window(lsp: LanguageClient, workspace: Path):
    frames = "".join(
        f'  File "{workspace}/big.py", line {4 * n + 3}, in share_{n}\n    return helper(records)\n'
        for n in range(300)
    )
    trace = (
        f"Traceback (most recent call last):\n{frames}"
        f'  File "{workspace}/big.py", line {TYPO_LINE + 2}, in total_of\n{TYPO}\n'
        "NameError: name 'recods' is not defined\n"
    )
    with ScriptedServer(context_length=WINDOW) as model:
        model.script(*turns(FIX, "The generator named recods, which does not exist."))
        await start(lsp, model, workspace)
        answer = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="hermes.debug", arguments=[{"trace": trace}])
        )
        assert answer == "The generator named recods, which does not exist."
        (edit,) = applied
        assert TYPO.replace("recods", "records") in fixed(workspace, edit)
        first = model.model_requests()[0]
        assert all(tokens(r) <= WINDOW for r in model.model_requests())
        # The end of the trace (what failed) and the failing line's frame are there.
        assert "NameError: name 'recods' is not defined" in first.prompt
        assert f"Frame big.py:{TYPO_LINE + 2}" in first.prompt and TYPO in first.prompt
        assert "lines left out to fit the model's context window" in first.prompt


async def test_a_refused_action_is_fitted_to_the_refusal_and_sent_once_more(
    lsp: LanguageClient, workspace: Path
):
    """The server does not list its window: it says it only by refusing a prompt."""
    with ScriptedServer(context_length=WINDOW, list_context_length=False) as model:
        model.script(*turns(FIX, "Fixed."))
        uri = await start(lsp, model, workspace)
        fix = await offered_fix(lsp, uri)
        resolved = await lsp.code_action_resolve_async(fix)
        assert resolved.edit is not None
        refused, retried, last = model.model_requests()
        assert tokens(refused) > WINDOW  # sized as before: the whole context and file
        assert tokens(retried) <= WINDOW and tokens(last) <= WINDOW and TYPO in retried.prompt
        # The window was learnt: the next action fits at once.
        model.reset_log()
        model.script(*turns(FIX, "Fixed."))
        resolved = await lsp.code_action_resolve_async(fix)
        assert resolved.edit is not None
        assert [tokens(r) <= WINDOW for r in model.model_requests()] == [True, True]


async def test_a_target_too_large_for_the_window_is_refused_plainly(lsp: LanguageClient, workspace: Path):
    with ScriptedServer(context_length=WINDOW) as model:
        uri = await start(lsp, model, workspace)
        found = await actions(lsp, uri, types.Position(1, 0), types.Position(600, 0))
        simplify = next(a for a in found if a.kind == "refactor.rewrite.hermes.simplify")
        lsp.messages.clear()
        resolved = await lsp.code_action_resolve_async(simplify)
        assert resolved.edit is None
        assert model.model_requests() == []  # no request that had to fail
        (said,) = [m.message for m in lsp.messages if m.type == types.MessageType.Error]
        assert "does not fit the model's context window (4096 tokens" in said
        assert "select less code" in said


async def test_a_large_tool_result_is_cut_to_fit_and_the_model_is_told(lsp: LanguageClient, workspace: Path):
    with ScriptedServer(context_length=WINDOW) as model:
        read = call("read_file", path="big.py", start_line="1", end_line="200")
        model.script(*turns(read, FIX, "Fixed after reading the file."))
        uri = await start(lsp, model, workspace)
        fix = await offered_fix(lsp, uri)
        resolved = await lsp.code_action_resolve_async(fix)
        assert resolved.edit is not None
        requests = model.model_requests()
        assert len(requests) == 3 and all(tokens(r) <= WINDOW for r in requests)
        told = requests[1].body["messages"][-1]["content"]  # type: ignore[index]
        assert "share_0" in told and "cut to fit the model's context window" in told


async def test_a_turn_refused_in_the_middle_of_the_loop_is_fitted_and_sent_once_more(
    lsp: LanguageClient, workspace: Path
):
    """The first turn fits a window nobody has said; the second, holding a long read, is
    refused: its result is cut to the window the refusal names and the turn sent again."""
    wide = "".join(f"ROW_{n} = '{'x' * 90}'\n" for n in range(200))
    (workspace / "wide.py").write_text(wide)
    with ScriptedServer(context_length=WINDOW, list_context_length=False) as model:
        read = call("read_file", path="wide.py", start_line="1", end_line="200")
        model.script(*turns(read, FIX, "Fixed after reading wide.py."))
        uri = await start(lsp, model, workspace, {"maxTokens": 256, "contextBudget": 0})
        resolved = await lsp.code_action_resolve_async(await offered_fix(lsp, uri))
        assert resolved.edit is not None
        first, refused, retried, last = model.model_requests()
        assert tokens(first) <= WINDOW < tokens(refused)
        assert tokens(retried) <= WINDOW and tokens(last) <= WINDOW
        told = retried.body["messages"][-1]["content"]  # type: ignore[index]
        assert "ROW_0" in told and "cut to fit the model's context window" in told

"""Code actions end to end: a real LSP client, hermes-lsp over stdio, and a scripted model
that answers in the Hermes format (``<tool_call>`` blocks, then a plain-text answer)."""

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
    insert,
    open_document,
    read_code_actions_correctly,
    server_config,
    turns,
    until,
)

GEOMETRY = '''"""Geometry helpers."""
import math


def area(r):
    return math.pi * r ** 2


def describe(r):
    value = area(r)
    text = "area " + str(value)
    return text
'''

REPORT = """from geometry import area


def report(radii):
    total = 0
    for r in radii:
        total += area(r)
    return totl
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("actions-ws")
    (root / "geometry.py").write_text(GEOMETRY)
    (root / "report.py").write_text(REPORT)
    (root / ".gitignore").write_text("private/\n")
    return root


applied: list[types.WorkspaceEdit] = []


@pytest_lsp.fixture(scope="module", config=server_config())
async def client(lsp_client: LanguageClient, scripted_session: ScriptedServer, workspace: Path):
    accept_edits(lsp_client, applied)

    options = {"endpoint": scripted_session.url, "actions": {"maxSteps": 4}}
    lsp_client.init_result = await initialize(lsp_client, options, workspace.as_uri())  # type: ignore[attr-defined]
    for name in ("geometry.py", "report.py"):
        open_document(lsp_client, (workspace / name).as_uri(), (workspace / name).read_text())
    yield
    await lsp_client.shutdown_session()


def at(line: int, character: int = 0) -> types.Position:
    return types.Position(line, character)


def edited_text(workspace: Path, edit: types.WorkspaceEdit, name: str) -> str:
    (document_edit,) = [c for c in edit.document_changes if c.text_document.uri.endswith("/" + name)]
    return apply_text_edits((workspace / name).read_text(), document_edit.edits)


async def run_command_after_applying(client: LanguageClient, action: types.CodeAction) -> None:
    """What an editor does once it has applied a resolved action's edit: run its command."""
    assert action.command is not None
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=action.command.command, arguments=action.command.arguments)
    )


def pick(found: list[types.CodeAction], kind: str) -> types.CodeAction:
    return next(a for a in found if a.kind == kind)


async def test_server_advertises_resolvable_actions_and_the_commands(client):
    capabilities = client.init_result.capabilities
    assert capabilities.code_action_provider.resolve_provider is True
    assert {"quickfix", "refactor", "source"} <= set(capabilities.code_action_provider.code_action_kinds)
    assert {"hermes.refactor", "hermes.debug", "hermes.runAction"} <= set(
        capabilities.execute_command_provider.commands
    )


async def test_listing_actions_costs_no_model_call(client, scripted, workspace):
    uri = (workspace / "report.py").as_uri()
    diagnostic = types.Diagnostic(range=types.Range(at(7, 11), at(7, 15)), message="undefined name 'totl'")
    found = await actions(client, uri, at(4, 4), at(6, 24), [diagnostic])
    kinds = {a.kind for a in found}
    assert {
        "quickfix.hermes.fix",
        "quickfix.hermes.debug",
        "refactor.extract.function",
        "refactor.rewrite.hermes.simplify",
        "refactor.rewrite.hermes.types",
        "refactor.rewrite.hermes.docstring",
        "source.hermes.explain",
    } <= kinds
    fix = pick(found, "quickfix.hermes.fix")
    assert fix.title == "Hermes: fix “undefined name 'totl'”" and fix.edit is None
    assert fix.diagnostics[0].message == "undefined name 'totl'"
    assert scripted.model_requests() == []
    # Without a selection there is nothing to extract.
    assert "refactor.extract.function" not in {a.kind for a in await actions(client, uri, at(5, 0), at(5, 0))}


async def test_fix_resolves_to_a_versioned_edit(client, scripted, workspace):
    uri = (workspace / "report.py").as_uri()
    diagnostic = types.Diagnostic(range=types.Range(at(7, 11), at(7, 15)), message="undefined name 'totl'")
    fix = pick(await actions(client, uri, at(7, 11), at(7, 15), [diagnostic]), "quickfix.hermes.fix")
    scripted.script(
        *turns(
            call("search_replace", path="report.py", search="return totl", replace="return total"),
            "Fixed typo.",
        )
    )
    resolved = await client.code_action_resolve_async(fix)
    (document_edit,) = resolved.edit.document_changes
    assert document_edit.text_document.version == 1  # computed against what the editor has
    assert edited_text(workspace, resolved.edit, "report.py") == REPORT.replace("return totl", "return total")
    first = scripted.model_requests()[0]
    system = first.body["messages"][0]["content"]
    assert "<tools>" in system and "<think>" not in system  # quick action: no reasoning
    assert "undefined name 'totl'" in first.prompt and "report.py" in first.prompt
    # The summary waits until the editor has applied the edit and runs the action's command.
    assert "Fixed typo." not in "".join(m.message for m in client.messages)
    await run_command_after_applying(client, resolved)
    assert "Fixed typo." in "".join(m.message for m in client.messages)


@pytest.mark.parametrize(
    ("kind", "script", "expected"),
    [
        (
            "refactor.rewrite.hermes.simplify",
            [
                call(
                    "replace_symbol",
                    path="geometry.py",
                    symbol="describe",
                    code='def describe(r):\n    return f"area {area(r)}"\n',
                ),
                "Simplified.",
            ],
            GEOMETRY.replace(
                '    value = area(r)\n    text = "area " + str(value)\n    return text\n',
                '    return f"area {area(r)}"\n',
            ),
        ),
        (
            "refactor.rewrite.hermes.types",
            [
                call(
                    "replace_symbol",
                    path="geometry.py",
                    symbol="describe",
                    code=GEOMETRY[GEOMETRY.index("def describe") :].replace("(r):", "(r: float) -> str:"),
                ),
                "Annotated.",
            ],
            GEOMETRY.replace("def describe(r):", "def describe(r: float) -> str:"),
        ),
        (
            "refactor.rewrite.hermes.docstring",
            [
                call(
                    "search_replace",
                    path="geometry.py",
                    search="def describe(r):\n",
                    replace='def describe(r):\n    """Say how large a circle of radius r is."""\n',
                ),
                "Documented.",
            ],
            GEOMETRY.replace(
                "def describe(r):\n", 'def describe(r):\n    """Say how large a circle of radius r is."""\n'
            ),
        ),
        (
            "refactor.extract.function",
            [
                call(
                    "search_replace",
                    path="geometry.py",
                    search='    text = "area " + str(value)\n',
                    replace="    text = label(value)\n",
                ),
                call(
                    "insert_code",
                    path="geometry.py",
                    anchor="describe",
                    where="before",
                    code='def label(value):\n    return "area " + str(value)\n',
                ),
                "Extracted label().",
            ],
            GEOMETRY.replace(
                "def describe(r):", 'def label(value):\n    return "area " + str(value)\n\n\ndef describe(r):'
            ).replace('text = "area " + str(value)', "text = label(value)"),
        ),
    ],
)
async def test_each_refactor_produces_its_edit(client, scripted, workspace, kind, script, expected):
    uri = (workspace / "geometry.py").as_uri()
    action = pick(await actions(client, uri, at(9, 4), at(11, 15)), kind)
    tool_turns = [t for t in script if t.startswith("<tool_call>")]
    scripted.script(*turns("\n".join(tool_turns), script[-1]))
    resolved = await client.code_action_resolve_async(action)
    assert resolved.edit is not None, [m.message for m in client.messages]
    assert edited_text(workspace, resolved.edit, "geometry.py") == expected


async def test_debug_action_reasons_over_the_whole_diagnostic_and_fixes_it(client, scripted, workspace):
    uri = (workspace / "report.py").as_uri()
    long_message = "undefined name 'totl'" + " (did you mean 'total'?)" * 4
    diagnostic = types.Diagnostic(
        range=types.Range(at(7, 11), at(7, 15)), message=long_message, source="pyflakes", code="F821"
    )
    found = await actions(client, uri, at(7, 11), at(7, 15), [diagnostic])
    debug = pick(found, "quickfix.hermes.debug")
    assert debug.title == "Hermes: explain and fix this error" and list(debug.diagnostics) == [diagnostic]
    scripted.script(
        *turns(
            "<think>\ntotl is a typo of total\n</think>\n"
            + call("search_replace", path="report.py", search="return totl", replace="return total"),
            "The loop sums into total, but the function returned the misspelt totl.",
        )
    )
    client.messages.clear()
    resolved = await client.code_action_resolve_async(debug)
    assert edited_text(workspace, resolved.edit, "report.py") == REPORT.replace("return totl", "return total")
    first = scripted.model_requests()[0]
    assert "<think>" in first.body["messages"][0]["content"]  # debugging reasons
    # The model gets the whole message (the title is cut), where it came from, and its line.
    assert f"Diagnostic at line 8: {long_message} (pyflakes F821)" in first.prompt
    await run_command_after_applying(client, resolved)
    assert any("misspelt totl" in m.message for m in client.messages)


async def test_explain_shows_an_answer_and_edits_nothing(client, scripted, workspace):
    uri = (workspace / "geometry.py").as_uri()
    explain = pick(await actions(client, uri, at(4, 0), at(4, 0)), "source.hermes.explain")
    assert explain.command is not None and explain.command.command == "hermes.runAction"
    scripted.script(*turns("It returns the area of a circle of radius r."))
    client.messages.clear()
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=explain.command.command, arguments=explain.command.arguments)
    )
    assert result == "It returns the area of a circle of radius r."
    assert any("area of a circle" in m.message for m in client.messages)
    tools_offered = scripted.model_requests()[0].body["messages"][0]["content"]
    assert "search_replace" not in tools_offered  # explaining gets read-only tools


async def test_a_huge_selection_is_shown_in_part_and_the_rest_left_to_read_file(client, scripted, workspace):
    big = workspace / "table.py"
    text = "".join(f"ROW_{n} = {n}\n" for n in range(1, 1201))
    big.write_text(text)
    open_document(client, big.as_uri(), text)
    action = pick(await actions(client, big.as_uri(), at(0), at(1200)), "refactor.rewrite.hermes.simplify")
    scripted.script(*turns("Nothing to simplify."))
    await client.code_action_resolve_async(action)
    prompt = scripted.model_requests()[0].prompt
    assert "ROW_400 = 400" in prompt and "ROW_401 = 401" not in prompt
    assert "Lines 401-1201 not shown: read them with read_file." in prompt


async def test_explain_command_answers_about_the_given_lines(client, scripted, workspace):
    scripted.script(*turns("describe() formats the area as text."))
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="hermes.explain",
            arguments=[{"uri": (workspace / "geometry.py").as_uri(), "start": 9, "end": 12}],
        )
    )
    assert result == "describe() formats the area as text."
    assert "Target: the code in geometry.py, lines 9-12." in scripted.model_requests()[0].prompt


async def test_model_reads_before_it_edits(client, scripted, workspace):
    uri = (workspace / "report.py").as_uri()
    action = pick(await actions(client, uri, at(3, 0), at(3, 0)), "refactor.rewrite.hermes.types")
    scripted.script(
        *turns(
            call("read_symbol", name="area"),
            call(
                "search_replace",
                path="report.py",
                search="def report(radii):",
                replace="def report(radii: list[float]) -> float:",
            ),
            "Annotated report().",
        )
    )
    resolved = await client.code_action_resolve_async(action)
    assert "def report(radii: list[float]) -> float:" in edited_text(workspace, resolved.edit, "report.py")
    second = scripted.model_requests()[1].prompt
    assert "<tool_response>" in second and "return math.pi * r ** 2" in second


async def test_stack_trace_across_two_files_gives_a_two_file_edit(client, scripted, workspace):
    trace = f"""Traceback (most recent call last):
  File "/srv/app/report.py", line 7, in report
    total += area(r)
  File "{workspace}/geometry.py", line 6, in area
    return math.pi * r ** 2
TypeError: unsupported operand type(s) for ** or pow(): 'str' and 'int'
"""
    applied.clear()
    scripted.script(
        *turns(
            call(
                "search_replace",
                path="geometry.py",
                search="    return math.pi * r ** 2",
                replace="    return math.pi * float(r) ** 2",
            )
            + call("search_replace", path="report.py", search="total = 0\n", replace="total = 0.0\n"),
            "area() now accepts numeric strings; report() sums floats.",
        )
    )
    # The model thinks first: its reasoning streams to the editor as progress, never into an edit.
    scripted.replies[0].text = (
        "<think>\nr arrives as a string from report()\n</think>\n" + scripted.replies[0].text
    )
    client.progress_reports.clear()
    answer = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="hermes.debug", arguments=[{"trace": trace}])
    )
    assert answer.startswith("area() now accepts")
    (edit,) = applied
    assert {c.text_document.uri.rsplit("/", 1)[1] for c in edit.document_changes} == {
        "geometry.py",
        "report.py",
    }
    assert "float(r) ** 2" in edited_text(workspace, edit, "geometry.py")
    assert "total = 0.0" in edited_text(workspace, edit, "report.py")
    prompt = scripted.model_requests()[0].prompt
    # Both frames were found in the workspace (one by its path tail) and their code shown.
    assert "Frame report.py:7" in prompt and "Frame geometry.py:6" in prompt
    assert "<think>" in scripted.model_requests()[0].body["messages"][0]["content"]  # debug reasons
    # The action's own progress (the background index may report beside it).
    (reports,) = [
        values
        for values in client.progress_reports.values()
        if values and getattr(values[0], "title", "") == "Hermes: explain and fix this error"
    ]
    assert reports[0].kind == "begin" and reports[-1].kind == "end"
    assert any("Thinking: r arrives as a string" in (getattr(r, "message", "") or "") for r in reports)
    assert all("<think>" not in c.new_text for d in edit.document_changes for c in d.edits)


GUARDED_AREA = "def area(r):\n    if r < 0:\n        raise ValueError(r)\n    return math.pi * r ** 2\n"


async def test_refactor_command_follows_a_free_form_instruction(client, scripted, workspace):
    uri = (workspace / "geometry.py").as_uri()
    applied.clear()
    client.messages.clear()
    scripted.script(
        *turns(
            call(
                "replace_symbol",
                path="geometry.py",
                symbol="area",
                code=GUARDED_AREA,
            ),
            "area() now rejects negative radii.",
        )
    )
    # A cursor inside area() with no selection: the instruction applies to the enclosing function.
    answer = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="hermes.refactor",
            arguments=[
                {
                    "uri": uri,
                    "range": {"start": {"line": 5, "character": 4}, "end": {"line": 5, "character": 4}},
                    "instruction": "reject negative radii",
                }
            ],
        )
    )
    assert answer == "area() now rejects negative radii."
    (edit,) = applied
    assert edited_text(workspace, edit, "geometry.py") == GEOMETRY.replace(
        "def area(r):\n    return math.pi * r ** 2\n", GUARDED_AREA
    )
    first = scripted.model_requests()[0]
    assert "Task: reject negative radii" in first.prompt and "lines 5-6" in first.prompt
    assert "<think>" in first.body["messages"][0]["content"]  # free-form refactors reason
    assert edit.change_annotations["hermes"].label == "Hermes: refactor"


async def test_refactor_command_without_an_instruction_says_what_is_missing(client, scripted, workspace):
    client.messages.clear()
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="hermes.refactor", arguments=[{"uri": (workspace / "geometry.py").as_uri()}]
        )
    )
    assert result is None and scripted.model_requests() == []
    assert any("needs a file and an instruction" in m.message for m in client.messages)


async def test_debug_command_with_a_trace_from_elsewhere_says_so(client, scripted, workspace):
    client.messages.clear()
    trace = 'Traceback (most recent call last):\n  File "/usr/lib/python3/json/decoder.py", line 3, in x\n'
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="hermes.debug", arguments=[{"trace": trace}])
    )
    assert result is None and scripted.model_requests() == []
    assert any("found no frame of that trace" in m.message for m in client.messages)


async def test_debug_without_workspace_frames_uses_the_file_in_view(client, scripted, workspace):
    applied.clear()
    scripted.script(
        *turns(
            call("search_replace", path="report.py", search="return totl", replace="return total"),
            "report() returned an undefined name.",
        )
    )
    answer = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="hermes.debug",
            arguments=[
                {"trace": "NameError: name 'totl' is not defined", "uri": (workspace / "report.py").as_uri()}
            ],
        )
    )
    assert answer == "report() returned an undefined name."
    prompt = scripted.model_requests()[0].prompt
    assert "NameError: name 'totl'" in prompt and "File report.py, open in the editor" in prompt
    (edit,) = applied
    assert edited_text(workspace, edit, "report.py") == REPORT.replace("return totl", "return total")


async def resolve_expecting_refusal(client, workspace, script: list[str]) -> str:
    uri = (workspace / "geometry.py").as_uri()
    action = pick(await actions(client, uri, at(9, 4), at(11, 15)), "refactor.rewrite.hermes.simplify")
    client.messages.clear()
    resolved = await client.code_action_resolve_async(action)
    assert resolved.edit is None
    return "\n".join(m.message for m in client.messages)


@pytest.mark.parametrize(
    ("script", "model_was_told", "user_sees"),
    [
        (
            ['<tool_call>{"name": "search_replace", "arguments": {"path": "geometry.py",}</tool_call>'] * 4,
            "could not be read: invalid JSON",
            "did not finish within 4 steps",
        ),
        (
            [call("delete_everything", path="geometry.py"), "Done."],
            "there is no tool named 'delete_everything'",
            "proposed no change",
        ),
        (
            [call("search_replace", path="geometry.py", search="radius", replace="r"), "Gave up."],
            "search text not found",
            "edit was refused, nothing was changed: search text not found in geometry.py",
        ),
        (
            [call("search_replace", path="geometry.py", search="value", replace="v"), "Gave up."],
            "occurs 2 times",
            "edit was refused, nothing was changed: search text occurs 2 times in geometry.py",
        ),
        (
            [call("create_file", path="../escape.py", content="x = 1"), "Gave up."],
            "outside the workspace",
            "edit was refused, nothing was changed: ../escape.py is outside the workspace",
        ),
        (
            [call("create_file", path="private/notes.py", content="x = 1"), "Gave up."],
            "ignore rules",
            "edit was refused, nothing was changed: private/notes.py is excluded",
        ),
        (
            [
                call(
                    "search_replace", path="geometry.py", search="def describe(r):", replace="def describe(r:"
                ),
                "Done.",
                "Still done.",
            ],
            "would break the syntax",
            "edit was refused, nothing was changed: the edit would break the syntax",
        ),
    ],
)
async def test_bad_model_output_gives_a_clear_message_and_no_edit(
    client, scripted, workspace, script, model_was_told, user_sees
):
    scripted.script(*turns(*script))
    shown = await resolve_expecting_refusal(client, workspace, script)
    assert user_sees in shown
    # What the model claims after its edit was refused is not passed on as if it had worked.
    assert "Gave up." not in shown and "Still done." not in shown
    assert any(model_was_told in r.prompt for r in scripted.model_requests()[1:])


async def test_a_syntax_error_shown_to_the_model_is_repaired_and_then_offered(client, scripted, workspace):
    uri = (workspace / "geometry.py").as_uri()
    action = pick(await actions(client, uri, at(9, 4), at(11, 15)), "refactor.rewrite.hermes.types")
    scripted.script(
        *turns(
            call("search_replace", path="geometry.py", search="describe(r):", replace="describe(r: float:"),
            "Annotated.",
            call("search_replace", path="geometry.py", search="(r: float:", replace="(r: float) -> str:"),
            "Annotated, with the parenthesis closed.",
        )
    )
    client.messages.clear()
    resolved = await client.code_action_resolve_async(action)
    assert edited_text(workspace, resolved.edit, "geometry.py") == GEOMETRY.replace(
        "def describe(r):", "def describe(r: float) -> str:"
    )
    told = scripted.model_requests()[2].prompt
    assert "would break the syntax" in told and "geometry.py would have a syntax error at line 9" in told
    await run_command_after_applying(client, resolved)
    assert any("parenthesis closed" in m.message for m in client.messages)


async def test_document_edited_while_the_model_thinks_gets_no_edit(client, scripted, workspace):
    uri = (workspace / "geometry.py").as_uri()
    action = pick(await actions(client, uri, at(9, 4), at(11, 15)), "refactor.rewrite.hermes.simplify")
    scripted.script(
        Reply(
            text=call("replace_symbol", path="geometry.py", symbol="area", code="def area(r):\n    return 0"),
            first_delay=0.8,
            times=1,
        ),
        Reply(text="Done.", times=1),
    )
    client.messages.clear()
    pending = asyncio.ensure_future(client.code_action_resolve_async(action))
    assert await until(lambda: len(scripted.model_requests()) == 1)
    insert(client, uri, 2, 0, 0, "# edited meanwhile\n")
    resolved = await pending
    assert resolved.edit is None
    assert any(
        m.message.startswith("hermes-lsp: Hermes' edit was refused, nothing was changed: geometry.py changed")
        and "changed while Hermes was working" in m.message
        for m in client.messages
    )


async def test_cancelling_a_resolve_closes_the_model_stream_and_ends_the_progress(
    client, scripted, workspace
):
    uri = (workspace / "geometry.py").as_uri()
    action = pick(await actions(client, uri, at(9, 4), at(11, 15)), "refactor.rewrite.hermes.simplify")
    scripted.script(Reply(text="<think>" + "pondering " * 400, chunk_size=8, chunk_delay=0.02, times=1))
    client.progress_reports.clear()
    future = client.protocol.send_request(types.CODE_ACTION_RESOLVE, action, msg_id="resolve-cancel")
    assert await until(lambda: len(scripted.model_requests()) == 1)
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="resolve-cancel"))
    upstream = scripted.model_requests()[0]
    assert await until(lambda: upstream.disconnected, timeout=2.0), "the model kept generating"
    with pytest.raises(Exception, match="cancel"):
        await asyncio.wait_for(asyncio.wrap_future(future), 5)

    def ended() -> bool:
        reports = [value for values in client.progress_reports.values() for value in values]
        return bool(reports) and reports[-1].kind == "end"

    assert await until(ended), "the editor's progress indicator was left spinning"


@pytest_lsp.fixture(scope="module", config=server_config())
async def plain_client(lsp_client: LanguageClient, scripted_session: ScriptedServer, workspace: Path):
    """An editor without codeAction/resolve support: actions carry a command instead."""
    edits: list[types.WorkspaceEdit] = []
    refusals: list[str] = []
    read_code_actions_correctly(lsp_client)

    shown_before_apply: list[list[str]] = []

    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        shown_before_apply.append([m.message for m in lsp_client.messages])
        if refusals:
            return types.ApplyWorkspaceEditResult(applied=False, failure_reason=refusals.pop())
        edits.append(params.edit)
        return types.ApplyWorkspaceEditResult(applied=True)

    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(
                workspace=types.WorkspaceClientCapabilities(apply_edit=True),
            ),
            initialization_options={"endpoint": scripted_session.url},
            root_uri=workspace.as_uri(),
        )
    )
    lsp_client.applied_edits = edits  # type: ignore[attr-defined]
    lsp_client.refusals = refusals  # type: ignore[attr-defined]
    lsp_client.shown_before_apply = shown_before_apply  # type: ignore[attr-defined]
    open_document(lsp_client, (workspace / "geometry.py").as_uri(), GEOMETRY)
    yield
    await lsp_client.shutdown_session()


async def test_client_without_resolve_gets_a_command_and_an_applied_edit(plain_client, scripted, workspace):
    uri = (workspace / "geometry.py").as_uri()
    action = pick(await actions(plain_client, uri, at(9, 4), at(11, 15)), "refactor.rewrite.hermes.types")
    assert action.edit is None and action.command.command == "hermes.runAction"
    scripted.script(
        *turns(
            call(
                "search_replace",
                path="geometry.py",
                search="def describe(r):",
                replace="def describe(r: float):",
            ),
            "Ok.",
        )
    )
    await plain_client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=action.command.command, arguments=action.command.arguments)
    )
    (edit,) = plain_client.applied_edits
    # This client announced neither documentChanges nor annotations: it gets the plain map.
    assert edit.document_changes is None and edit.change_annotations is None
    ((changed_uri, edits),) = edit.changes.items()
    assert changed_uri == uri
    expected = GEOMETRY.replace("def describe(r):", "def describe(r: float):")
    assert apply_text_edits(GEOMETRY, edits) == expected


async def test_an_edit_the_editor_refuses_is_reported(plain_client, scripted, workspace):
    uri = (workspace / "geometry.py").as_uri()
    action = pick(await actions(plain_client, uri, at(9, 4), at(11, 15)), "refactor.rewrite.hermes.docstring")
    scripted.script(
        *turns(
            call("insert_code", path="geometry.py", anchor="describe", where="before", code="# helpers"),
            "Added a comment.",
        )
    )
    plain_client.refusals.append("the file is read-only")
    plain_client.messages.clear()
    result = await plain_client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=action.command.command, arguments=action.command.arguments)
    )
    assert result == "Added a comment."
    shown = [m.message for m in plain_client.messages]
    assert "hermes-lsp: The editor did not apply Hermes' edit: the file is read-only" in shown
    assert not any("Added a comment." in m for m in shown)  # the summary of an edit that did not happen


async def test_the_summary_is_shown_after_the_editor_applied_the_edit(plain_client, scripted, workspace):
    uri = (workspace / "geometry.py").as_uri()
    action = pick(await actions(plain_client, uri, at(4, 0), at(5, 0)), "refactor.rewrite.hermes.docstring")
    scripted.script(
        *turns(
            call("insert_code", path="geometry.py", anchor="area", where="before", code="# area of a disc"),
            "Done: a comment above area.",
        )
    )
    plain_client.messages.clear()
    plain_client.shown_before_apply.clear()
    await plain_client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=action.command.command, arguments=action.command.arguments)
    )
    (before_apply,) = plain_client.shown_before_apply
    assert not any("Done: a comment above area." in m for m in before_apply)
    assert [m.message for m in plain_client.messages] == ["hermes-lsp: Done: a comment above area."]


@pytest.mark.parametrize(
    "data",
    [
        {"uri": "file:///x.py", "start": 1, "end": 2},  # no action: a foreign payload
        {"action": "fix", "uri": "file:///x.py", "start": 1, "end": 2, "legacy_field": True},  # unknown field
        {"action": "fix", "uri": "file:///x.py", "start": "one"},  # wrong type
        {"action": "rename_everything", "uri": "file:///x.py"},  # an action this version does not have
        "not even an object",
    ],
)
async def test_a_payload_from_another_version_is_no_longer_valid(client, scripted, data):
    client.messages.clear()
    stale = types.CodeAction(title="Hermes: fix", kind="quickfix.hermes.fix", data=data)
    resolved = await client.code_action_resolve_async(stale)
    assert resolved.edit is None and scripted.model_requests() == []
    assert [m.message for m in client.messages] == [
        "hermes-lsp: this code action is no longer valid; ask for code actions again"
    ]
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="hermes.runAction", arguments=[data])
    )
    assert result is None and len(client.messages) == 2

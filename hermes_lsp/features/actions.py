"""Code actions: fix, debug, refactor and explain, through Hermes 4 function calling.

``textDocument/codeAction`` only lists what can be done (cheap, no model call). The model
runs when the user picks an action: in ``codeAction/resolve``, or, for editors that cannot
resolve edits, in the ``hermes.runAction`` command, whose result is applied with
``workspace/applyEdit``. ``hermes.refactor`` (free-form instruction) and ``hermes.debug``
(a pasted stack trace) are commands too.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections import OrderedDict
from typing import Any

import attrs
from lsprotocol import types

from hermes_lsp.context import walk
from hermes_lsp.context.tags import Definition
from hermes_lsp.edits import DocumentReader, EditError, EditSet, OpenText
from hermes_lsp.features.agent import run_agent
from hermes_lsp.features.conversation import Conversation
from hermes_lsp.features.payload import ActionPayload, from_data, to_data
from hermes_lsp.features.stacktrace import Located, locate, parse_trace
from hermes_lsp.model.client import ModelError
from hermes_lsp.model.hermes import piece_blocks
from hermes_lsp.model.tools import EDIT_TOOLS, READ_TOOLS, system_prompt
from hermes_lsp.model.window import Around, Blocks, Ends, Fixed, Part
from hermes_lsp.progress import ProgressReporter
from hermes_lsp.server import HermesLanguageServer
from hermes_lsp.text import lf_breaks, offset_at
from hermes_lsp.uris import document_key, relative

log = logging.getLogger(__name__)

COMMAND_RUN_ACTION = "hermes.runAction"
COMMAND_REFACTOR = "hermes.refactor"
COMMAND_DEBUG = "hermes.debug"
COMMAND_EXPLAIN = "hermes.explain"
COMMAND_SHOW_SUMMARY = "hermes.showSummary"
# Resolved edits whose summary waits for the editor to apply them; older ones are dropped.
MAX_PENDING_SUMMARIES = 32


@attrs.frozen
class ActionSpec:
    """One kind of action the server offers."""

    id: str
    title: str
    kind: str
    task: str
    """What the model is asked to do with the target code."""
    edits: bool = True
    reasoning: bool = False
    needs_selection: bool = False
    offered: bool = True
    """Listed as a code action (False: reached only through its command)."""


ACTIONS: dict[str, ActionSpec] = {
    spec.id: spec
    for spec in (
        ActionSpec(
            "fix",
            "Hermes: fix",
            "quickfix.hermes.fix",
            "Fix the problem the diagnostic reports, with the smallest correct change.",
        ),
        ActionSpec(
            "debug",
            "Hermes: explain and fix this error",
            "quickfix.hermes.debug",
            "Find the cause of the error, explain it briefly, and fix it where it starts "
            "(which may be in another file).",
            reasoning=True,
        ),
        ActionSpec(
            "extract_function",
            "Hermes: extract function",
            "refactor.extract.function",
            "Extract the selected code into a new well-named function and call it from where "
            "the code was. Keep behaviour identical.",
            needs_selection=True,
        ),
        ActionSpec(
            "simplify",
            "Hermes: simplify",
            "refactor.rewrite.hermes.simplify",
            "Simplify the target code: same behaviour, clearer and shorter.",
        ),
        ActionSpec(
            "add_types",
            "Hermes: add type annotations",
            "refactor.rewrite.hermes.types",
            "Add precise type annotations to the target code without changing behaviour.",
        ),
        ActionSpec(
            "add_docstring",
            "Hermes: add docstring",
            "refactor.rewrite.hermes.docstring",
            "Add a concise docstring (or doc comment, in this language's convention) to the "
            "target definition. Change nothing else.",
        ),
        ActionSpec(
            "refactor",
            "Hermes: refactor",
            "refactor.rewrite.hermes.refactor",
            "Change the target code as the instruction says; keep behaviour the instruction does "
            "not ask to change.",
            reasoning=True,
            offered=False,
        ),
        ActionSpec(
            "explain",
            "Hermes: explain this code",
            "source.hermes.explain",
            "Explain what the target code does, briefly and concretely. Do not edit anything.",
            edits=False,
        ),
    )
}

INSTRUCTIONS = """You are Hermes, a careful senior engineer working inside the user's editor.
You change code only through the edit functions; the user previews your edits before
they are applied. Make the smallest change that does the task, keep the file's style,
and never touch code the task does not need."""


@attrs.frozen
class Target:
    """The code an action works on."""

    uri: str
    rel: str
    text: str
    version: int | None
    start_line: int
    """1-based, inclusive."""
    end_line: int
    selection: str


async def _target(ls: HermesLanguageServer, uri: str, range_: types.Range) -> Target | None:
    try:
        document = ls.workspace.get_text_document(uri)
        text = document.source
    except Exception:
        return None
    encoding = ls.position_encoding
    start = offset_at(text, range_.start.line, range_.start.character, encoding).offset
    end = offset_at(text, range_.end.line, range_.end.character, encoding).offset
    rel = relative(uri, ls.root)
    first, last = range_.start.line + 1, range_.end.line + 1
    if start == end and not ls.context_engine.oversized(text):
        # No selection: the innermost definition around the cursor (a document above
        # limits.maxDocumentKb is plain text: it has no definitions to look for).
        found = await ls.context_engine.syntax.definitions_off_loop(rel, text)
        around = [d for d in found if d.start_line <= first <= d.end_line]
        if around:
            inner = min(around, key=lambda d: d.end_line - d.start_line)
            first, last = inner.start_line, inner.end_line
    return Target(document.uri, rel, text, document.version, first, last, text[start:end])


@attrs.frozen
class Offer:
    """One action offered at a place, before any model call."""

    spec: ActionSpec
    payload: ActionPayload
    """What comes back in ``codeAction/resolve`` (or as the command's argument)."""
    title: str
    diagnostics: list[types.Diagnostic] = attrs.field(factory=list)
    """The diagnostics the action fixes (editors show the fix next to them)."""


def describe_diagnostic(diagnostic: types.Diagnostic) -> str:
    """A diagnostic as the model reads it: who reported it, its code, the whole message."""
    origin = " ".join(str(part) for part in (diagnostic.source, diagnostic.code) if part not in (None, ""))
    message = diagnostic.message.strip()[:1000]
    return f"{message} ({origin})" if origin else message


def offered_actions(
    target: Target, diagnostics: list[types.Diagnostic], only: list[str] | None
) -> list[Offer]:
    """Each action that applies here; no model involved."""
    selected = bool(target.selection.strip())

    def payload(action: str, diagnostic: types.Diagnostic | None = None) -> ActionPayload:
        return ActionPayload(
            action,
            target.uri,
            target.version,
            target.start_line,
            target.end_line,
            selected,
            describe_diagnostic(diagnostic) if diagnostic else None,
            diagnostic.range.start.line + 1 if diagnostic else None,
        )

    offered: list[Offer] = []
    for diagnostic in diagnostics[:5]:
        headline = diagnostic.message.strip().split("\n")[0][:80]
        offered.append(
            Offer(ACTIONS["fix"], payload("fix", diagnostic), f"Hermes: fix “{headline}”", [diagnostic])
        )
    if diagnostics:
        debug = ACTIONS["debug"]
        offered.append(Offer(debug, payload("debug", diagnostics[0]), debug.title, list(diagnostics[:1])))
    for spec in ACTIONS.values():
        if spec.id in ("fix", "debug") or not spec.offered:
            continue
        if spec.needs_selection and not selected:
            continue
        offered.append(Offer(spec, payload(spec.id), spec.title))
    if only:
        offered = [
            o for o in offered if any(o.spec.kind == k or o.spec.kind.startswith(k + ".") for k in only)
        ]
    return offered


def _numbered_lines(lines: list[str], start: int, end: int) -> str:
    return "\n".join(f"{n:>5}  {lines[n - 1]}" for n in range(max(1, start), min(len(lines), end) + 1))


def build_task_message(
    ls: HermesLanguageServer, payload: ActionPayload, spec: ActionSpec, target: Target
) -> list[Part]:
    """The user message's parts: context, the file around the target, the target, the task.

    Fitted to the model's window, the repository context is cut first (whole pieces left
    out), then the lines around the target; the target's own lines and the task never.
    """
    budget = ls.settings.actions.context_budget
    purpose = "debug" if spec.id == "debug" else "refactor"
    offset = offset_at(target.text, target.start_line - 1, 0).offset
    pieces = ls.context_engine.context(target.uri, target.text, offset, budget, purpose) if budget else []
    lines = lf_breaks(target.text).split("\n")
    total = len(lines)
    first = min(max(1, target.start_line), total)
    # A huge selection would crowd out everything else: show its start, let the model read on.
    last = min(max(first, target.end_line), total, first + MAX_SHOWN_LINES - 1)
    unread = min(total, target.end_line + AROUND_LINES) if last < target.end_line else None
    span = (max(1, first - AROUND_LINES), last if unread else min(total, last + AROUND_LINES))

    def show(lo: int, hi: int) -> str:
        more = f"\n(Lines {hi + 1}-{unread} not shown: read them with read_file.)" if unread else ""
        return (
            f"File {target.rel} (lines {lo}-{hi}, numbered for reading only):\n"
            f"```\n{_numbered_lines(lines, lo, hi)}\n```{more}"
        )

    what = "the selected code" if payload.selection else "the code"
    task = [f"Target: {what} in {target.rel}, lines {target.start_line}-{target.end_line}."]
    if payload.diagnostic:
        line = payload.diagnostic_line or payload.start
        task.append(f"Diagnostic at line {line}: {payload.diagnostic}")
    instruction = payload.instruction
    task.append(f"Task: {instruction}" if instruction else f"Task: {spec.task}")
    return [
        Blocks("Related code from the repository:\n\n", tuple(piece_blocks(pieces)), rank=2),
        Around((first, last), span, show, rank=1),
        Fixed("\n\n".join(task)),
    ]


# Most lines of the target's file put in the first prompt (about 8,000 tokens).
MAX_SHOWN_LINES = 400
# Lines shown either side of the target, as far as the window allows.
AROUND_LINES = 40


@attrs.frozen
class Outcome:
    """What an action produced, ready for the editor."""

    edit: types.WorkspaceEdit | None
    answer: str
    error: str | None
    refused: bool = False
    """``error`` says why Hermes' edit was refused (so nothing was changed)."""


def for_user(reason: str) -> str:
    """An edit refusal as the user reads it: the reason, without the advice to the model."""
    return reason.split("; ", 1)[0]


def _open_document(ls: HermesLanguageServer) -> DocumentReader:
    def read(uri: str) -> OpenText | None:
        document = ls.workspace.text_documents.get(document_key(uri))
        if document is None:
            return None
        return OpenText(document.uri, document.source, document.version or 0)

    return read


@attrs.frozen
class EditSupport:
    """What the editor says it can apply in a ``WorkspaceEdit``."""

    document_changes: bool
    annotations: bool
    create_files: bool


def edit_support(ls: HermesLanguageServer) -> EditSupport:
    workspace = ls.client_capabilities.workspace
    edit = workspace.workspace_edit if workspace else None
    document_changes = bool(edit and edit.document_changes)
    return EditSupport(
        document_changes=document_changes,
        annotations=document_changes and edit is not None and edit.change_annotation_support is not None,
        create_files=document_changes
        and edit is not None
        and types.ResourceOperationKind.Create in (edit.resource_operations or ()),
    )


async def perform(
    ls: HermesLanguageServer,
    spec: ActionSpec,
    task: list[Part],
    *,
    reasoning: bool,
    title: str,
) -> Outcome:
    """Run the model for one action and turn its edits into a checked WorkspaceEdit."""
    root = ls.root or os.getcwd()
    baseline = {uri: doc.version or 0 for uri, doc in ls.workspace.text_documents.items()}
    support = edit_support(ls)
    edits = EditSet(
        root,
        _open_document(ls),
        baseline,
        can_create=support.create_files,
        exclude=lambda: ls.settings.index.exclude,
        syntax=ls.context_engine.syntax,
        max_file_bytes=ls.settings.index.max_file_kb * 1024,
    )
    tools = (EDIT_TOOLS + READ_TOOLS) if spec.edits else READ_TOOLS
    conversation = Conversation(system_prompt(INSTRUCTIONS, tools, reasoning=reasoning), task)
    progress = ProgressReporter(ls, title)
    progress("Asking Hermes…", None)
    ls.begin_work(title)
    deadline = ls.settings.limits.action_deadline_ms
    try:
        async with asyncio.timeout(deadline / 1000):
            result = await run_agent(
                ls.actions_model,
                conversation,
                edits,
                ls.context_engine,
                ls.settings.actions,
                reasoning=reasoning,
                progress=lambda message: progress(message, None),
                limits=ls.settings.limits,
            )
        ls.model_ok("Hermes is ready")  # while still busy: the status goes from busy to ready
    except ModelError as exc:
        ls.report_model_error(exc)
        return Outcome(None, "", str(exc))
    except TimeoutError:
        return Outcome(
            None, "", f"it did not finish within {deadline / 1000:g} s (hermes.limits.actionDeadlineMs)"
        )
    finally:
        progress.end()
        ls.end_work(title)
    if result.problems:
        return Outcome(None, result.answer, "; ".join(result.problems))
    if result.broken:
        return Outcome(None, result.answer, "; ".join(result.broken), refused=True)
    stale = edits.stale()
    if stale:
        return Outcome(
            None,
            result.answer,
            f"{', '.join(stale)} changed while Hermes was working; run the action again",
            refused=True,
        )
    if spec.edits and not edits.changed() and result.refused:
        reasons = "; ".join(dict.fromkeys(for_user(r) for r in result.refused))
        return Outcome(None, result.answer, reasons, refused=True)
    if not spec.edits or not edits.changed():
        return Outcome(None, result.answer, None)
    edit = edits.workspace_edit(
        ls.position_encoding, title, support.annotations, document_changes=support.document_changes
    )
    return Outcome(edit, result.answer, None)


def _report(ls: HermesLanguageServer, outcome: Outcome, spec: ActionSpec) -> None:
    """Tell the user how the action ended (after the editor applied or refused the edit)."""
    if outcome.refused:
        ls.answer_user(
            f"Hermes' edit was refused, nothing was changed: {outcome.error}", types.MessageType.Warning
        )
    elif outcome.error:
        ls.answer_user(
            f"Hermes could not {spec.title.removeprefix('Hermes: ')}: {outcome.error}",
            types.MessageType.Error,
        )
    elif spec.edits and outcome.edit is None:
        ls.answer_user(f"Hermes proposed no change. {outcome.answer}".strip(), types.MessageType.Info)
    elif outcome.answer:
        ls.answer_user(outcome.answer[:2000], types.MessageType.Info)


async def run_action_data(ls: HermesLanguageServer, data: Any) -> tuple[ActionSpec, Outcome] | None:
    """Run the action a code action's ``data`` (or a command's argument) describes.

    The caller reports the outcome, once the editor has applied (or refused) its edit.
    """
    payload = from_data(data)
    spec = ACTIONS.get(payload.action) if payload else None
    if payload is None or spec is None:
        # Written by another version of the server, or by something else entirely.
        ls.answer_user(
            "this code action is no longer valid; ask for code actions again", types.MessageType.Warning
        )
        return None
    if ls.excluded(payload.uri):
        return None
    document = ls.workspace.text_documents.get(document_key(payload.uri))
    if document is None:
        ls.answer_user("open the file before running this action", types.MessageType.Warning)
        return None
    if payload.version is not None and document.version != payload.version:
        return spec, Outcome(None, "", "the file changed since the action was offered; run it again")
    target = Target(
        document.uri,
        relative(document.uri, ls.root),
        document.source,
        document.version,
        payload.start,
        payload.end,
        "",
    )
    reasoning = spec.reasoning and ls.settings.actions.reasoning
    outcome = await perform(
        ls, spec, build_task_message(ls, payload, spec, target), reasoning=reasoning, title=spec.title
    )
    return spec, outcome


def register(server: HermesLanguageServer) -> None:
    """Add code actions and commands to the server."""
    kinds = [
        types.CodeActionKind.QuickFix,
        types.CodeActionKind.Refactor,
        types.CodeActionKind.RefactorExtract,
        types.CodeActionKind.RefactorRewrite,
        types.CodeActionKind.Source,
    ]

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=kinds, resolve_provider=True),
    )
    async def code_action(
        ls: HermesLanguageServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        if ls.excluded(params.text_document.uri):
            return None
        target = await _target(ls, params.text_document.uri, params.range)
        if target is None:
            return None
        offered = offered_actions(
            target, list(params.context.diagnostics), list(params.context.only or []) or None
        )
        resolve = _can_resolve_edits(ls)
        actions = []
        for offer in offered:
            data = to_data(offer.payload)
            action = types.CodeAction(
                title=offer.title,
                kind=offer.spec.kind,
                data=data,
                diagnostics=offer.diagnostics or None,
            )
            if not resolve or not offer.spec.edits:
                action.command = types.Command(
                    title=offer.title, command=COMMAND_RUN_ACTION, arguments=[data]
                )
                action.data = None
            else:
                # Editors run a code action's command after applying its edit: that is
                # when the model's summary of the edit is worth reading.
                key = uuid.uuid4().hex
                action.data = to_data(attrs.evolve(offer.payload, summary=key))
                action.command = types.Command(
                    title=offer.title, command=COMMAND_SHOW_SUMMARY, arguments=[key]
                )
            actions.append(action)
        return actions

    # Summaries of resolved edits, until the editor has applied them and runs the command.
    summaries: OrderedDict[str, tuple[ActionSpec, Outcome]] = OrderedDict()

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def resolve_code_action(ls: HermesLanguageServer, action: types.CodeAction) -> types.CodeAction:
        ran = await run_action_data(ls, action.data)
        if ran is None:
            return action
        spec, outcome = ran
        if outcome.edit is None:
            _report(ls, outcome, spec)
            return action
        action.edit = outcome.edit
        payload = from_data(action.data)
        if payload is not None and payload.summary:
            summaries[payload.summary] = (spec, outcome)
            while len(summaries) > MAX_PENDING_SUMMARIES:
                summaries.popitem(last=False)
        return action

    @server.command(COMMAND_SHOW_SUMMARY)
    def show_summary(ls: HermesLanguageServer, *args: Any) -> None:
        flat = args[0] if len(args) == 1 and isinstance(args[0], list) else list(args)
        pending = summaries.pop(str(flat[0]), None) if flat else None
        if pending is not None:
            _report(ls, pending[1], pending[0])

    @server.command(COMMAND_RUN_ACTION)
    async def run_action(ls: HermesLanguageServer, *args: Any) -> str | None:
        ran = await run_action_data(ls, _first_argument(args))
        return await _apply(ls, *ran) if ran else None

    @server.command(COMMAND_EXPLAIN)
    async def explain(ls: HermesLanguageServer, *args: Any) -> str | None:
        ran = await run_action_data(ls, {**_first_argument(args), "action": "explain"})
        if ran is None:
            return None
        _report(ls, ran[1], ran[0])
        return ran[1].answer

    @server.command(COMMAND_REFACTOR)
    async def refactor(ls: HermesLanguageServer, *args: Any) -> str | None:
        data = _first_argument(args)
        instruction = str(data.get("instruction") or "").strip()
        if not instruction or "uri" not in data:
            ls.answer_user("hermes.refactor needs a file and an instruction", types.MessageType.Warning)
            return None
        if ls.excluded(data["uri"]):
            return None
        range_ = ls_range(data.get("range"))
        target = await _target(ls, data["uri"], range_)
        if target is None:
            ls.answer_user("open the file before refactoring it", types.MessageType.Warning)
            return None
        spec = ACTIONS["refactor"]
        task = ActionPayload(
            spec.id,
            target.uri,
            target.version,
            target.start_line,
            target.end_line,
            bool(target.selection.strip()),
            instruction=instruction,
        )
        reasoning = ls.settings.actions.reasoning
        outcome = await perform(
            ls, spec, build_task_message(ls, task, spec, target), reasoning=reasoning, title=spec.title
        )
        return await _apply(ls, spec, outcome)

    @server.command(COMMAND_DEBUG)
    async def debug(ls: HermesLanguageServer, *args: Any) -> str | None:
        data = _first_argument(args)
        trace = str(data.get("trace") or "")
        root = ls.root or os.getcwd()
        uri = data.get("uri")
        opened = isinstance(uri, str) and document_key(uri) in ls.workspace.text_documents
        viewing = relative(uri, ls.root) if opened and not ls.excluded(uri) else None
        if viewing and os.path.isabs(viewing):
            viewing = None  # a file outside the workspace cannot be edited anyway
        # Walking a large tree takes a while: keep the server answering meanwhile.
        found = await asyncio.to_thread(walk.walk, root, ls.settings.index.exclude)
        frames = locate(parse_trace(trace), root, found.files, prefer=viewing)
        if not frames and viewing and trace.strip():
            # No frame in the workspace (a bare error message, a trace from a library):
            # diagnose against the file the user is looking at.
            frames = [Located(viewing, 0, "")]
        if not frames:
            ls.answer_user(
                "hermes.debug found no frame of that trace in this workspace; paste the whole trace",
                types.MessageType.Warning,
            )
            return None
        spec = ACTIONS["debug"]
        message = await debug_message(ls, trace, frames)
        outcome = await perform(ls, spec, message, reasoning=ls.settings.actions.reasoning, title=spec.title)
        return await _apply(ls, spec, outcome)


def ls_range(value: Any) -> types.Range:
    try:
        start, end = value["start"], value["end"]
        return types.Range(
            types.Position(int(start["line"]), int(start["character"])),
            types.Position(int(end["line"]), int(end["character"])),
        )
    except (KeyError, TypeError, ValueError):
        return types.Range(types.Position(0, 0), types.Position(0, 0))


async def debug_message(ls: HermesLanguageServer, trace: str, frames: list[Located]) -> list[Part]:
    """The debug prompt's parts: the trace, then the code of each workspace frame, innermost last.

    Fitted to the model's window, the outer frames' code goes first (outermost first), then
    the middle of the trace, then the lines around the innermost frame's line.
    """
    root = ls.root or os.getcwd()
    reader = EditSet(
        root,
        _open_document(ls),
        exclude=lambda: ls.settings.index.exclude,
        syntax=ls.context_engine.syntax,
        max_file_bytes=ls.settings.index.max_file_kb * 1024,
    )
    shown = frames[-MAX_FRAMES:]
    told = f"A program failed with this trace:\n```\n{trace.strip()}\n```"
    parts: list[Part] = [Ends(told, cap=MAX_TRACE_CHARS, floor=TRACE_FLOOR_CHARS, rank=2)]
    for depth, frame in enumerate(reversed(shown)):
        try:
            text = reader.state(frame.rel).text
        except EditError:
            continue  # unreadable or excluded: the trace itself still goes to the model
        found = await reader.syntax.definitions_off_loop(frame.rel, text) if frame.line else []
        parts.insert(1, _frame_part(frame, text, found, rank=1 if depth == 0 else 2 + depth))
    parts.append(Fixed(f"Task: {ACTIONS['debug'].task}"))
    return parts


def _frame_part(frame: Located, text: str, definitions: list[Definition], rank: int) -> Part:
    """The code of one frame: the definition around its line (as much as fits), or the
    start of the open file when the trace names no line of the workspace."""
    lines = lf_breaks(text).split("\n")
    if frame.line == 0:
        return Around(
            (1, 1),
            (1, min(len(lines), FALLBACK_LINES)),
            lambda lo, hi: (
                f"File {frame.rel}, open in the editor (the trace names no line of the workspace), "
                f"lines {lo}-{hi}:\n```\n{_numbered_lines(lines, lo, hi)}\n```"
            ),
            rank=rank,
            optional=True,
        )
    line = min(frame.line, len(lines))
    around = [d for d in definitions if d.start_line <= line <= d.end_line]
    if around:
        inner = min(around, key=lambda d: d.end_line - d.start_line)
        lo, hi = inner.start_line, min(inner.end_line, inner.start_line + 80)
    else:
        lo, hi = max(1, line - 12), min(len(lines), line + 12)
    return Around(
        (line, line),
        (min(lo, line), max(hi, line)),
        lambda first, last: (
            f"Frame {frame.rel}:{frame.line} ({frame.function or 'top level'}), "
            f"lines {first}-{last}:\n```\n{_numbered_lines(lines, first, last)}\n```"
        ),
        rank=rank,
        optional=True,
    )


# Frames of a trace whose code is shown (the innermost ones).
MAX_FRAMES = 6
# Most characters of a pasted trace shown (its middle goes), and the least kept of its end.
MAX_TRACE_CHARS = 6000
TRACE_FLOOR_CHARS = 800
# How much of the open file a debug prompt shows when the trace names none of its lines.
FALLBACK_LINES = 200


def _first_argument(args: tuple[Any, ...]) -> dict[str, Any]:
    # pygls passes the command's arguments list; editors send one object.
    flat = args[0] if len(args) == 1 and isinstance(args[0], list) else list(args)
    first = flat[0] if flat else {}
    if hasattr(first, "__dict__") and not isinstance(first, dict):
        first = vars(first)
    return first if isinstance(first, dict) else {}


def _can_resolve_edits(ls: HermesLanguageServer) -> bool:
    text_document = ls.client_capabilities.text_document
    code_action = text_document.code_action if text_document else None
    support = code_action.resolve_support if code_action else None
    return bool(support and "edit" in support.properties)


async def _apply(ls: HermesLanguageServer, spec: ActionSpec, outcome: Outcome) -> str | None:
    """Have the editor apply the edit (``workspace/applyEdit``), then report how it went."""
    if outcome.edit is None:
        _report(ls, outcome, spec)
        return outcome.answer or None
    workspace = ls.client_capabilities.workspace
    if not (workspace and workspace.apply_edit):
        ls.answer_user(
            "This editor does not accept edits from the server (workspace/applyEdit); "
            "use the code action's preview instead",
            types.MessageType.Warning,
        )
        return outcome.answer or None
    try:
        result = await ls.workspace_apply_edit_async(
            types.ApplyWorkspaceEditParams(edit=outcome.edit, label="Hermes")
        )
    except Exception as exc:  # the editor answered with an error: say so, keep the answer
        log.warning("workspace/applyEdit failed: %s", exc)
        ls.answer_user(f"The editor could not apply Hermes' edit: {exc}", types.MessageType.Warning)
        return outcome.answer or None
    if not result.applied:
        ls.answer_user(
            f"The editor did not apply Hermes' edit: {result.failure_reason or 'no reason given'}",
            types.MessageType.Warning,
        )
        return outcome.answer or None
    _report(ls, outcome, spec)
    return outcome.answer or None

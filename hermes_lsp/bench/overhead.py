"""``hermes-lsp bench overhead``: what the language server itself costs per keystroke.

It starts ``hermes-lsp --stdio`` as an editor would, points it at a zero-latency scripted
model server on loopback, and replays typing into a real source file:

1. overhead: one inline-completion request per keystroke, debounce off; the time from the
   client sending the request to the model server receiving the HTTP request;
2. bursts: realistic typing (30-150 ms between keys, pauses between words) with the
   default debounce, the editor firing a request on every keystroke without waiting;
   counts model requests per pause;
3. supersede: a slow model; a newer keystroke arrives while a stream is open; the time
   until the old upstream connection is closed;
4. type-ahead: typing the characters of a suggestion that is on screen; counts model calls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Union

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from hermes_lsp.scripted_server import Reply, ScriptedServer

# The text typed during the benchmark: ordinary Python, a few statements long.
SNIPPET = (
    "result = compute_totals(records, key=lambda r: r.amount)\n"
    "    if not result:\n"
    "        raise ValueError('no records to total')\n"
    "    return sorted(result.items(), key=lambda kv: kv[1], reverse=True)\n"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keystrokes", type=int, default=300, help="keystrokes in the overhead phase")
    parser.add_argument("--bursts", type=int, default=40, help="typing bursts (words) in the burst phase")
    parser.add_argument("--file", help="source file to type into (default: a copy of the stdlib's typing.py)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--seed", type=int, default=7)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary(values_ms: list[float]) -> dict[str, float]:
    return {
        "n": len(values_ms),
        "p50_ms": round(statistics.median(values_ms), 3) if values_ms else float("nan"),
        "p99_ms": round(percentile(values_ms, 99), 3),
        "max_ms": round(max(values_ms), 3) if values_ms else float("nan"),
    }


def read_code_actions_correctly(client: LanguageClient) -> None:
    """Teach a pygls client to tell a CodeAction that carries a command from a Command.

    lsprotocol's converter takes any object with a ``command`` key for a ``Command``;
    editors look at the key's type (a string for a Command, an object in a CodeAction).
    """
    converter = client.protocol._converter

    def structure(obj: Any, _: type) -> types.Command | types.CodeAction:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, types.Command)
        return converter.structure(obj, types.CodeAction)

    converter.register_structure_hook(types.Command | types.CodeAction, structure)
    converter.register_structure_hook(Union[types.Command, types.CodeAction], structure)  # noqa: UP007


class Session:
    """An LSP client session against ``hermes-lsp --stdio`` in a workspace."""

    def __init__(self, root: Path, file: Path, model: ScriptedServer) -> None:
        self.root = root
        self.file = file
        self.uri = file.as_uri()
        self.model = model
        self.text = file.read_text(encoding="utf-8")
        self.version = 1
        self.client = LanguageClient("hermes-bench", "1")
        read_code_actions_correctly(self.client)
        self.status: list[dict[str, Any]] = []
        self.messages: list[str] = []

        @self.client.feature("hermes/status")
        def on_status(params: Any) -> None:
            self.status.append({"state": params.state, "message": params.message})

        @self.client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def on_progress_create(params: types.WorkDoneProgressCreateParams) -> None:
            return None

        @self.client.feature(types.PROGRESS)
        def on_progress(params: Any) -> None:
            return None

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def on_message(params: Any) -> None:
            self.messages.append(params.message)

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def on_log(params: Any) -> None:
            return None  # the server's log, as an editor would show it: not measured here

        @self.client.feature(types.WORKSPACE_CONFIGURATION)
        def on_configuration(params: types.ConfigurationParams) -> list[Any]:
            return [None for _ in params.items]

    async def start(self, settings: dict[str, Any]) -> None:
        await self.client.start_io(sys.executable, "-m", "hermes_lsp", "--stdio")
        capabilities = types.ClientCapabilities(
            window=types.WindowClientCapabilities(work_done_progress=True),
            workspace=types.WorkspaceClientCapabilities(
                configuration=True,
                workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True),
            ),
            text_document=types.TextDocumentClientCapabilities(
                inline_completion=types.InlineCompletionClientCapabilities(),
                code_action=types.CodeActionClientCapabilities(
                    resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"])
                ),
            ),
        )
        await self.client.initialize_async(
            types.InitializeParams(
                capabilities=capabilities, root_uri=self.root.as_uri(), initialization_options=settings
            )
        )
        self.client.initialized(types.InitializedParams())
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=self.uri, language_id="python", version=1, text=self.text
                )
            )
        )
        # Wait for the index to be warm: the budget is for a warm index.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            if self.status and self.status[-1]["state"] != "indexing":
                break

    def server_cpu_seconds(self) -> float | None:
        """CPU time the server process has used (Linux ``/proc``): unlike wall time, it does
        not grow when other programs compete for the cores."""
        process = self.client._server
        try:
            with open(f"/proc/{process.pid}/stat", encoding="ascii") as stat:  # type: ignore[union-attr]
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, AttributeError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def reopen(self) -> None:
        """Close and reopen the document: a new phase starts without per-document state."""
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=self.uri))
        )
        self.version += 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=self.uri, language_id="python", version=self.version, text=self.text
                )
            )
        )

    def configure(self, settings: dict[str, Any]) -> None:
        self.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"hermes": settings})
        )

    def type_char(self, line: int, character: int, char: str) -> None:
        """Insert ``char`` (or any text) at a position, as a keystroke would."""
        self.version += 1
        self.text = _insert(self.text, line, character, char)
        here = types.Position(line, character)
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
                content_changes=[
                    types.TextDocumentContentChangePartial(range=types.Range(here, here), text=char)
                ],
            )
        )

    def request(self, line: int, character: int) -> asyncio.Future[Any]:
        params = types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=self.uri),
            position=types.Position(line, character),
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
        )
        return asyncio.ensure_future(self.client.text_document_inline_completion_async(params))

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), 5)
            self.client.exit(None)
            await asyncio.wait_for(self.client.stop(), 5)
        except TimeoutError:
            print("hermes-lsp bench: the server did not shut down in 5 s", file=sys.stderr)


class Typist:
    """Types ``SNIPPET`` into a document at a fixed place, tracking the cursor."""

    def __init__(self, session: Session, line: int) -> None:
        # Open a new indented line after ``line`` and type there.
        self.session = session
        end = len(session.text.split("\n")[line])
        session.type_char(line, end, "\n    ")
        self.line = line + 1
        self.character = 4
        self.index = 0

    def next_key(self) -> tuple[int, int]:
        """Type one character; returns the cursor after it."""
        char = SNIPPET[self.index % len(SNIPPET)]
        self.index += 1
        self.session.type_char(self.line, self.character, char)
        if char == "\n":
            self.line += 1
            self.character = 0
        else:
            self.character += 1
        return self.line, self.character


def _insert(text: str, line: int, character: int, char: str) -> str:
    start = 0
    for _ in range(line):
        start = text.index("\n", start) + 1
    return text[: start + character] + char + text[start + character :]


def _insert_point(text: str) -> int:
    """A line in the middle of the file, where the typing happens."""
    return text.count("\n") // 2


async def phase_overhead(session: Session, keystrokes: int) -> dict[str, Any]:
    session.configure({"completion": {"debounceMs": 0}})
    session.reopen()
    await asyncio.sleep(0.3)
    typist = Typist(session, _insert_point(session.text))
    session.model.script(default=Reply(text="§"))  # never typed, so no type-ahead hits
    session.model.reset_log()
    overheads = []
    cpu_before = session.server_cpu_seconds()
    for _ in range(keystrokes):
        line, character = typist.next_key()
        before = len(session.model.model_requests())
        sent = time.monotonic()
        await session.request(line, character)
        requests = session.model.model_requests()
        if len(requests) > before:
            overheads.append((requests[-1].received_at - sent) * 1000)
    cpu_after = session.server_cpu_seconds()
    cpu_ms = None
    if cpu_before is not None and cpu_after is not None:
        cpu_ms = round((cpu_after - cpu_before) * 1000 / keystrokes, 3)
    return {
        "overhead": summary(overheads),
        "keystrokes": keystrokes,
        "model_requests": len(overheads),
        "server_cpu_ms_per_keystroke": cpu_ms,
    }


async def phase_bursts(session: Session, bursts: int, rng: random.Random) -> dict[str, Any]:
    session.configure({"completion": {"debounceMs": 75}})
    session.reopen()
    await asyncio.sleep(0.3)
    typist = Typist(session, _insert_point(session.text) + 5)
    session.model.script(default=Reply(text="§"))
    session.model.reset_log()
    keystrokes = 0
    pending: list[asyncio.Future[Any]] = []
    for _ in range(bursts):
        for _ in range(rng.randint(3, 9)):  # one word
            line, character = typist.next_key()
            pending.append(session.request(line, character))
            keystrokes += 1
            await asyncio.sleep(rng.uniform(0.03, 0.15) if rng.random() < 0.5 else rng.uniform(0.03, 0.07))
        await asyncio.sleep(0.6)  # the user pauses and reads the suggestion
    await asyncio.gather(*pending, return_exceptions=True)
    calls = len(session.model.model_requests())
    return {
        "keystrokes": keystrokes,
        "pauses": bursts,
        "model_requests": calls,
        "requests_per_pause": calls / bursts,
    }


async def phase_supersede(session: Session, rounds: int) -> dict[str, Any]:
    session.configure({"completion": {"debounceMs": 0}})
    session.reopen()
    await asyncio.sleep(0.3)
    typist = Typist(session, _insert_point(session.text) + 10)
    session.model.script(default=Reply(text="§", first_delay=5.0))
    closes = []
    pending = []
    for _ in range(rounds):
        session.model.reset_log()
        line, character = typist.next_key()
        first = session.request(line, character)
        while not session.model.model_requests():
            await asyncio.sleep(0.001)
        old = session.model.model_requests()[0]
        line, character = typist.next_key()
        sent = time.monotonic()
        second = session.request(line, character)
        while old.disconnected_at is None and time.monotonic() - sent < 3:
            await asyncio.sleep(0.001)
        if old.disconnected_at is not None:
            closes.append((old.disconnected_at - sent) * 1000)
        await first
        pending.append(second)
        await asyncio.sleep(0.05)
    session.model.script(default=Reply(text="§"))
    session.reopen()  # supersedes the last slow request
    await asyncio.gather(*pending, return_exceptions=True)
    return {"stream_closed_after": summary(closes), "rounds": rounds}


async def phase_typeahead(session: Session) -> dict[str, Any]:
    session.configure({"completion": {"debounceMs": 0}})
    session.reopen()
    await asyncio.sleep(0.3)
    suggestion = "normalise_amounts(records)"
    session.model.script(default=Reply(text=suggestion))
    session.model.reset_log()
    line = _insert_point(session.text) + 20
    session.type_char(line, 0, "    values = \n")
    first = await session.request(line, 13)
    shown = first.items[0].insert_text if first and first.items else ""
    served = 0
    for index, char in enumerate(suggestion[:-1]):
        session.type_char(line, 13 + index, char)
        result = await session.request(line, 14 + index)
        if result and result.items and result.items[0].insert_text == suggestion[index + 1 :]:
            served += 1
    return {
        "suggestion_shown": shown == suggestion,
        "keystrokes": len(suggestion) - 1,
        "served_from_type_ahead": served,
        "model_requests": len(session.model.model_requests()),
    }


async def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="hermes-bench-"))
    try:
        source = Path(args.file) if args.file else Path(os.__file__).with_name("typing.py")
        target = workdir / source.name
        shutil.copy(source, target)
        with ScriptedServer() as model:
            session = Session(workdir, target, model)
            await session.start({"endpoint": model.url})
            try:
                figures = {
                    "file": f"{source.name} ({len(session.text.splitlines())} lines)",
                    "overhead": await phase_overhead(session, args.keystrokes),
                    "bursts": await phase_bursts(session, args.bursts, rng),
                    "supersede": await phase_supersede(session, 30),
                    "type_ahead": await phase_typeahead(session),
                }
            finally:
                await session.stop()
        return figures
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace) -> int:
    figures = asyncio.run(run_bench(args))
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    o, b, s, t = figures["overhead"], figures["bursts"], figures["supersede"], figures["type_ahead"]
    print(f"hermes-lsp bench overhead — typing into {figures['file']}, zero-latency model on loopback")
    print(
        f"  LSP overhead, request in -> HTTP request out ({o['keystrokes']} keystrokes, debounce off): "
        f"p50 {o['overhead']['p50_ms']:.2f} ms, p99 {o['overhead']['p99_ms']:.2f} ms, "
        f"max {o['overhead']['max_ms']:.2f} ms   [budget p99 <= 5 ms]"
    )
    if o["server_cpu_ms_per_keystroke"] is not None:
        print(
            f"  server CPU per keystroke (didChange + inlineCompletion, whatever the machine's load): "
            f"{o['server_cpu_ms_per_keystroke']:.2f} ms"
        )
    print(
        f"  typing bursts ({b['keystrokes']} keystrokes, {b['pauses']} pauses, debounce 75 ms): "
        f"{b['model_requests']} model requests = {b['requests_per_pause']:.2f} per pause   "
        "[budget 1 per pause]"
    )
    sc = s["stream_closed_after"]
    print(
        f"  superseded request, newer keystroke -> old upstream stream closed ({s['rounds']} rounds): "
        f"p50 {sc['p50_ms']:.2f} ms, p99 {sc['p99_ms']:.2f} ms   [budget <= 50 ms]"
    )
    print(
        f"  type-ahead: typed {t['keystrokes']} characters of a shown suggestion: "
        f"{t['served_from_type_ahead']} served from it, {t['model_requests']} model request(s) in all "
        "(the first one showed it)   [budget: none beyond the first]"
    )
    return 0

"""``hermes-lsp bench soak``: memory and event-loop stalls over a long session.

It starts ``hermes-lsp --stdio`` as an editor would, with its event-loop watch on
(``HERMES_LSP_WATCH_LOOP=1``: a timer inside the server notes how late it fires), points
it at a zero-latency scripted model server on loopback, and sends N completion requests
round-robin over several open documents, each after an edit that rewrites one line (so
every prompt is new and the documents keep their size). It prints the server's resident
memory once warm and at the end, and the longest stall of its event loop.

Then, each on its own, the scenarios that stress one large thing:

- ``big-document``: a 5 MB document is opened and typed into (50 keystrokes) while
  another document asks for a completion;
- ``big-answer``: the model answers a completion with 5 MB of text;
- ``big-tool-result``: a code action whose model calls ``list_symbols`` and ``read_file``
  on a 50 MB workspace file.

For each, the longest stall, the time it took, what was shown or sent, and memory after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from lsprotocol import types

from hermes_lsp.bench.context import rss_mb
from hermes_lsp.bench.overhead import Session
from hermes_lsp.loopwatch import STATS_REQUEST, WATCH_ENV
from hermes_lsp.scripted_server import Reply, ScriptedServer

SCENARIOS = ("big-document", "big-answer", "big-tool-result")

# One module of ordinary Python, repeated with different names to make each document.
MODULE = '''"""Orders and their totals."""

from dataclasses import dataclass


@dataclass
class Order{n}:
    amount: float
    quantity: int

    def total(self) -> float:
        return self.amount * self.quantity


def summarise_{n}(orders: list[Order{n}]) -> dict[str, float]:
    totals = [order.total() for order in orders]
    return {{"count": len(totals), "sum": sum(totals)}}


def busiest_{n}(orders: list[Order{n}]) -> Order{n} | None:
    return max(orders, key=lambda order: order.quantity, default=None)
'''
EDIT_LINE = 15
"""The line rewritten before each request (inside ``summarise_N``)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--requests", type=int, default=20000, help="completion requests in the soak")
    parser.add_argument("--documents", type=int, default=5, help="open documents the requests go round")
    parser.add_argument("--warmup", type=int, default=500, help="requests before the warm memory reading")
    parser.add_argument(
        "--idle-s",
        type=float,
        default=10.0,
        help="seconds the server idles first: the stall floor of this machine",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, from {', '.join(SCENARIOS)}; 'none' for the soak alone",
    )
    parser.add_argument("--big-mb", type=float, default=5.0, help="size of the big document")
    parser.add_argument("--answer-mb", type=float, default=5.0, help="size of the big completion answer")
    parser.add_argument("--tool-file-mb", type=float, default=50.0, help="size of the file the tools read")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--seed", type=int, default=9)


class Soak:
    """A session with several open documents and a way to read the server's loop stalls."""

    def __init__(self, root: Path, model: ScriptedServer, documents: int) -> None:
        self.root = root
        self.model = model
        self.paths = [root / f"orders_{n}.py" for n in range(documents)]
        for n, path in enumerate(self.paths):
            path.write_text(MODULE.format(n=n))
        self.session = Session(root, self.paths[0], model)
        self.versions: dict[str, int] = {}

    @property
    def client(self) -> Any:
        return self.session.client

    async def start(self) -> None:
        settings = {
            "endpoint": self.model.url,
            "completion": {"debounceMs": 0, "adaptiveDebounce": False},
            "actions": {"reasoning": False, "maxSteps": 4},
        }
        await self.session.start(settings)
        self.versions[self.session.uri] = 1
        for path in self.paths[1:]:
            self.open(path.as_uri(), path.read_text())

    def open(self, uri: str, text: str) -> None:
        self.versions[uri] = 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
            )
        )

    def close(self, uri: str) -> None:
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )

    def edit(self, uri: str, start: tuple[int, int], end: tuple[int, int], text: str) -> None:
        self.versions[uri] += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(types.Position(*start), types.Position(*end)), text=text
                    )
                ],
            )
        )

    async def complete(self, uri: str, line: int, character: int) -> str:
        result = await self.client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line, character),
                context=types.InlineCompletionContext(
                    trigger_kind=types.InlineCompletionTriggerKind.Automatic
                ),
            )
        )
        return result.items[0].insert_text if result and result.items else ""

    async def stall_ms(self) -> float:
        """The server's longest event-loop stall since the previous reading."""
        stats = await self.client.protocol.send_request_async(STATS_REQUEST, None)
        # The client hands back an unknown method's result as a named tuple, its fields
        # camelCased by the server's converter.
        return float(stats.longestStallMs)

    def rss(self) -> float:
        server = self.client._server
        return rss_mb(server.pid) if server is not None else float("nan")


async def soak(bench: Soak, requests: int, on_progress: Callable[[int], None]) -> dict[str, Any]:
    """``requests`` completions round-robin over the documents, each after a one-line rewrite."""
    uris = [path.as_uri() for path in bench.paths]
    empty = 0
    started = time.perf_counter()
    for index in range(requests):
        uri = uris[index % len(uris)]
        line = f"    totals = [order.total() * {index} for order in orders]"
        bench.edit(uri, (EDIT_LINE, 0), (EDIT_LINE + 1, 0), line + "\n")
        if not await bench.complete(uri, EDIT_LINE, len(line)):
            empty += 1
        on_progress(index + 1)
    elapsed = time.perf_counter() - started
    return {"requests": requests, "empty_answers": empty, "requests_per_s": round(requests / elapsed, 1)}


async def measured(bench: Soak, run: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """Run one scenario; add the longest loop stall during it, its time and memory after."""
    await bench.stall_ms()  # start afresh
    started = time.perf_counter()
    figures = await run()
    figures["seconds"] = round(time.perf_counter() - started, 2)
    figures["longest_stall_ms"] = await bench.stall_ms()
    figures["rss_mb_after"] = round(bench.rss(), 1)
    return figures


async def big_document(bench: Soak, megabytes: float) -> dict[str, Any]:
    line = "value_{n} = compute(value_{m}, 'a line of text that makes the document large')\n"
    count = int(megabytes * 1_000_000 / len(line.format(n=50_000, m=49_999)))
    text = "".join(line.format(n=n, m=n - 1) for n in range(count))
    uri = (bench.root / "big_document.py").as_uri()
    bench.open(uri, text)
    small = bench.paths[1].as_uri()
    rng = random.Random(1)
    for _ in range(50):
        at = rng.randrange(count)
        bench.edit(uri, (at, 0), (at, 0), "z")
    answer = await bench.complete(small, EDIT_LINE, 4)
    shown = await bench.complete(uri, count // 2, 0)
    bench.close(uri)
    return {
        "document_mb": round(len(text) / 1e6, 1),
        "keystrokes": 50,
        "other_document_answered": bool(answer),
        "big_document_answered": bool(shown),
    }


async def big_answer(bench: Soak, megabytes: float) -> dict[str, Any]:
    size = int(megabytes * 1_000_000)
    bench.model.script(Reply(text="x" * size, chunk_size=16_384, times=1))
    uri = bench.paths[2].as_uri()
    shown = await bench.complete(uri, EDIT_LINE, 4)
    bench.model.script()
    return {"answer_mb": round(size / 1e6, 1), "shown_chars": len(shown)}


async def big_tool_result(bench: Soak, megabytes: float) -> dict[str, Any]:
    unit = "def function_{n}(value):\n    return value + {n}\n\n\n"
    count = int(megabytes * 1_000_000 / len(unit.format(n=100_000)))
    huge = bench.root / "generated_tables.py"
    with huge.open("w") as fh:
        for n in range(count):
            fh.write(unit.format(n=n))
    calls = [
        {"name": "list_symbols", "arguments": {"path": huge.name}},
        {"name": "read_file", "arguments": {"path": huge.name, "start_line": 1, "end_line": 10**9}},
    ]
    turn = "".join(f"<tool_call>\n{json.dumps(call)}\n</tool_call>" for call in calls)
    bench.model.script(Reply(text=turn, times=1), Reply(text="Explained.", times=1))
    bench.model.reset_log()
    answer = await bench.client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="hermes.explain", arguments=[{"uri": bench.paths[3].as_uri(), "start": 1, "end": 5}]
        )
    )
    requests = bench.model.model_requests()
    sent = sum(len(json.dumps(r.body)) for r in requests[1:])
    bench.model.script()
    size = huge.stat().st_size
    huge.unlink()
    return {"file_mb": round(size / 1e6, 1), "answered": answer, "chars_sent_after_tools": sent}


async def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    scenarios = [] if args.scenarios == "none" else [s.strip() for s in args.scenarios.split(",") if s]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"hermes-lsp bench soak: unknown scenario(s): {', '.join(sorted(unknown))}")
    os.environ[WATCH_ENV] = "1"  # the server inherits it
    workdir = Path(tempfile.mkdtemp(prefix="hermes-soak-"))
    figures: dict[str, Any] = {}
    try:
        with ScriptedServer() as model:
            model.script(default=Reply(text="sum(totals)"))
            bench = Soak(workdir, model, args.documents)
            await bench.start()
            try:

                def progress(done: int) -> None:
                    if done % 100 == 0:
                        model.reset_log()  # the scripted server's own log is not the server's memory
                    if not args.json and done % 5000 == 0:
                        print(f"  {done} requests, server RSS {bench.rss():.1f} MB", file=sys.stderr)

                await soak(bench, args.warmup, progress)
                warm = bench.rss()
                await bench.stall_ms()
                # What the loop suffers from the machine alone (other processes, the OS).
                await asyncio.sleep(args.idle_s)
                floor = await bench.stall_ms()
                figures["soak"] = await soak(bench, args.requests, progress)
                figures["soak"]["longest_stall_ms"] = await bench.stall_ms()
                figures["soak"]["idle_floor_stall_ms"] = floor
                figures["soak"]["rss_mb"] = {"warm": round(warm, 1), "end": round(bench.rss(), 1)}
                figures["soak"]["documents"] = args.documents
                runs = {
                    "big-document": lambda: big_document(bench, args.big_mb),
                    "big-answer": lambda: big_answer(bench, args.answer_mb),
                    "big-tool-result": lambda: big_tool_result(bench, args.tool_file_mb),
                }
                for name in scenarios:
                    figures[name] = await measured(bench, runs[name])
            finally:
                await bench.session.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return figures


def run(args: argparse.Namespace) -> int:
    figures = asyncio.run(run_bench(args))
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    s = figures["soak"]
    rss = s["rss_mb"]
    growth = (rss["end"] - rss["warm"]) / rss["warm"] * 100
    print(
        f"hermes-lsp bench soak — {s['requests']} completions over {s['documents']} documents, "
        "zero-latency model on loopback"
    )
    print(
        f"  server RSS: {rss['warm']:.1f} MB warm, {rss['end']:.1f} MB at the end ({growth:+.1f}%)   "
        "[budget: within 10%]"
    )
    print(
        f"  longest event-loop stall: {s['longest_stall_ms']:.1f} ms "
        f"(idle floor {s['idle_floor_stall_ms']:.1f} ms)   [budget <= 100 ms]; "
        f"{s['requests_per_s']:.0f} requests/s, {s['empty_answers']} empty answers"
    )
    for name in SCENARIOS:
        if name not in figures:
            continue
        f = figures[name]
        details = ", ".join(
            f"{k} {v}" for k, v in f.items() if k not in ("longest_stall_ms", "seconds", "rss_mb_after")
        )
        print(
            f"  {name}: longest stall {f['longest_stall_ms']:.1f} ms, {f['seconds']:.1f} s, "
            f"RSS after {f['rss_mb_after']:.1f} MB ({details})"
        )
    return 0

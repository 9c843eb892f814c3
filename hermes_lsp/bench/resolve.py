"""``hermes-lsp bench resolve``: the language server's own cost of a code action.

Against a zero-latency scripted model that answers in two turns (an edit tool call, then
a plain answer), it lists the actions and resolves the same refactor many times. It
reports the time to list the actions and, per resolve, the time spent outside the model
(prompt and context assembly, tool execution, edit verification by re-parsing,
JSON-RPC), the bytes sent to the model, and the size of the edit sent to the editor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from lsprotocol import types

from hermes_lsp.bench.overhead import Session, summary
from hermes_lsp.context.syntax import Syntax
from hermes_lsp.scripted_server import Reply, ScriptedServer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--resolves", type=int, default=50, help="how many resolves to time")
    parser.add_argument(
        "--file", help="source file to refactor (default: a copy of the stdlib's textwrap.py)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def _tool_call(rel: str, symbol: str, code: str) -> str:
    arguments = {"path": rel, "symbol": symbol, "code": code}
    return f"<tool_call>\n{json.dumps({'name': 'replace_symbol', 'arguments': arguments})}\n</tool_call>"


async def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="hermes-bench-resolve-"))
    try:
        source = Path(args.file) if args.file else Path(os.__file__).with_name("textwrap.py")
        target = workdir / source.name
        shutil.copy(source, target)
        text = target.read_text(encoding="utf-8")
        functions = [
            d
            for d in Syntax().definitions(target.name, text)
            if d.kind == "function" and "." not in d.qualname
        ]
        chosen = max(functions, key=lambda d: d.end_line - d.start_line)
        lines = text.split("\n")
        body = "\n".join(lines[chosen.start_line - 1 : chosen.end_line])
        new_code = body.replace("\n", "\n    # reviewed\n", 1)  # a small, valid change
        with ScriptedServer() as model:
            session = Session(workdir, target, model)
            await session.start({"endpoint": model.url, "actions": {"reasoning": False}})
            try:
                figures = await _measure(session, model, chosen, new_code, args.resolves)
            finally:
                await session.stop()
        figures["file"] = (
            f"{source.name}, refactoring {chosen.qualname} ({chosen.end_line - chosen.start_line + 1} lines)"
        )
        return figures
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def _measure(
    session: Session, model: ScriptedServer, chosen: Any, new_code: str, count: int
) -> dict[str, Any]:
    overheads, totals, sent, edits, turns, listings = [], [], [], [], [], []
    position = types.Position(chosen.start_line - 1, 0)
    params = types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=session.uri),
        range=types.Range(position, position),
        context=types.CodeActionContext(diagnostics=[]),
    )
    for _ in range(count):
        listed = time.monotonic()
        offered = await session.client.text_document_code_action_async(params)
        listings.append((time.monotonic() - listed) * 1000)
        action = next(
            a for a in offered or [] if getattr(a, "kind", "") == "refactor.rewrite.hermes.simplify"
        )
        model.reset_log()
        model.script(
            Reply(text=_tool_call(session.file.name, chosen.qualname, new_code), times=1, chunk_size=64),
            Reply(text="Simplified.", times=1),
        )
        started = time.monotonic()
        resolved = await session.client.code_action_resolve_async(action)
        elapsed = time.monotonic() - started
        if resolved.edit is None:
            raise RuntimeError(f"the resolve produced no edit: {session.messages[-1:]}")
        requests = model.model_requests()
        in_model = sum((r.finished_at or r.received_at) - r.received_at for r in requests)
        overheads.append((elapsed - in_model) * 1000)
        totals.append(elapsed * 1000)
        sent.append(sum(int(r.headers.get("content-length", 0)) for r in requests))
        edit_json = session.client.protocol._converter.unstructure(resolved.edit)
        edits.append(len(json.dumps(edit_json)))
        turns.append(len(requests))
    return {
        "resolves": count,
        # The first resolve pays for cold code paths (imports, query compilation) once per
        # server start; it is reported apart and the percentiles describe the rest.
        "first_resolve_overhead_ms": round(overheads[0], 3),
        "lsp_overhead": summary(overheads[1:] or overheads),
        "resolve_total": summary(totals),
        "listing": summary(listings[1:] or listings),
        "model_turns": sorted(turns)[len(turns) // 2],
        "bytes_to_model_p50": sorted(sent)[len(sent) // 2],
        "edit_bytes_p50": sorted(edits)[len(edits) // 2],
    }


def run(args: argparse.Namespace) -> int:
    figures = asyncio.run(run_bench(args))
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    o, t = figures["lsp_overhead"], figures["resolve_total"]
    print(f"hermes-lsp bench resolve — {figures['file']}, zero-latency model on loopback")
    print(
        f"  LSP side of a resolve ({figures['resolves']} resolves, "
        f"{figures['model_turns']} model turns each): "
        f"p50 {o['p50_ms']:.1f} ms, p99 {o['p99_ms']:.1f} ms (whole resolve p50 {t['p50_ms']:.1f} ms); "
        f"first resolve after start {figures['first_resolve_overhead_ms']:.1f} ms"
    )
    listing = figures["listing"]
    print(
        f"  listing the actions (textDocument/codeAction, no model): "
        f"p50 {listing['p50_ms']:.1f} ms, p99 {listing['p99_ms']:.1f} ms"
    )
    print(
        f"  bytes sent to the model per resolve: {figures['bytes_to_model_p50']:,}; "
        f"edit sent to the editor: {figures['edit_bytes_p50']:,} bytes"
    )
    return 0

"""``hermes-lsp context PATH:LINE:COL``: the repository context the model would be shown.

It refreshes the index of ``--root`` (fast when the cache is warm), then assembles the
pieces for a cursor at LINE:COL (1-based; COL counts characters) of PATH, or of the
unsaved buffer read from standard input with ``--stdin``. ``--json`` prints
``{"pieces": [{"kind", "path", "start_line", "end_line", "text", "tokens"}], "tokens", "elapsed_ms"}``
with paths relative to the root; other tools read that shape.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from hermes_lsp.commands import read_buffer
from hermes_lsp.commands.complete import parse_location
from hermes_lsp.commands.index import default_workers
from hermes_lsp.config import IndexSettings
from hermes_lsp.context.engine import WorkspaceContext
from hermes_lsp.context.types import Piece
from hermes_lsp.text import offset_at


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "location", type=parse_location, metavar="PATH:LINE:COL", help="1-based line and column"
    )
    parser.add_argument("--root", default=".", help="workspace folder (default: .)")
    parser.add_argument("--budget", type=int, default=2048, help="tokens of context (default: 2048)")
    parser.add_argument("--purpose", choices=["completion", "refactor", "debug"], default="completion")
    parser.add_argument("--stdin", action="store_true", help="read the (unsaved) buffer of PATH from stdin")
    parser.add_argument("--json", action="store_true", help="print the pieces as JSON")
    parser.add_argument("--workers", type=int, help="worker processes for a cold index")
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="PATTERN", help="extra gitignore-style pattern"
    )


def as_json(pieces: list[Piece], elapsed_ms: float) -> dict[str, object]:
    return {
        "pieces": [
            {
                "kind": p.kind,
                "path": p.path,
                "start_line": p.start_line,
                "end_line": p.end_line,
                "text": p.text,
                "tokens": p.tokens,
            }
            for p in pieces
        ],
        "tokens": sum(p.tokens for p in pieces),
        "elapsed_ms": round(elapsed_ms, 3),
    }


def run(args: argparse.Namespace) -> int:
    path, line, col = args.location
    if not os.path.isdir(args.root):
        print(f"hermes-lsp: --root {args.root} is not a folder", file=sys.stderr)
        return 2
    if args.budget < 0:
        print("hermes-lsp: --budget must not be negative", file=sys.stderr)
        return 2
    text = read_buffer(path, args.stdin)
    if text is None:
        return 2
    problems: list[str] = []
    engine = WorkspaceContext(
        IndexSettings(exclude=list(args.exclude)),
        workers=default_workers(args.workers),
        lookups_while_building=False,
        on_problem=problems.append,
    )
    try:
        engine.start_sync(args.root)
        for problem in problems:
            print(f"hermes-lsp: {problem}", file=sys.stderr)
        located = offset_at(text, line - 1, col - 1, "utf-32")
        if located.clamped:
            print(
                f"hermes-lsp: {line}:{col} is past the end of {path}; using the nearest position",
                file=sys.stderr,
            )
        uri = os.path.abspath(path)
        engine.open_document(uri, text, "", 1)
        started = time.perf_counter()
        pieces = engine.context(uri, text, located.offset, args.budget, args.purpose)
        elapsed = (time.perf_counter() - started) * 1000
    finally:
        engine.close()
    if args.json:
        print(json.dumps(as_json(pieces, elapsed)))
        return 0
    for piece in pieces:
        print(f"── {piece.kind} {piece.path}:{piece.start_line}-{piece.end_line} ({piece.tokens} tokens)")
        print(piece.text)
    print(f"── {sum(p.tokens for p in pieces)} tokens in {len(pieces)} pieces, {elapsed:.1f} ms")
    return 0

"""``hermes-lsp complete PATH:LINE:COL``: one inline completion, outside any editor.

It runs the same completion path as the server (prompt, context, model call,
post-processing), so it is the quickest way to see what the model would suggest.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import attrs

from hermes_lsp.commands import read_buffer
from hermes_lsp.config import Settings, merge_settings
from hermes_lsp.context.types import ContextEngine, NullContext
from hermes_lsp.features.completion import CompletionService, Cursor
from hermes_lsp.model.client import ModelClient, ModelConfig, ModelError
from hermes_lsp.text import offset_at


def parse_location(value: str) -> tuple[str, int, int]:
    """``PATH:LINE:COL`` (1-based) -> (path, line, col)."""
    path, line, col = [*value.rsplit(":", 2), "", ""][:3]
    if not path or not line.isdigit() or not col.isdigit() or int(line) < 1 or int(col) < 1:
        raise argparse.ArgumentTypeError(f"expected PATH:LINE:COL with 1-based numbers, got {value!r}")
    return path, int(line), int(col)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "location", type=parse_location, metavar="PATH:LINE:COL", help="1-based line and column"
    )
    parser.add_argument("--stdin", action="store_true", help="read the (unsaved) buffer of PATH from stdin")
    parser.add_argument("--root", help="workspace folder whose code is given as context (default: none)")
    parser.add_argument("--endpoint", help="model server URL (default: $HERMES_LSP_ENDPOINT)")
    parser.add_argument("--model", help="model id (default: $HERMES_LSP_MODEL or the first listed)")
    parser.add_argument("--multiline", choices=["auto", "always", "never"], default="auto")


def run(args: argparse.Namespace) -> int:
    path, line, col = args.location
    text = read_buffer(path, args.stdin)
    if text is None:
        return 2
    overrides = {k: v for k, v in (("endpoint", args.endpoint), ("model", args.model)) if v}
    settings, errors = merge_settings(overrides)
    for error in errors:
        print(f"hermes-lsp: {error}", file=sys.stderr)
    settings = attrs.evolve(
        settings, completion=attrs.evolve(settings.completion, debounce_ms=0, multiline=args.multiline)
    )
    located = offset_at(text, line - 1, col - 1, "utf-32")
    if located.clamped:
        print(
            f"hermes-lsp: {line}:{col} is past the end of {path}; using the nearest position", file=sys.stderr
        )
    context: ContextEngine = NullContext()
    shown_path = path
    if args.root:
        from hermes_lsp.context.engine import WorkspaceContext

        if not os.path.isdir(args.root):
            print(f"hermes-lsp: --root {args.root} is not a folder", file=sys.stderr)
            return 2
        engine = WorkspaceContext(
            settings.index, on_problem=lambda p: print(f"hermes-lsp: {p}", file=sys.stderr)
        )
        engine.start_sync(args.root)
        context = engine
        shown_path = os.path.relpath(os.path.abspath(path), os.path.abspath(args.root))
    try:
        return asyncio.run(_complete(settings, text, located.offset, shown_path, context))
    finally:
        if args.root:
            engine.close()


async def _complete(settings: Settings, text: str, offset: int, path: str, context: ContextEngine) -> int:
    client = ModelClient(ModelConfig.from_settings(settings, "completion"))
    failures: list[ModelError] = []
    service = CompletionService(
        model=lambda: client,
        settings=lambda: settings.completion,
        context=lambda: context,
        on_error=failures.append,
    )
    language = os.path.splitext(path)[1].lstrip(".") or "text"
    try:
        completion = await service.complete(
            Cursor(Path(path).absolute().as_uri(), text, offset, path, language)
        )
    finally:
        await client.aclose()
    if failures:
        print(f"hermes-lsp: {failures[0]}", file=sys.stderr)
        return 1
    if completion:
        sys.stdout.write(completion + "\n")
    else:
        print("hermes-lsp: the model had nothing to suggest here", file=sys.stderr)
    return 0

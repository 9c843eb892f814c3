"""``hermes-lsp bench``: the project's own performance figures.

Each benchmark is a module with ``add_arguments(parser)`` and ``run(args) -> int``; they
print medians and percentiles, never pass/fail verdicts.
"""

from __future__ import annotations

import argparse
import importlib

# name -> (module, one-line help)
BENCHES: dict[str, tuple[str, str]] = {
    "resolve": ("hermes_lsp.bench.resolve", "LSP side of a code-action resolve: overhead and bytes sent"),
    "overhead": (
        "hermes_lsp.bench.overhead",
        "LSP overhead of inline completion over a replayed typing session",
    ),
    "prompt": (
        "hermes_lsp.bench.prompt",
        "uncached prompt tokens per completion over replayed typing, layout by layout",
    ),
    "context": (
        "hermes_lsp.bench.context",
        "context engine: cold and warm index, context latency, re-parse, memory, definition recall",
    ),
    "tools": ("hermes_lsp.bench.tools", "read tools on large files: time, event-loop stall, result size"),
    "soak": (
        "hermes_lsp.bench.soak",
        "memory and event-loop stalls over many completions; one huge document, answer or tool result",
    ),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="bench", metavar="BENCH", required=True)
    for name, (module, help_text) in BENCHES.items():
        bench_parser = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(bench_parser)
        bench_parser.set_defaults(_bench_module=module)


def run(args: argparse.Namespace) -> int:
    return int(importlib.import_module(args._bench_module).run(args) or 0)

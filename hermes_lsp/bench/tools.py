"""``hermes-lsp bench tools``: what the model's tools cost the server on large files.

In a scratch workspace it writes a file far above ``index.maxFileKb`` (50 MB by default)
and one just under it (the largest a tool will parse or edit), then calls each read tool
through the same :class:`~hermes_lsp.features.read_tools.ReadTools` an action uses, and
each edit tool (with the syntax check an action ends with) through the same
:class:`~hermes_lsp.edits.EditSet`, on an event loop that also runs a 1 ms ticker. For
each call it prints the time the tool took, the longest gap between ticks while it ran
(the stall the rest of the server would feel) and the characters sent to the model; the
floor is the longest gap of the idle ticker over the same span, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

from hermes_lsp.config import IndexSettings, LimitSettings
from hermes_lsp.context.types import NullContext
from hermes_lsp.edits import EditSet
from hermes_lsp.features.read_tools import ReadTools
from hermes_lsp.model.tools import ToolCall

DEFINITION = "def f_{i}(x):\n    return x + {i}\n\n\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--huge-mb", type=int, default=50, help="size of the file above the limit")
    parser.add_argument("--runs", type=int, default=5, help="calls of each tool")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def _write(path: str, size: int) -> int:
    """A Python file of about ``size`` bytes; returns its line count."""
    lines = 0
    with open(path, "w") as fh:
        i = 0
        while fh.tell() < size:
            fh.write("".join(DEFINITION.format(i=j) for j in range(i, i + 100)))
            i += 100
            lines += 400
    return lines


Step = Callable[[], Awaitable[Any]]
"""One tool call to time; what it returns is what the model would be sent."""


async def _timed(step: Step | None, idle_s: float = 0.0) -> dict[str, float]:
    """One call (or an idle span when ``step`` is None): seconds, longest tick gap, chars."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.005)
    started = time.perf_counter()
    if step is not None:
        result: Any = await step()
    else:
        await asyncio.sleep(idle_s)
        result = ""
    took = time.perf_counter() - started
    done.set()
    await ticking
    return {"ms": took * 1000, "stall_ms": max(gaps, default=0.0) * 1000, "chars": len(json.dumps(result))}


async def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    limit = IndexSettings().max_file_kb * 1024
    workdir = tempfile.mkdtemp(prefix="hermes-bench-tools-")
    try:
        huge_lines = _write(os.path.join(workdir, "huge.py"), args.huge_mb * 1024 * 1024)
        _write(os.path.join(workdir, "capped.py"), limit - 4096)
        tools = ReadTools(
            NullContext(),
            EditSet(workdir, lambda uri: None, max_file_bytes=limit),
            LimitSettings().max_tool_result_chars,
        )
        calls = {
            "list_symbols huge.py (refused)": ToolCall("list_symbols", {"path": "huge.py"}),
            "read_file huge.py, last 200 lines": ToolCall(
                "read_file", {"path": "huge.py", "start_line": huge_lines - 199, "end_line": huge_lines}
            ),
            "list_symbols capped.py (parsed)": ToolCall("list_symbols", {"path": "capped.py"}),
            "read_symbol capped.py": ToolCall("read_symbol", {"name": "f_5000", "path": "capped.py"}),
        }
        steps: dict[str, Step] = {name: functools.partial(tools.call, call) for name, call in calls.items()}
        code = "def f_5000(x):\n    return x * 2\n"
        edit = ToolCall("replace_symbol", {"path": "capped.py", "symbol": "f_5000", "code": code})
        steps["replace_symbol capped.py + syntax check"] = functools.partial(_edited, workdir, limit, edit)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        figures: dict[str, Any] = {}
        for name, step in steps.items():
            runs = [await _timed(step) for _ in range(args.runs)]
            longest = max(r["ms"] for r in runs) / 1000
            floor = await _timed(None, idle_s=longest)
            figures[name] = {
                "first_ms": runs[0]["ms"],
                "median_ms": statistics.median(r["ms"] for r in runs),
                "max_stall_ms": max(r["stall_ms"] for r in runs),
                "floor_stall_ms": floor["stall_ms"],
                "result_chars": max(r["chars"] for r in runs),
            }
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        figures["max_rss_growth_mb"] = (rss_after - rss_before) / 1024
        return figures
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def _edited(root: str, limit: int, call: ToolCall) -> Any:
    """An edit tool call in a fresh action, then the syntax check the action ends with."""
    edits = EditSet(root, lambda uri: None, max_file_bytes=limit)
    note = await edits.run(call)
    return {"ok": note, "problems": await edits.check_syntax()}


def run(args: argparse.Namespace) -> int:
    figures = asyncio.run(run_bench(args))
    print(json.dumps(figures, indent=2) if args.json else _table(figures))
    return 0


def _table(figures: dict[str, Any]) -> str:
    lines = [f"{'tool call':42} {'first':>8} {'median':>8} {'stall':>7} {'floor':>7} {'chars':>7}"]
    for name, row in figures.items():
        if isinstance(row, dict):
            lines.append(
                f"{name:42} {row['first_ms']:7.0f}ms {row['median_ms']:7.0f}ms "
                f"{row['max_stall_ms']:5.0f}ms {row['floor_stall_ms']:5.0f}ms {row['result_chars']:7}"
            )
    lines.append(f"peak memory growth of the server process: {figures['max_rss_growth_mb']:.0f} MB")
    return "\n".join(lines)

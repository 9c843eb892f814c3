"""``hermes-lsp bench prompt``: what each completion prompt costs the model server.

Servers with KV-cache reuse (trtllm-serve, vLLM, llama.cpp) prefill only the part of a
prompt after its first difference from a prompt they have seen. This benchmark replays
typing (several lines of a real file erased and typed again, a completion request
at each pause, the repository index on) and, for each prompt layout, prints the prompt
size, the uncached tokens per request (the length after the longest common prefix with
any earlier prompt) and the reuse ratio. Tokens are estimated at four characters each.

The layouts compared, all showing the same file window and repository context:

- ``before``: context, the file before the cursor, the marker, the file after it
  (the layout this project used first);
- ``spm``: context, the file after the cursor, then the file before it up to the marker;
- ``spm+stable``: the same with the context kept in place between requests;
- ``context-first``: context kept in place, a file snapshot, the live lines;
- ``snapshot`` (the layout in use): a file snapshot, context kept in place, the live lines.

With ``--server URL`` the same prompts are replayed against a real OpenAI-compatible
server (llama.cpp's reuses the longest common prefix of its previous prompt) and the
time to first token is printed for the old layout and the new one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import tempfile
import time
from bisect import bisect_left, insort
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import httpx
from lsprotocol import types

from hermes_lsp.bench.overhead import percentile
from hermes_lsp.config import CompletionSettings, IndexSettings
from hermes_lsp.context.types import ContextEngine, Piece
from hermes_lsp.features.completion import CompletionService, Cursor
from hermes_lsp.features.postprocess import decide_multiline
from hermes_lsp.features.prompt_state import (
    DocumentPrompt,
    file_view,
    stable_pieces,
    take_snapshot,
)
from hermes_lsp.model.hermes import (
    COMPLETION_SYSTEM,
    CURSOR,
    Budgets,
    FileView,
    _fence_for,
    context_block,
    live_block,
    prompt_window,
    snapshot_block,
)
from hermes_lsp.text import apply_changes, common_ends

# Standard-library modules that typing.py uses, indexed with it so that retrieval has a
# repository to draw from.
NEIGHBOURS = (
    "abc.py",
    "collections",
    "contextlib.py",
    "copyreg.py",
    "functools.py",
    "operator.py",
    "re",
    "types.py",
    "warnings.py",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", help="source file to type into (default: the standard library's typing.py)")
    parser.add_argument("--lines", type=int, default=8, help="lines erased and typed again (default 8)")
    parser.add_argument("--server", help="also replay the prompts against this OpenAI-compatible /v1 URL")
    parser.add_argument("--model", default="", help="model id for --server (default: the first listed)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    defaults = CompletionSettings()
    parser.add_argument(
        "--prefix-tokens", type=int, default=defaults.prefix_tokens, help="completion.prefixTokens"
    )
    parser.add_argument(
        "--suffix-tokens", type=int, default=defaults.suffix_tokens, help="completion.suffixTokens"
    )
    parser.add_argument(
        "--context-budget", type=int, default=defaults.context_budget, help="completion.contextBudget"
    )


# -- the replayed typing ---------------------------------------------------------------------


@attrs.frozen
class Pause:
    """The document at a pause in typing, when the editor asks for a completion."""

    text: str
    offset: int


def chosen_lines(text: str, count: int) -> list[int]:
    """Lines to retype: code lines in two regions, half way and three quarters into the file."""
    lines = text.split("\n")
    picked: list[int] = []
    for region, share in enumerate((0.5, 0.75)):
        wanted = count // 2 + (count % 2 if region == 0 else 0)
        line = int(len(lines) * share)
        while wanted and line < len(lines):
            stripped = lines[line].strip()
            if len(stripped) >= 20 and not stripped.startswith(("#", '"', "'")):
                picked.append(line)
                wanted -= 1
                line += 2  # every other line: the user works through a block
            line += 1
    return picked


# (line, character, removed text, inserted text), 0-based.
Edit = tuple[int, int, str, str]


def typing_pauses(text: str, lines: Sequence[int]) -> Iterator[tuple[Pause, list[Edit]]]:
    """The pauses of the replayed typing, each with the edits since the previous one.

    Each edit is (line, character, removed, inserted), positions 0-based. A line is
    erased after its indentation, then typed again; the user pauses after each word.
    """
    for line in lines:
        rows = text.split("\n")
        row = rows[line]
        indent = len(row) - len(row.lstrip())
        body = row[indent:]
        start = sum(len(r) + 1 for r in rows[:line]) + indent
        text = text[:start] + text[start + len(body) :]
        edits = [(line, indent, body, "")]
        yield Pause(text, start), edits
        edits = []
        for index, char in enumerate(body):
            offset = start + index
            text = text[:offset] + char + text[offset:]
            edits.append((line, indent + index, "", char))
            if not (char.isalnum() or char == "_") or index == len(body) - 1:
                yield Pause(text, offset + 1), edits
                edits = []


# -- layouts -------------------------------------------------------------------------------


@attrs.define
class Layout:
    """One way of laying out the prompt, with the state it keeps between requests."""

    name: str
    build: Callable[[Layout, Pause, list[Piece], bool], str]
    path: str = ""
    """The path shown to the model."""
    settings: CompletionSettings = attrs.Factory(CompletionSettings)
    """The budgets of the file window and the context."""
    state: DocumentPrompt | None = None
    seen: list[str] = attrs.Factory(list)
    sizes: list[int] = attrs.Factory(list)
    uncached: list[int] = attrs.Factory(list)
    prompts: list[list[dict[str, str]]] = attrs.Factory(list)


def uncached_chars(seen: list[str], prompt: str) -> int:
    """Characters of ``prompt`` after its longest common prefix with any of ``seen`` (sorted).

    The longest common prefix with a set of strings is the one with a neighbour of the
    prompt in sorted order, so two comparisons suffice.
    """
    where = bisect_left(seen, prompt)
    best = 0
    for neighbour in seen[max(0, where - 1) : where + 1]:
        best = max(best, common_ends(neighbour, prompt)[0])
    return len(prompt) - best


def _window(layout: Layout, pause: Pause) -> tuple[str, str, str]:
    """The file before and after the cursor as the window shows it, and a fence for both."""
    settings = layout.settings
    start, end = prompt_window(pause.text, pause.offset, settings.prefix_tokens, settings.suffix_tokens)
    prefix, suffix = pause.text[start : pause.offset], pause.text[pause.offset : end]
    return prefix, suffix, _fence_for(prefix + suffix)


def _mode(multiline: bool) -> str:
    return "multi line" if multiline else "single line"


def build_before(layout: Layout, pause: Pause, pieces: list[Piece], multiline: bool) -> str:
    prefix, suffix, fence = _window(layout, pause)
    return (
        context_block(pieces)
        + f"File {layout.path} (python):\n{fence}\n{prefix}"
        + f"{CURSOR}{suffix}\n{fence}\n\nComplete at {CURSOR} ({_mode(multiline)})."
    )


def _spm(layout: Layout, pause: Pause, pieces: Sequence[Piece], multiline: bool) -> str:
    path = layout.path
    prefix, suffix, fence = _window(layout, pause)
    return (
        context_block(pieces)
        + f"File {path} (python), the part after the cursor:\n{fence}\n{suffix}\n{fence}\n\n"
        + f"The part before the cursor, up to {CURSOR}:\n{fence}\n{prefix}{CURSOR}\n{fence}\n\n"
        + f"Complete at {CURSOR} ({_mode(multiline)})."
    )


def build_spm(layout: Layout, pause: Pause, pieces: list[Piece], multiline: bool) -> str:
    return _spm(layout, pause, pieces, multiline)


def build_spm_stable(layout: Layout, pause: Pause, pieces: list[Piece], multiline: bool) -> str:
    first = layout.state is None
    if layout.state is None:
        layout.state = take_snapshot(pause.text, pause.offset, 1, 1)
    return _spm(
        layout, pause, stable_pieces(layout.state, pieces, layout.settings.context_budget, first), multiline
    )


def _snapshot_view(layout: Layout, pause: Pause, pieces: list[Piece]) -> tuple[FileView, list[Piece]]:
    layout.state, view, restart = file_view(
        layout.state, pause.text, pause.offset, layout.settings.prefix_tokens, layout.settings.suffix_tokens
    )
    return view, stable_pieces(layout.state, pieces, layout.settings.context_budget, restart)


def build_context_first(layout: Layout, pause: Pause, pieces: list[Piece], multiline: bool) -> str:
    view, shown = _snapshot_view(layout, pause, pieces)
    # The context comes first here, so a new snapshot must not reorder it.
    return (
        context_block(shown)
        + snapshot_block(layout.path, "python", view)
        + live_block(layout.path, view, multiline)
    )


# -- running it ----------------------------------------------------------------------------


def _apply(engine: ContextEngine, uri: str, version: int, before: str, edits: list[Edit]) -> str:
    """Send one pause's edits to the engine, as the server would; the text after them."""
    changes: list[types.TextDocumentContentChangeEvent] = []
    for line, character, removed, inserted in edits:
        end = types.Position(line, character + len(removed))
        changes.append(
            types.TextDocumentContentChangePartial(
                range=types.Range(types.Position(line, character), end), text=inserted
            )
        )
    changed = apply_changes(before, changes, "utf-16")
    engine.change_document(uri, changed, version)
    return changed.text


def _workspace(source: Path, workdir: Path) -> Path:
    target = workdir / source.name
    shutil.copy(source, target)
    if source.name == "typing.py" and source.parent == Path(os.__file__).parent:
        for name in NEIGHBOURS:
            path = source.parent / name
            if path.is_dir():
                shutil.copytree(path, workdir / name, ignore=shutil.ignore_patterns("__pycache__"))
            elif path.is_file():
                shutil.copy(path, workdir / name)
    return target


def replay(
    source: Path, lines: int, settings: CompletionSettings | None = None
) -> tuple[list[Layout], dict[str, Any]]:
    """Replay the typing; returns the layouts with their figures, and facts about the run."""
    from hermes_lsp.context.engine import WorkspaceContext

    path = source.name
    settings = settings or CompletionSettings()
    workdir = Path(tempfile.mkdtemp(prefix="hermes-bench-prompt-"))
    engine = WorkspaceContext(IndexSettings(), cache_dir=str(workdir / ".cache"))
    try:
        target = _workspace(source, workdir)
        engine.start_sync(str(workdir))
        text = target.read_text(encoding="utf-8")
        uri = target.as_uri()
        engine.open_document(uri, text, "python", 1)
        service = CompletionService(
            model=lambda: None,  # type: ignore[arg-type,return-value]
            settings=lambda: settings,
            context=lambda: engine,
            on_error=lambda error: None,
        )
        layouts = [
            Layout("before", build_before, path, settings),
            Layout("spm", build_spm, path, settings),
            Layout("spm+stable", build_spm_stable, path, settings),
            Layout("context-first", build_context_first, path, settings),
        ]
        chosen = Layout("snapshot", lambda *args: "", path, settings)
        version = 1
        context_tokens: list[int] = []
        current = text
        for pause, edits in typing_pauses(text, chosen_lines(text, lines)):
            version += 1
            current = _apply(engine, uri, version, current, edits)
            if current != pause.text:
                raise RuntimeError("the replayed edits do not give the replayed text")
            multiline = decide_multiline(
                pause.text, pause.offset, settings.multiline, engine.syntax_at(uri, pause.text, pause.offset)
            )
            pieces = engine.context(uri, pause.text, pause.offset, settings.context_budget, "completion")
            context_tokens.append(sum(piece.tokens for piece in pieces))
            for layout in layouts:
                content = layout.build(layout, pause, pieces, multiline)
                _record(
                    layout,
                    [{"role": "system", "content": COMPLETION_SYSTEM}, {"role": "user", "content": content}],
                )
            # The layout in use, built by the completion service itself.
            cursor = Cursor(uri, pause.text, pause.offset, path, "python")
            budgets = Budgets(settings.prefix_tokens, settings.suffix_tokens, settings.context_budget)
            prepared = service.prepare(cursor, multiline, budgets)
            _record(chosen, prepared.messages)
            prepared.sent()  # as the request reaching the model server would
        facts = {
            "file": f"{source.name} ({text.count(chr(10)) + 1} lines)",
            "requests": len(chosen.sizes),
            "retrieved_context_tokens_p50": statistics.median(context_tokens) if context_tokens else 0,
        }
        return [*layouts, chosen], facts
    finally:
        engine.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _record(layout: Layout, messages: list[dict[str, str]]) -> None:
    # What the server tokenizes: the messages in order (the chat template adds the same
    # few tokens around each message in every prompt).
    prompt = "\x00".join(message["content"] for message in messages)
    layout.sizes.append(len(prompt))
    layout.uncached.append(uncached_chars(layout.seen, prompt))
    insort(layout.seen, prompt)
    layout.prompts.append(messages)


def figures(layout: Layout) -> dict[str, Any]:
    tokens = [(n + 3) // 4 for n in layout.uncached]
    return {
        "prompt_chars_p50": statistics.median(layout.sizes),
        "prompt_tokens_p50": (statistics.median(layout.sizes) + 3) // 4,
        "uncached_tokens_p50": statistics.median(tokens),
        "uncached_tokens_p90": percentile(tokens, 90),
        "uncached_tokens_max": max(tokens),
        "reuse": round(1 - sum(layout.uncached) / sum(layout.sizes), 3),
    }


# -- a real server ----------------------------------------------------------------------------


async def time_to_first_token(url: str, model: str, prompts: list[list[dict[str, str]]]) -> list[float]:
    """Milliseconds to the first streamed token for each prompt, sent one after another."""
    times = []
    async with httpx.AsyncClient(base_url=url.rstrip("/"), timeout=600) as client:
        if not model:
            model = (await client.get("/models")).json()["data"][0]["id"]
        for messages in prompts:
            body = {"model": model, "messages": messages, "max_tokens": 1, "temperature": 0, "stream": True}
            sent = time.perf_counter()
            async with client.stream("POST", "/chat/completions", json=body) as response:
                response.raise_for_status()
                first = None
                async for line in response.aiter_lines():
                    if first is None and line.startswith("data:"):
                        first = (time.perf_counter() - sent) * 1000
                if first is None:
                    raise RuntimeError(
                        f"{url} answered without a token; is the prompt longer than its context?"
                    )
                times.append(first)
    return times


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    source = Path(args.file) if args.file else Path(os.__file__).with_name("typing.py")
    settings = CompletionSettings(
        prefix_tokens=args.prefix_tokens, suffix_tokens=args.suffix_tokens, context_budget=args.context_budget
    )
    layouts, facts = replay(source, args.lines, settings)
    result: dict[str, Any] = {**facts, "layouts": {layout.name: figures(layout) for layout in layouts}}
    if args.server:
        served = {}
        for name in ("before", "snapshot"):
            prompts = next(layout.prompts for layout in layouts if layout.name == name)
            times = asyncio.run(time_to_first_token(args.server, args.model, prompts))
            # The first prompt is new to the server in every layout: leave it out.
            rest = times[1:] or times
            served[name] = {
                "ttft_ms_p50": round(statistics.median(rest), 1),
                "ttft_ms_p90": round(percentile(rest, 90), 1),
                "ttft_ms_first": round(times[0], 1),
            }
        result["server"] = {"url": args.server, **served}
    return result


def run(args: argparse.Namespace) -> int:
    result = run_bench(args)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"hermes-lsp bench prompt — {result['file']}, {args.lines} lines retyped, "
        f"{result['requests']} requests, "
        f"repository context p50 {result['retrieved_context_tokens_p50']} tokens"
    )
    print(
        f"  {'layout':<14} {'prompt tokens p50':>18} {'uncached p50':>13} {'p90':>6} {'max':>6} {'reuse':>6}"
    )
    for name, f in result["layouts"].items():
        print(
            f"  {name:<14} {f['prompt_tokens_p50']:>18} {f['uncached_tokens_p50']:>13} "
            f"{f['uncached_tokens_p90']:>6} {f['uncached_tokens_max']:>6} {f['reuse']:>6.1%}"
        )
    print("  (tokens ~ characters / 4; uncached = after the longest common prefix with any earlier prompt)")
    print("  budget: uncached tokens p50 <= 100, p90 <= 500")
    if "server" in result:
        s = result["server"]
        print(f"  time to first token at {s['url']} (first request left out):")
        for name in ("before", "snapshot"):
            t = s[name]
            print(
                f"    {name:<10} p50 {t['ttft_ms_p50']} ms, p90 {t['ttft_ms_p90']} ms "
                f"(first {t['ttft_ms_first']} ms)"
            )
    return 0

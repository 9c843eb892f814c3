"""``hermes-lsp bench context ROOT``: the context engine's figures on a real tree.

1. cold index: a fresh cache, scanned by ``--workers`` processes (1 by default: the
   target is for one core), run as ``hermes-lsp index`` in a child process;
2. warm start: a new engine opening that cache and checking every file for changes;
3. context assembly: p50/p99 over ``--positions`` cursor positions in files of the tree,
   once the look-ahead of opening each file is done; apart, the first context of each
   file asked for at the moment it opens;
4. incremental re-parse: one-character edits in the file nearest 6,000 lines;
5. memory: resident set of this process with the index loaded (peak and now);
6. definition recall@B for several budgets B: hide a line that uses identifiers defined
   only in other files, ask for context at its start under B tokens, count the definitions
   the context holds; next to a baseline that spends the same budget on the lines around
   the cursor. The same lines are used at every budget;
7. other language: how many of those contexts' pieces come from a file of another
   language family than the cursor's (in a mixed repository, e.g. Python beside Lua and
   shell, these are name clashes unless a real link joins the two).

``--scale`` prints instead how cold, warm, context latency and memory grow with the
tree, next to the tree-sitter floor (:mod:`hermes_lsp.bench.scale`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from lsprotocol import types

from hermes_lsp.bench.overhead import percentile
from hermes_lsp.config import IndexSettings
from hermes_lsp.context.engine import WorkspaceContext
from hermes_lsp.context.index import Def
from hermes_lsp.context.languages import may_use, same_family
from hermes_lsp.context.rank import BUILTIN_NAMES
from hermes_lsp.context.values import Piece, estimate_tokens


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "root",
        metavar="ROOT",
        nargs="?",
        help="the tree to measure (e.g. the standard library); with --scale, the interpreter's by default",
    )
    parser.add_argument(
        "--scale", action="store_true", help="the scale curve: floor, cold, warm, p99, memory per tree"
    )
    parser.add_argument(
        "--synthetic",
        type=int,
        default=100_000,
        metavar="FILES",
        help="with --scale, also a generated tree of this many files (0: none; default 100000)",
    )
    parser.add_argument(
        "--cpus", default="0", help="with --scale, the CPUs the measured processes may use (default 0)"
    )
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="PATTERN", help="extra ignore pattern"
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="worker processes for the cold index (default 1; with --scale, what `hermes-lsp index`"
        " chooses for the CPUs it may use)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="with --scale, floor and cold index runs per tree, alternating: medians, and each cold"
        " run's ratio to the floor run before it (median and range)",
    )
    parser.add_argument("--positions", type=int, default=300, help="cursor positions for the latency figure")
    parser.add_argument("--samples", type=int, default=300, help="hidden lines for the recall figure")
    parser.add_argument(
        "--budget", type=int, default=2048, help="token budget for latency and aider (default 2048)"
    )
    parser.add_argument(
        "--recall-budgets",
        type=_budgets,
        default=(1024, 2048, 4096),
        metavar="B,B,...",
        help="token budgets for the recall figure (default 1024,2048,4096)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--aider-python",
        metavar="PYTHON",
        help="also measure aider's RepoMap on the same hidden lines, with this interpreter (one that"
        " has aider-chat installed); slow: about a second a line",
    )
    parser.add_argument("--aider-samples", type=int, default=100, help="hidden lines given to aider")


def _budgets(text: str) -> tuple[int, ...]:
    try:
        budgets = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of token counts: {text!r}") from None
    if not budgets or min(budgets) <= 0:
        raise argparse.ArgumentTypeError(f"budgets must be positive: {text!r}")
    return budgets


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process (this one by default), in MB; NaN where /proc is missing."""
    try:
        fh = open(f"/proc/{pid}/status")
    except OSError:
        return float("nan")
    with fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cold_index(root: str, cache: str, workers: int, exclude: Sequence[str]) -> dict[str, Any]:
    command = [sys.executable, "-m", "hermes_lsp", "index", root, "--json", "--workers", str(workers)]
    for pattern in exclude:
        command += ["--exclude", pattern]
    env = {**os.environ, "HERMES_LSP_CACHE_DIR": cache}
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    report = json.loads(done.stdout)
    return {
        "wall_s": wall,
        "index_s": report["seconds"],
        "files": report["files"],
        "defs": report["definitions"],
    }


def _sample_files(engine: WorkspaceContext, rng: random.Random, count: int) -> list[str]:
    assert engine.index is not None
    paths = sorted(engine.index.by_path)
    return rng.sample(paths, min(count, len(paths)))


def _read(root: str, rel: str) -> str:
    with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as fh:
        return fh.read()


def latency(
    engine: WorkspaceContext,
    root: str,
    rng: random.Random,
    positions: int,
    budget: int,
    cpu: list[float] | None = None,
    first: list[float] | None = None,
) -> list[float]:
    """Milliseconds per context assembly; ``cpu`` also gets this thread's processor time
    per call, which other load on the machine does not inflate.

    Each sampled file is opened as an editor opens it. Its first context is asked for at
    once, while the look-ahead that opening starts is still running (the worst case: a
    completion within milliseconds of opening), and goes to ``first``; the others come
    after the look-ahead, as they do when the user starts typing.
    """
    times: list[float] = []
    files = _sample_files(engine, rng, 30)
    per_file = max(1, positions // max(1, len(files)))
    for rel in files:
        text = _read(root, rel)
        uri = os.path.join(root, rel)
        engine.open_document(uri, text, "", 1)
        for call in range(per_file + (first is not None)):
            if call == 1 and first is not None:
                engine.looked_ahead()
            offset = rng.randrange(len(text) + 1)
            started, used = time.perf_counter(), time.thread_time()
            engine.context(uri, text, offset, budget, "completion")
            elapsed = (time.perf_counter() - started) * 1000
            if call == 0 and first is not None:
                first.append(elapsed)
                continue
            times.append(elapsed)
            if cpu is not None:
                cpu.append((time.thread_time() - used) * 1000)
    return times


def reparse(engine: WorkspaceContext, root: str, rng: random.Random) -> tuple[str, int, list[float]]:
    assert engine.index is not None
    best = ""
    best_gap = None
    for rel in engine.index.by_path:
        if not rel.endswith(".py"):
            continue
        lines = engine.index.by_path[rel][-1].end_line
        if best_gap is None or abs(lines - 6000) < best_gap:
            best, best_gap = rel, abs(lines - 6000)
    text = _read(root, best)
    uri = "bench://" + best
    engine.open_document(uri, text, "python", 1)
    document = engine.documents[uri]
    lines = text.split("\n")
    times = []
    for version in range(2, 202):
        row = rng.randrange(len(lines))
        ends = [m.end() for m in re.finditer(r"[A-Za-z_]\w*", lines[row])]
        if not ends:
            continue
        col = rng.choice(ends)
        change = types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(row, col), types.Position(row, col)), text="x"
        )
        started = time.perf_counter()
        document.apply([change], version, "utf-32")
        assert document.tree is not None  # reading the tree makes sure the re-parse happened
        times.append((time.perf_counter() - started) * 1000)
        lines[row] = lines[row][:col] + "x" + lines[row][col:]
    engine.close_document(uri)
    return best, len(lines), times


def _holds(pieces: Sequence[Piece], defs: Sequence[Def]) -> bool:
    return any(
        p.path == d.path and p.start_line <= d.start_line <= p.end_line and p.kind in ("definition", "map")
        for p in pieces
        for d in defs
    )


def _baseline(rel: str, lines: list[str], row: int, budget: int) -> list[Piece]:
    """The lines around the cursor that fit the budget (two thirds before, one third after)."""
    start, end, spent = row, row, 0
    while spent < budget and (start > 0 or end < len(lines) - 1):
        if start > 0 and (end >= len(lines) - 1 or (row - start) <= 2 * (end - row)):
            start -= 1
            spent += estimate_tokens(lines[start]) + 1
        else:
            end += 1
            spent += estimate_tokens(lines[end]) + 1
    text = "\n".join(lines[start : end + 1])
    return [Piece("lines", rel, start + 1, end + 1, text, estimate_tokens(text))]


@attrs.frozen
class HiddenLine:
    """A line of a file blanked out (its indentation kept), and the names it used."""

    path: str
    row: int
    """0-based line number."""
    text: str
    """The file with the line blanked."""
    offset: int
    """The cursor: where the line's code started."""
    names: tuple[str, ...]
    """Names the line used that are defined in other files of the repository."""


RECALL_SUFFIXES = (".py", ".js", ".ts", ".go", ".rs", ".java")


def hidden_lines(engine: WorkspaceContext, root: str, rng: random.Random, samples: int) -> list[HiddenLine]:
    """Up to ``samples`` lines (two per file) that use identifiers defined only in other files
    (of a language the file can use by name)."""
    assert engine.index is not None
    by_name, by_path = engine.index.by_name, engine.index.by_path
    files = sorted(p for p in by_path if os.path.splitext(p)[1] in RECALL_SUFFIXES)
    rng.shuffle(files)
    out: list[HiddenLine] = []
    for rel in files:
        if len(out) >= samples:
            break
        lines = _read(root, rel).split("\n")
        local = {d.name for d in by_path.get(rel, ())}
        # Targets: names the line really uses as code (the tags query's references), that
        # are defined in the repository, but not in this file; in code the file can mean by
        # name (``find`` in Python is not a JavaScript function that happens to share it).
        used: dict[int, set[str]] = {}
        for name, rows in engine.index.references_in(rel).items():
            if name in local or name not in by_name or name in BUILTIN_NAMES:
                continue
            if not any(may_use(rel, d.path) for d in by_name[name]):
                continue
            for row in rows:
                used.setdefault(row - 1, set()).add(name)
        candidates = sorted((row, names) for row, names in used.items() if row < len(lines))
        for row, names in rng.sample(candidates, min(2, len(candidates))):
            indent = lines[row][: len(lines[row]) - len(lines[row].lstrip())]
            hidden = "\n".join([*lines[:row], indent, *lines[row + 1 :]])
            offset = sum(len(x) + 1 for x in lines[:row]) + len(indent)
            out.append(HiddenLine(rel, row, hidden, offset, tuple(sorted(names))))
    return out


def _context_at(engine: WorkspaceContext, root: str, line: HiddenLine, budget: int) -> list[Piece]:
    uri = os.path.join(root, line.path)
    engine.open_document(uri, line.text, "", 1)
    try:
        return engine.context(uri, line.text, line.offset, budget, "completion")
    finally:
        engine.close_document(uri)


def recall(
    engine: WorkspaceContext, root: str, lines: Sequence[HiddenLine], budget: int
) -> dict[str, float | int]:
    """Share of the hidden lines' names whose definition the context holds, next to the baseline;
    and how many of the context's pieces are of another language family than the cursor's file."""
    assert engine.index is not None
    by_name = engine.index.by_name
    held = base_held = total = pieces_total = foreign = foreign_contexts = 0
    filled = 0
    for line in lines:
        pieces = _context_at(engine, root, line, budget)
        baseline = _baseline(line.path, line.text.split("\n"), line.row, budget)
        for name in line.names:
            total += 1
            held += _holds(pieces, by_name[name])
            base_held += _holds(baseline, by_name[name])
        filled += sum(p.tokens for p in pieces)
        others = sum(1 for p in pieces if not same_family(line.path, p.path))
        pieces_total += len(pieces)
        foreign += others
        foreign_contexts += bool(others)
    return {
        "budget": budget,
        "lines": len(lines),
        "identifiers": total,
        "recall": held / total if total else float("nan"),
        "baseline": base_held / total if total else float("nan"),
        "mean_tokens": filled / len(lines) if lines else 0.0,
        "pieces": pieces_total,
        "other_language_pieces": foreign,
        "contexts_with_other_language": foreign_contexts,
    }


def _record(lines: Sequence[HiddenLine], by_name: Mapping[str, Sequence[Def]]) -> list[dict[str, Any]]:
    """The hidden lines as aider's script reads them."""
    return [
        {
            "path": line.path,
            "row": line.row,
            "text": line.text,
            "targets": [[name, [[d.path, d.start_line] for d in by_name[name]]] for name in line.names],
        }
        for line in lines
    ]


def aider_recall(python: str, root: str, record: list[dict[str, Any]], budget: int) -> dict[str, Any]:
    """Run aider's RepoMap (in its own interpreter) on the same hidden lines."""
    script = os.path.join(os.path.dirname(__file__), "aider_repomap.py")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"root": root, "budget": budget, "samples": record}, fh)
    try:
        done = subprocess.run([python, script, fh.name], capture_output=True, text=True, check=False)
    finally:
        os.unlink(fh.name)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:] or ["aider failed"]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(args: argparse.Namespace) -> int:
    if args.scale:
        from hermes_lsp.bench import scale

        trees = (
            [scale.Tree(os.path.basename(args.root), os.path.abspath(args.root), tuple(args.exclude))]
            if args.root
            else scale.interpreter_trees()
        )
        positions, budget = args.positions, args.budget
        return scale.run_curve(
            trees, args.synthetic, args.cpus, positions, budget, args.workers, args.json, args.repeat
        )
    if not args.root:
        print("hermes-lsp: bench context needs ROOT (or --scale)", file=sys.stderr)
        return 2
    root = os.path.abspath(args.root)
    if not os.path.isdir(root):
        print(f"hermes-lsp: {root} is not a folder", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    if args.workers is None:
        args.workers = 1
    figures: dict[str, Any] = {"root": root, "workers": args.workers, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="hermes-bench-") as cache:
        figures["cold"] = cold_index(root, cache, args.workers, args.exclude)
        engine = WorkspaceContext(
            IndexSettings(exclude=list(args.exclude)), cache_dir=cache, workers=args.workers
        )
        started = time.perf_counter()
        report = engine.start_sync(root)
        figures["warm_s"] = time.perf_counter() - started
        figures["warm_rescanned"] = report.indexed if report else None
        first: list[float] = []
        times = latency(engine, root, rng, args.positions, args.budget, first=first)
        figures["context_ms"] = {"p50": percentile(times, 50), "p99": percentile(times, 99), "n": len(times)}
        figures["first_context_ms"] = {
            "p50": percentile(first, 50),
            "max": max(first, default=0.0),
            "n": len(first),
        }
        path, nlines, edits = reparse(engine, root, rng)
        figures["reparse_ms"] = {
            "file": path,
            "lines": nlines,
            "p50": percentile(edits, 50),
            "p99": percentile(edits, 99),
        }
        figures["rss_mb"] = {
            "now": rss_mb(),
            "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
        lines = hidden_lines(engine, root, random.Random(args.seed), args.samples)
        figures["recall"] = [recall(engine, root, lines, budget) for budget in args.recall_budgets]
        if args.aider_python:
            given = lines[: args.aider_samples]
            record = _record(given, engine.index.by_name if engine.index else {})
            figures["aider"] = aider_recall(args.aider_python, root, record, args.budget)
            figures["aider"]["ours"] = recall(engine, root, given, args.budget)["recall"]
        engine.close()
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    cold, ctx, rp, rss = (figures[k] for k in ("cold", "context_ms", "reparse_ms", "rss_mb"))
    opened = figures["first_context_ms"]
    rows = [
        ("tree", f"{root}: {cold['files']:,} files, {cold['defs']:,} definitions"),
        ("cold index", f"{cold['index_s']:.2f} s, {args.workers} worker(s) ({cold['wall_s']:.2f} s in all)"),
        ("warm start", f"{figures['warm_s']:.2f} s ({figures['warm_rescanned']} files re-scanned)"),
        ("context assembly", f"p50 {ctx['p50']:.2f} ms, p99 {ctx['p99']:.2f} ms over {ctx['n']} positions"),
        (
            "  just opened",
            f"p50 {opened['p50']:.2f} ms, max {opened['max']:.2f} ms: the first context of each of"
            f" {opened['n']} files, asked for as it opens",
        ),
        ("re-parse", f"p50 {rp['p50']:.2f} ms, p99 {rp['p99']:.2f} ms ({rp['file']}, {rp['lines']:,} lines)"),
        ("memory", f"{rss['now']:.0f} MB resident, {rss['peak']:.0f} MB peak"),
    ]
    for rc in figures["recall"]:
        rows.append(
            (
                f"recall@{rc['budget']}",
                f"{rc['recall']:.3f} (baseline, lines around the cursor: {rc['baseline']:.3f});"
                f" {rc['identifiers']} identifiers in {rc['lines']} hidden lines;"
                f" {rc['mean_tokens']:.0f} tokens filled on average",
            )
        )
    rc = figures["recall"][-1]
    rows.append(
        (
            "other language",
            f"{rc['other_language_pieces']} of {rc['pieces']} pieces at {rc['budget']} tokens are of another"
            f" language family than the cursor's file ({rc['contexts_with_other_language']} of"
            f" {rc['lines']} contexts)",
        )
    )
    aider = figures.get("aider")
    if aider is not None and "recall" in aider:
        rows.append(
            (
                "aider RepoMap",
                f"recall@{args.budget} {aider['recall']:.3f} against ours {aider['ours']:.3f} on the same"
                f" {aider['lines']} lines; {aider['seconds_per_line']:.2f} s a line",
            )
        )
    elif aider is not None:
        rows.append(("aider RepoMap", f"failed: {aider['error']}"))
    for label, value in rows:
        print(f"{label:<20}{value}")
    return 0

"""``hermes-lsp bench context --scale``: how the index's cost grows with the repository.

For each tree it prints, side by side:

- the floor: parse every file the index would read and run a small definitions + calls
  query over it (the work no tree-sitter indexer can skip), in one process;
- cold: ``hermes-lsp index`` on a fresh cache, as wall-clock time and as processor time
  of its whole process tree (interpreter and worker start-up included), which other load
  on the machine does not inflate as it does the wall clock;
- ready: a new process opening that cache until its first lookup answers;
- warm: a new process opening the cache and checking every file for changes;
- context p99 over cursor positions in that warm process, once each sampled file's
  look-ahead is done (wall clock, and the processor time of the calling thread, which
  the look-ahead thread and other load do not inflate); apart, each file's first context
  asked for the moment it opens (p50 and max); and the process's resident memory.

Every step runs in a child process pinned to one core (``--cpus``), one after the other,
so that the floor and the index are measured in the same conditions. Real trees come from
the running interpreter (its standard library, its site-packages, the whole ``lib/``);
a synthetic tree of many copies of the standard library under different folder names
(hard links: no disk space) shows what lies beyond, and is removed afterwards.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import attrs

SITE = "site-packages/"
PR_SET_CHILD_SUBREAPER = 36


@attrs.frozen
class Tree:
    """A tree to measure: where it is and what to leave out."""

    label: str
    root: str
    exclude: tuple[str, ...] = ()


def interpreter_trees() -> list[Tree]:
    """The standard library (~1.8k files), site-packages (~10-20k) and the whole lib/."""
    stdlib = sysconfig.get_paths()["stdlib"]
    trees = [Tree("stdlib", stdlib, (SITE,))]
    site = os.path.join(stdlib, "site-packages")
    if os.path.isdir(site):
        trees.append(Tree("site-packages", site))
    trees.append(Tree("lib/", os.path.dirname(stdlib)))
    return trees


# -- the floor -----------------------------------------------------------------------------

_FLOOR_CAPTURES = re.compile(r"@(definition\.(function|class|method)|reference\.call)\b")


@functools.cache
def floor_query(language: str) -> Any:
    """The patterns of our tags query that mark functions, classes, methods and calls."""
    import tree_sitter

    from hermes_lsp.context.languages import grammar, query_patterns

    patterns = query_patterns(language)
    chosen = [p for p in patterns if _FLOOR_CAPTURES.search(p)] or list(patterns[:1])
    return tree_sitter.Query(grammar(language), "\n".join(chosen))


def floor(root: str, exclude: Sequence[str], max_bytes: int) -> dict[str, Any]:
    """Parse and query every file the index would read (the walk is not counted)."""
    import tree_sitter

    from hermes_lsp.context.languages import language_for_path, parser
    from hermes_lsp.context.walk import walk

    files = walk(root, exclude).files
    started = time.perf_counter()
    cpu = time.process_time()
    parsed = 0
    for rel in files:
        spec = language_for_path(rel)
        if spec is None:
            continue
        try:
            with open(os.path.join(root, rel), "rb") as fh:
                data = fh.read(max_bytes + 1)
        except OSError:
            continue
        if len(data) > max_bytes:
            continue
        tree = parser(spec.name).parse(data)
        tree_sitter.QueryCursor(floor_query(spec.name)).captures(tree.root_node)
        parsed += 1
    return {"seconds": time.perf_counter() - started, "cpu_s": time.process_time() - cpu, "files": parsed}


# -- a warm process --------------------------------------------------------------------------


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def warm(root: str, cache: str, exclude: Sequence[str], positions: int, budget: int) -> dict[str, Any]:
    """Open the cache as the server does: time to the first answer, to a full check of the
    tree, context latency, and this process's memory."""
    import hermes_lsp.server  # noqa: F401 - the memory figure is the language server's, imports and all
    from hermes_lsp.bench.context import latency
    from hermes_lsp.bench.overhead import percentile
    from hermes_lsp.config import IndexSettings
    from hermes_lsp.context.engine import WorkspaceContext
    from hermes_lsp.context.index import Index
    from hermes_lsp.context.store import Store, database_path

    started = time.perf_counter()
    store = Store(database_path(root, cache), root)
    index = Index(root, store, IndexSettings().max_file_kb * 1024, exclude)
    index.by_name.get("main")
    ready = time.perf_counter() - started
    store.close()
    engine = WorkspaceContext(IndexSettings(exclude=list(exclude)), cache_dir=cache, workers=1)
    started = time.perf_counter()
    report = engine.start_sync(root)
    checked = time.perf_counter() - started
    cpu: list[float] = []
    first: list[float] = []
    times = latency(engine, root, random.Random(7), positions, budget, cpu, first)
    figures = {
        "ready_s": ready,
        "warm_s": checked,
        "rescanned": report.indexed if report else None,
        "context_p50_ms": percentile(times, 50),
        "context_p99_ms": percentile(times, 99),
        "opened_p50_ms": percentile(first, 50),
        "opened_max_ms": max(first, default=float("nan")),
        "context_cpu_p50_ms": percentile(cpu, 50),
        "context_cpu_p99_ms": percentile(cpu, 99),
        "positions": len(times),
        "rss_mb": _status_mb("VmRSS"),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    engine.close()
    return figures


# -- the curve ---------------------------------------------------------------------------------


def _one_core(cpus: str | None) -> Any:
    if not cpus:
        return None
    chosen = {int(c) for c in cpus.split(",")}

    def pin() -> None:
        os.sched_setaffinity(0, chosen)

    return pin


def _adopt_orphans() -> None:
    """Become the parent of this process's orphaned descendants (Linux), so that the
    processor time of worker processes and their fork server, which outlive the process
    that started them, is counted when they are reaped here."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # elsewhere: workers that outlive their parent go uncounted


def _reap() -> None:
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def _child(command: list[str], env: dict[str, str], cpus: str | None) -> tuple[float, float, str]:
    """Run ``command``; its wall-clock seconds, the processor seconds of its whole process
    tree, and what it printed."""
    _adopt_orphans()
    _reap()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, check=True, preexec_fn=_one_core(cpus)
    )
    wall = time.perf_counter() - started
    _reap()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, done.stdout


def _probe(kind: str, *args: str, env: dict[str, str], cpus: str | None) -> dict[str, Any]:
    wall, cpu, out = _child([sys.executable, "-m", "hermes_lsp.bench.scale", kind, *args], env, cpus)
    return {**json.loads(out.strip().splitlines()[-1]), "process_wall_s": wall, "process_cpu_s": cpu}


def measure(
    tree: Tree, cpus: str | None, positions: int, budget: int, workers: int | None, repeat: int = 1
) -> dict[str, Any]:
    """Floor, cold, ready, warm, context p99 and memory of one tree (``workers``: the index
    command's ``--workers``; None: what it chooses for ``cpus``).

    With ``repeat`` above 1, floor and cold run that many times, one after the other, each
    cold index on a fresh cache: ``floor`` and ``cold`` are then the medians, and
    ``ratios`` each cold run over the floor run just before it. Drift in the machine's
    speed over minutes moves both runs of a pair alike, so the spread of the ratios is
    what a change to the index must beat."""
    excludes = json.dumps(list(tree.exclude))
    with tempfile.TemporaryDirectory(prefix="hermes-scale-") as folder:
        row: dict[str, Any] = {"tree": tree.label, "root": tree.root}
        floors: list[dict[str, Any]] = []
        colds: list[dict[str, Any]] = []
        for attempt in range(max(1, repeat)):
            cache = os.path.join(folder, str(attempt))
            env = {**os.environ, "HERMES_LSP_CACHE_DIR": cache}
            floors.append(_probe("floor", tree.root, excludes, env=env, cpus=cpus))
            colds.append(_cold(tree, workers, env, cpus))
        row["floor"] = _median_run(floors, "process_wall_s")
        row["cold"] = _median_run(colds, "wall_s")
        if len(colds) > 1:
            row["ratios"] = {
                "wall": [c["wall_s"] / f["process_wall_s"] for f, c in zip(floors, colds, strict=True)],
                "cpu": [c["cpu_s"] / f["process_cpu_s"] for f, c in zip(floors, colds, strict=True)],
            }
        # The warm process opens the last cold run's cache.
        row["warm"] = _probe(
            "warm", tree.root, cache, excludes, str(positions), str(budget), env=env, cpus=cpus
        )
    return row


def _cold(tree: Tree, workers: int | None, env: dict[str, str], cpus: str | None) -> dict[str, Any]:
    """``hermes-lsp index`` on the cache ``env`` names (fresh): its time and report."""
    command = [sys.executable, "-m", "hermes_lsp", "index", tree.root, "--json"]
    if workers is not None:
        command += ["--workers", str(workers)]
    for pattern in tree.exclude:
        command += ["--exclude", pattern]
    wall, cpu, out = _child(command, env, cpus)
    report = json.loads(out)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "files": report["files"],
        "defs": report["definitions"],
        "workers": report["workers"],
    }


def _median_run(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The run whose ``key`` is the median (the lower of the middle two), with every
    figure of that one run, so that they stay consistent with each other."""
    ordered = sorted(runs, key=lambda run: run[key])
    return ordered[(len(ordered) - 1) // 2]


def synthetic_tree(folder: str, files: int, source: Tree) -> Tree:
    """``files`` files: copies of ``source`` in folders ``copy0000/``... (hard links where the
    file system allows, else real copies)."""
    from hermes_lsp.context.walk import walk

    originals = walk(source.root, source.exclude).files
    made = 0
    copy = 0
    while made < files and originals:
        for rel in originals[: files - made]:
            target = os.path.join(folder, f"copy{copy:04d}", rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            try:
                os.link(os.path.join(source.root, rel), target)
            except OSError:
                shutil.copyfile(os.path.join(source.root, rel), target)
            made += 1
        copy += 1
    return Tree(f"synthetic {made // 1000}k", folder)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def _ratios(row: dict[str, Any], kind: str) -> str:
    """Median of the pairs' ratios and their range (empty for a single pair)."""
    ratios = sorted(row.get("ratios", {}).get(kind, ()))
    if len(ratios) < 2:
        return ""
    middle = statistics.median(ratios)
    return f"{middle:.2f}x ({ratios[0]:.2f}-{ratios[-1]:.2f})"


def print_curve(rows: Sequence[dict[str, Any]], cpus: str | None) -> None:
    print(f"one core: cpus {cpus}" if cpus else "all cores")
    print(
        "floor and cold: whole processes (start-up, walk included), wall-clock seconds, then"
        " processor seconds (what other load on the machine cannot inflate)"
    )
    header = ("tree", "files", "workers", "floor", "cold", "cold/floor", "floor cpu", "cold cpu", "cpu ratio")
    header += ("ready", "warm", "ctx p99", "ctx cpu p99", "opened p50", "opened max", "RSS", "peak RSS")
    print("  ".join(f"{h:>11}" for h in header))
    for row in rows:
        floor_s, cold, w = row["floor"]["process_wall_s"], row["cold"], row["warm"]
        floor_cpu = row["floor"]["process_cpu_s"]
        cells = (
            row["tree"],
            f"{cold['files']:,}",
            str(cold.get("workers", "-")),
            f"{floor_s:.1f} s",
            f"{cold['wall_s']:.1f} s",
            _ratios(row, "wall") or _ratio(cold["wall_s"], floor_s),
            f"{floor_cpu:.1f} s",
            f"{cold['cpu_s']:.1f} s",
            _ratios(row, "cpu") or _ratio(cold["cpu_s"], floor_cpu),
            f"{w['ready_s'] * 1000:.0f} ms",
            f"{w['warm_s']:.2f} s",
            f"{w['context_p99_ms']:.2f} ms",
            f"{w['context_cpu_p99_ms']:.2f} ms",
            f"{w['opened_p50_ms']:.2f} ms",
            f"{w['opened_max_ms']:.2f} ms",
            f"{w['rss_mb']:.0f} MB",
            f"{w['peak_rss_mb']:.0f} MB",
        )
        print("  ".join(f"{c:>11}" for c in cells))


def run_curve(
    trees: Sequence[Tree],
    synthetic: int,
    cpus: str | None,
    positions: int,
    budget: int,
    workers: int | None,
    as_json: bool,
    repeat: int = 1,
) -> int:
    rows: list[dict[str, Any]] = []

    def add(tree: Tree) -> None:
        rows.append(measure(tree, cpus, positions, budget, workers, repeat))
        # A long curve shows each row as it comes (the last tree can take many minutes).
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)

    for tree in trees:
        add(tree)
    if synthetic:
        with tempfile.TemporaryDirectory(prefix="hermes-synthetic-") as folder:
            add(synthetic_tree(folder, synthetic, interpreter_trees()[0]))
    if as_json:
        print(json.dumps({"cpus": cpus, "rows": rows}, indent=2))
    else:
        print_curve(rows, cpus)
    return 0


def main(argv: Sequence[str]) -> int:
    """Child-process entry: ``floor ROOT EXCLUDES`` or ``warm ROOT CACHE EXCLUDES N B``."""
    kind, root, *rest = argv
    if kind == "floor":
        from hermes_lsp.config import IndexSettings

        figures = floor(root, json.loads(rest[0]), IndexSettings().max_file_kb * 1024)
    else:
        cache, excludes, positions, budget = rest
        figures = warm(root, cache, json.loads(excludes), int(positions), int(budget))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

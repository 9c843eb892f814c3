"""The workspace symbol index: built once in worker processes, then kept current file by file.

:class:`Index` owns the SQLite :class:`~hermes_lsp.context.store.Store` and an in-memory
view of every definition (by name and by file) that retrieval reads on the event loop.
:meth:`Index.refresh` compares the workspace with the cache (size and mtime, then content
hash), scans only what changed (in a process pool when there is much to do: tree-sitter
holds the GIL), writes it, re-ranks and swaps in the new view. Updates replace whole
lists in the dictionaries rather than mutating them, so a reader never sees a half-made one.
"""

from __future__ import annotations

import concurrent.futures
import gc
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable

import attrs

from hermes_lsp.context import rank as ranking
from hermes_lsp.context.modules import module_map
from hermes_lsp.context.store import Store
from hermes_lsp.context.walk import (
    Scanned,
    contained,
    is_ignored,
    iter_batches,
    scan_batch,
    scan_file,
    walk,
)

log = logging.getLogger(__name__)

POOL_THRESHOLD = 64
"""Fewer files than this are scanned in-process: starting workers would cost more."""
BATCH = 24

Progress = Callable[[str | None, int | None], None]


@attrs.frozen(slots=True)
class Def:
    """A definition as retrieval sees it."""

    id: int
    name: str
    qualname: str
    kind: str
    path: str
    start_line: int
    end_line: int
    summary: str
    rank: float


@attrs.define
class IndexReport:
    """What a refresh found and did (printed by ``hermes-lsp index``)."""

    root: str
    files: int = 0
    """Files in the index (including those left out for a reason)."""
    indexed: int = 0
    """Files scanned this time (the rest came from the cache)."""
    removed: int = 0
    definitions: int = 0
    skipped: dict[str, int] = attrs.Factory(dict)
    languages: dict[str, int] = attrs.Factory(dict)
    unreadable_dirs: list[str] = attrs.Factory(list)
    seconds: float = 0.0
    cache: str | None = None
    workers: int = 0


def _pool_context() -> multiprocessing.context.BaseContext:
    """Workers come from a fork server that preloads the scanner (not fork: the server has
    threads that must not be copied; not spawn: it would re-run the caller's main module)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["hermes_lsp.context.walk"])
    return context


def _format_count(n: int) -> str:
    return f"{n:,}"


class Index:
    """Definitions of a workspace, on disk and in memory."""

    def __init__(
        self, root: str, store: Store, max_bytes: int, exclude: Iterable[str] = (), workers: int | None = None
    ) -> None:
        self.root = root
        self.store = store
        self.max_bytes = max_bytes
        self.exclude = list(exclude)
        self.workers = workers if workers is not None else min(os.cpu_count() or 1, 4)
        self.by_name: dict[str, tuple[Def, ...]] = {}
        self.by_path: dict[str, tuple[Def, ...]] = {}
        self.by_module: dict[str, tuple[str, ...]] = {}
        """How an import may name a file (``a.b.c``, ``b/c``, ``c``) -> the files it may mean."""
        self._write_lock = threading.Lock()

    # -- building ------------------------------------------------------------------------

    def refresh(
        self, progress: Progress | None = None, cancelled: threading.Event | None = None
    ) -> IndexReport:
        """Bring the cache up to date with the workspace and load it. Safe to call again."""
        started = time.perf_counter()
        say = progress or (lambda message, percent: None)
        report = IndexReport(self.root, cache=self.store.path)
        walked = walk(self.root, self.exclude)
        report.unreadable_dirs = walked.unreadable
        known = self.store.file_states()
        todo: list[tuple[str, str | None]] = []
        for rel in walked.files:
            state = known.get(rel)
            if state is not None and state[1] >= 0:
                try:
                    st = os.stat(os.path.join(self.root, rel))
                except OSError:
                    todo.append((rel, None))  # vanished since the walk: the scan records that
                    continue
                if st.st_size == state[1] and st.st_mtime_ns == state[2]:
                    continue
            todo.append((rel, state[3] if state else None))
        present = set(walked.files)
        removed = [path for path in known if path not in present]
        report.removed = len(removed)
        with self._write_lock:
            if removed:
                self.store.write([], removed)
            self._scan(todo, say, report, cancelled)
        changed = bool(todo or removed)
        if changed or not self.store.ranked():
            say("Ranking definitions", None)
            self._rank()
        self.load()
        states = self.store.file_states()
        report.files = len(states)
        for _, _, _, _, skipped in states.values():
            if skipped:
                report.skipped[skipped] = report.skipped.get(skipped, 0) + 1
        report.definitions = sum(len(defs) for defs in self.by_path.values())
        for path in self.by_path:
            language = os.path.splitext(path)[1]
            report.languages[language] = report.languages.get(language, 0) + 1
        report.seconds = time.perf_counter() - started
        return report

    def _scan(
        self,
        todo: list[tuple[str, str | None]],
        say: Progress,
        report: IndexReport,
        cancelled: threading.Event | None,
    ) -> None:
        total = len(todo)
        if not total:
            return
        done = 0
        workers = self.workers if total >= POOL_THRESHOLD else 0
        report.workers = workers
        say(f"Indexing 0/{_format_count(total)} files", 0)

        def results() -> Iterable[list[Scanned]]:
            if workers <= 0:
                for batch in iter_batches(todo, BATCH):
                    yield scan_batch(self.root, batch, self.max_bytes)
                return
            context = _pool_context()
            with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
                futures = [
                    pool.submit(scan_batch, self.root, batch, self.max_bytes)
                    for batch in iter_batches(todo, BATCH)
                ]
                try:
                    for future in futures:
                        yield future.result()
                finally:
                    for future in futures:
                        future.cancel()

        for scanned in results():
            if cancelled is not None and cancelled.is_set():
                return
            self.store.write(scanned)
            report.indexed += sum(1 for item in scanned if item.skipped != "unchanged")
            done += len(scanned)
            say(f"Indexing {_format_count(done)}/{_format_count(total)} files", done * 100 // total)

    def _rank(self) -> None:
        paths = self.store.file_paths()
        definers: dict[str, set[int]] = {}
        for fid, name in self._definition_names():
            definers.setdefault(name, set()).add(fid)
        file_ranks, def_ranks = ranking.pagerank(paths, self.store.reference_counts(), definers)
        self.store.write_ranks(file_ranks, def_ranks)

    def _definition_names(self) -> list[tuple[int, str]]:
        with self.store.lock:
            return self.store.db.execute("SELECT DISTINCT file_id, name FROM defs").fetchall()

    def load(self) -> None:
        """Read every definition into memory (a fresh view, swapped in whole)."""
        by_name: dict[str, list[Def]] = {}
        by_path: dict[str, list[Def]] = {}
        for row in self.store.definitions():
            item = Def(*row)
            by_name.setdefault(item.name, []).append(item)
            by_path.setdefault(item.path, []).append(item)
        self.by_name = {name: tuple(items) for name, items in by_name.items()}
        self.by_path = {path: tuple(items) for path, items in by_path.items()}
        self.by_module = module_map(self.by_path)
        # Tens of thousands of long-lived records: keep them out of the cyclic collector's
        # young generations, whose pauses would otherwise land on keystrokes.
        gc.collect()
        gc.freeze()

    # -- keeping current -----------------------------------------------------------------

    def update_file(self, rel: str, scanned: Scanned | None = None, dirty: bool = False) -> None:
        """Re-scan one file (or store ``scanned``, e.g. tags of an unsaved buffer).

        A path the walk would leave out (ignored, or resolving outside the workspace) is
        dropped from the index instead: saving or editing a file never lets it in.
        """
        if contained(self.root, rel) is None:
            scanned = Scanned(rel, 0, 0, "", "", skipped="outside")
        elif is_ignored(self.root, rel, self.exclude):
            scanned = Scanned(rel, 0, 0, "", "", skipped="ignored")
        elif scanned is None:
            scanned = scan_file(self.root, rel, self.max_bytes)
        with self._write_lock:
            if scanned.skipped in ("vanished", "unreadable", "outside", "ignored"):
                self.store.write([], [rel])
            else:
                self.store.write([scanned], dirty=dirty)
            self.store.mark_unranked()
            self._reload_path(rel)

    def _reload_path(self, rel: str) -> None:
        old = {d.name: d.rank for d in self.by_path.get(rel, ())}
        # Ranks of a changed file are stale until the next full refresh; keep the old ones.
        fresh = tuple(
            attrs.evolve(Def(*row), rank=old.get(row[1], 0.0)) for row in self.store.definitions_in(rel)
        )
        touched = {d.name for d in self.by_path.get(rel, ())} | {d.name for d in fresh}
        if fresh:
            known = rel in self.by_path
            self.by_path[rel] = fresh
            if not known:
                self.by_module = module_map(self.by_path)
        else:
            self.by_path.pop(rel, None)
        for name in touched:
            others = tuple(d for d in self.by_name.get(name, ()) if d.path != rel)
            mine = tuple(d for d in fresh if d.name == name)
            merged = tuple(sorted(others + mine, key=lambda d: (d.path, d.start_line)))
            if merged:
                self.by_name[name] = merged
            else:
                self.by_name.pop(name, None)

    # -- lookups -------------------------------------------------------------------------

    def references(self, name: str) -> list[tuple[str, list[int]]]:
        return [
            (path, [int(n) for n in lines.split(",") if n]) for path, lines in self.store.references(name)
        ]

    def references_in(self, path: str) -> dict[str, list[int]]:
        """Names ``path`` uses (as its tags query sees them) -> 1-based lines."""
        rows = self.store.references_in(path)
        return {name: [int(n) for n in lines.split(",") if n] for name, lines in rows}

    # -- lookups for the personalised ranking (context/neighbourhood.py) -------------------

    def use_counts(self, path: str) -> dict[str, int] | None:
        """Names ``path`` uses -> how many lines use each (no line numbers: cheaper).

        ``None`` while the store is busy writing: this runs on the event loop, which must
        not wait for a batch of the background build.
        """
        if not self.store.lock.acquire(blocking=False):
            return None
        try:
            rows = self.store.references_in(path)
        finally:
            self.store.lock.release()
        return {name: lines.count(",") + 1 for name, lines in rows if lines}

"""The workspace symbol index: built in worker processes, then kept current file by file.

:class:`Index` owns the SQLite :class:`~hermes_lsp.context.store.Store` and exposes it to
retrieval as three read-only mappings (:mod:`~hermes_lsp.context.lookup`) that query the
database and keep only what is hot in memory: a warm start opens the database and is
ready. :meth:`Index.refresh` compares the workspace with the cache (size and mtime, then
content hash) and scans what changed, nearest the open files first. Scanning happens in
worker processes that write their results to the database themselves (so no syntax
trees or tags cross a process boundary), and ranking runs in a worker as well: tree-sitter
and PageRank hold the GIL, and the server's event loop must not wait for them. Only one
process refreshes a database at a time; another server sharing it reads meanwhile and
refreshes after it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import gc
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

import attrs

from hermes_lsp.context import rank as ranking
from hermes_lsp.context.lookup import Def, Views
from hermes_lsp.context.modules import module_forms
from hermes_lsp.context.store import RefreshLock, Store
from hermes_lsp.context.walk import (
    Scanned,
    contained,
    is_ignored,
    iter_batches,
    scan_batch,
    scan_file,
    storable,
    walk,
)

__all__ = ["Def", "Index", "IndexReport", "nearest_first"]

log = logging.getLogger(__name__)

MAX_WORKERS = 4
"""Most worker processes a refresh starts by default."""
POOL_THRESHOLD = 64
"""Fewer files than this are scanned in-process: starting workers would cost more."""
BATCH = 32
IN_FLIGHT = 2
"""Batches queued per worker: enough to keep it busy, few enough that a file opened
meanwhile is scanned next rather than after everything already submitted."""
HOT_IN_PROCESS = 48
"""Open files and what they import are scanned before the workers are even started."""
LOCK_POLL_S = 0.5

Progress = Callable[[str | None, int | None], None]
Hot = Callable[[], tuple[Sequence[str], frozenset[str]]]
"""The open files (relative paths) and the module tokens their imports name."""


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
    waited_s: float = 0.0
    """Time spent waiting for another process's refresh of the same cache."""
    cpu_s: float = 0.0
    """Processor time of this refresh: this process's and its workers' (not their start-up)."""


def available_cpus() -> int:
    """Processors this process may run on: its affinity (``taskset``, a container's CPU
    set), not the machine's count, where the system says."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - systems without affinity
        return os.cpu_count() or 1


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Scanning and ranking allocate millions of short-lived objects and make no reference
    cycles, yet each burst of allocations sends the cyclic collector over every object
    alive (about 6% of a cold index on one core); it resumes when the work is done."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _pool_context() -> multiprocessing.context.BaseContext:
    """Workers come from a fork server that preloads the scanner (not fork: the server has
    threads that must not be copied; not spawn: it would re-run the caller's main module)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["hermes_lsp.context.index"])
    return context


# -- worker processes --------------------------------------------------------------------

_worker_stores: dict[str, Store] = {}


def _worker_store(database: str) -> Store:
    store = _worker_stores.get(database)
    if store is None:
        store = _worker_stores[database] = Store(database)
    return store


def scan_into(
    database: str, root: str, batch: list[tuple[str, str | None]], max_bytes: int
) -> tuple[int, float]:
    """Worker entry point: scan a batch and write it to ``database``; how many were
    scanned, and the processor time it took (for the report)."""
    started = time.process_time()
    with collector_paused():
        scanned = scan_batch(root, batch, max_bytes)
        _worker_store(database).write(scanned, forms=module_forms)
    return sum(1 for item in scanned if item.skipped != "unchanged"), time.process_time() - started


def rank_into(database: str) -> float:
    """Worker entry point: rank every definition in ``database`` and store the ranks."""
    started = time.process_time()
    rank_store(_worker_store(database))
    return time.process_time() - started


def rank_store(store: Store) -> None:
    with collector_paused():
        _rank_paused(store)


def _rank_paused(store: Store) -> None:
    # Its own frame: what ranking reads is freed before the collector resumes, which
    # would otherwise walk every one of its objects at its next pass.
    file_ranks, def_ranks = ranking.rank(store.ranking_input())
    store.write_ranks(file_ranks, def_ranks)


# -- order of work -----------------------------------------------------------------------


def _folder_distance(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return len(a) + len(b) - 2 * common


def nearest_first(paths: Sequence[str], open_paths: Sequence[str], tokens: frozenset[str]) -> list[str]:
    """``paths`` in the order to index them: the open files, the files their imports
    name, then by how many folders away from the nearest open file (stable otherwise)."""
    if not open_paths and not tokens:
        return list(paths)
    opened = set(open_paths)
    folders = {tuple(p.split("/")[:-1]) for p in open_paths}

    def key(path: str) -> tuple[int, int]:
        if path in opened:
            return (0, 0)
        if tokens and any(form in tokens for form in module_forms(path)):
            return (1, 0)
        if not folders:
            return (2, 0)
        here = tuple(path.split("/")[:-1])
        return (2, min(_folder_distance(here, folder) for folder in folders))

    return sorted(paths, key=key)


def _format_count(n: int) -> str:
    return f"{n:,}"


class Index:
    """Definitions of a workspace: on disk, with what is hot in memory."""

    def __init__(
        self,
        root: str,
        store: Store,
        max_bytes: int,
        exclude: Iterable[str] = (),
        workers: int | None = None,
        lookups_while_building: bool = True,
    ) -> None:
        self.root = root
        self.store = store
        self.max_bytes = max_bytes
        self.exclude = list(exclude)
        self.workers = workers if workers is not None else min(available_cpus(), MAX_WORKERS)
        """Worker processes that scan and rank; 0: this process does it all (the command
        line on one processor). A server keeps at least one: its event loop must not share
        the GIL with tree-sitter."""
        self.lookups_while_building = lookups_while_building
        """Whether this process looks names up during a first build (a server answering
        completions does); if not, the build sorts the name indexes in once at the end."""
        self.views = Views(store)
        self.refresh_lock = RefreshLock(store.path)
        self._write_lock = threading.Lock()

    @property
    def by_name(self) -> Mapping[str, Sequence[Def]]:
        """Name -> its definitions, by path and line."""
        return self.views.by_name

    @property
    def by_path(self) -> Mapping[str, Sequence[Def]]:
        """File -> its definitions, by line (files without any are absent)."""
        return self.views.by_path

    @property
    def by_module(self) -> Mapping[str, Sequence[str]]:
        """How an import may name a file (``a.b.c``, ``b/c``, ``c``) -> the files it may mean."""
        return self.views.by_module

    # -- building ------------------------------------------------------------------------

    def refresh(
        self,
        progress: Progress | None = None,
        cancelled: threading.Event | None = None,
        hot: Hot | None = None,
    ) -> IndexReport:
        """Bring the cache up to date with the workspace. Safe to call again.

        When another process is refreshing the same cache, wait for it (reading its
        results meanwhile: lookups go to the database) and then check what is left.
        """
        started = time.perf_counter()
        cpu = time.process_time()
        say = progress or (lambda message, percent: None)
        report = IndexReport(self.root, cache=self.store.path)
        if not self.refresh_lock.acquire():
            say("Waiting for another window's indexing", None)
            while not self.refresh_lock.acquire():
                if cancelled is not None and cancelled.wait(LOCK_POLL_S):
                    return report
                if cancelled is None:
                    time.sleep(LOCK_POLL_S)
            report.waited_s = time.perf_counter() - started
        try:
            self._refresh(report, say, cancelled, hot)
        finally:
            self.refresh_lock.release()
        report.seconds = time.perf_counter() - started
        report.cpu_s += time.process_time() - cpu
        return report

    def _refresh(
        self, report: IndexReport, say: Progress, cancelled: threading.Event | None, hot: Hot | None
    ) -> None:
        walked = walk(self.root, self.exclude)
        report.unreadable_dirs = walked.unreadable
        known = self.store.file_states()
        digests: dict[str, str | None] = {}
        for rel in walked.files:
            state = known.get(rel)
            if state is not None and state[1] >= 0:
                try:
                    st = os.stat(os.path.join(self.root, rel))
                except OSError:
                    digests[rel] = None  # vanished since the walk: the scan records that
                    continue
                if st.st_size == state[1] and st.st_mtime_ns == state[2]:
                    continue
            digests[rel] = state[3] if state else None
        present = set(walked.files)
        removed = [path for path in known if path not in present]
        report.removed = len(removed)
        with self._write_lock:
            if removed:
                self.store.write([], removed)
            first = False
            try:
                if digests:
                    say(f"Indexing 0/{_format_count(len(digests))} files", 0)
                    # May wait for another process's write: said first.
                    first = self.store.start_bulk(self.lookups_while_building)
                    self._scan(digests, say, report, cancelled, hot)
            finally:
                if first:
                    say("Indexing names", None)
                # Every time: also makes what a first build stopped before its end left out.
                self.store.finish_bulk()
        if cancelled is not None and cancelled.is_set():
            return
        if digests or removed or not self.store.ranked():
            say("Ranking definitions", None)
            report.cpu_s += self._rank()
        self.views.forget_all(self.store.data_version())
        self._count(report)
        if walked.undecodable:
            report.skipped["name not UTF-8"] = walked.undecodable

    def _count(self, report: IndexReport) -> None:
        states = self.store.file_states()
        report.files = len(states)
        for _, _, _, _, skipped in states.values():
            if skipped:
                report.skipped[skipped] = report.skipped.get(skipped, 0) + 1
        report.definitions = self.store.definition_count()
        for path in self.store.defining_paths():
            language = os.path.splitext(path)[1]
            report.languages[language] = report.languages.get(language, 0) + 1

    def _scan(
        self,
        digests: dict[str, str | None],
        say: Progress,
        report: IndexReport,
        cancelled: threading.Event | None,
        hot: Hot | None,
    ) -> None:
        total = len(digests)
        done = 0

        def record(count: int, scanned: int) -> None:
            nonlocal done
            report.indexed += scanned
            done += count
            self.views.forget_all(self.store.data_version())
            say(f"Indexing {_format_count(done)}/{_format_count(total)} files", done * 100 // total)

        def scan_here(paths: list[str]) -> None:
            for batch in iter_batches([(rel, digests[rel]) for rel in paths], BATCH):
                if cancelled is not None and cancelled.is_set():
                    return
                with collector_paused():
                    scanned = scan_batch(self.root, batch, self.max_bytes)
                    self.store.write(scanned, forms=module_forms)
                record(len(batch), sum(1 for item in scanned if item.skipped != "unchanged"))

        pending = list(digests)
        if hot is not None:
            # The open files and what they import first, here and now: they are what the
            # next completion asks about, and the workers take a moment to start.
            pending = nearest_first(pending, *hot())
            first, pending = _split_hot(pending, hot)
            scan_here(first)
        workers = self.workers if len(pending) >= POOL_THRESHOLD and self.store.path is not None else 0
        report.workers = workers
        if workers <= 0:
            scan_here(pending)
            return
        assert self.store.path is not None
        for count, (scanned, cpu) in self._pooled(pending, digests, workers, cancelled, hot):
            report.cpu_s += cpu
            record(count, scanned)

    def _pooled(
        self,
        pending: list[str],
        digests: dict[str, str | None],
        workers: int,
        cancelled: threading.Event | None,
        hot: Hot | None,
    ) -> Iterator[tuple[int, tuple[int, float]]]:
        """Scan in worker processes, a few batches ahead; yields (files, (scanned, processor
        time)) per batch."""
        database = self.store.path
        assert database is not None
        seen_hot = hot() if hot is not None else None
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=_pool_context()) as pool:
            running: dict[concurrent.futures.Future[tuple[int, float]], int] = {}
            try:
                while pending or running:
                    if cancelled is not None and cancelled.is_set():
                        return
                    if hot is not None:
                        now = hot()
                        if now != seen_hot:  # a file was opened: its neighbourhood goes next
                            seen_hot = now
                            pending = nearest_first(pending, *now)
                    while pending and len(running) < workers * IN_FLIGHT:
                        batch, pending = pending[:BATCH], pending[BATCH:]
                        future = pool.submit(
                            scan_into, database, self.root, [(r, digests[r]) for r in batch], self.max_bytes
                        )
                        running[future] = len(batch)
                    finished, _ = concurrent.futures.wait(
                        running, timeout=LOCK_POLL_S, return_when=concurrent.futures.FIRST_COMPLETED
                    )
                    for future in finished:
                        yield running.pop(future), future.result()
            finally:
                for future in running:
                    future.cancel()

    def _rank(self) -> float:
        """Rank every definition; the processor time spent in a worker (0 when in-process)."""
        if self.store.path is None or self.workers <= 0:
            rank_store(self.store)
            return 0.0
        # PageRank is pure Python: in a worker it does not slow the server's event loop.
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=_pool_context()) as pool:
            return pool.submit(rank_into, self.store.path).result()

    # -- keeping current -----------------------------------------------------------------

    def update_file(self, rel: str, scanned: Scanned | None = None, dirty: bool = False) -> None:
        """Re-scan one file (or store ``scanned``, e.g. tags of an unsaved buffer).

        A path the walk would leave out (ignored, or resolving outside the workspace) is
        dropped from the index instead: saving or editing a file never lets it in.
        """
        if not storable(rel):
            return  # never in the index (the walk leaves it out too)
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
                self.store.write([scanned], dirty=dirty, forms=module_forms)
            self.store.mark_unranked()
            self.views.forget_all(self.store.data_version())

    # -- lookups -------------------------------------------------------------------------

    def warm(self, path: str, tokens: Iterable[str]) -> list[str]:
        """Bring into memory the definitions of a document and of the files its imports
        name (``tokens``); returns those files (the document's first), where the cursor's
        personalised walk starts."""
        self.by_path.get(path)
        files = [path]
        for token in tokens:
            for module in self.by_module.get(token, ()):
                self.by_path.get(module)
                files.append(module)
        return files

    def references(self, name: str) -> list[tuple[str, list[int]]]:
        return [
            (path, [int(n) for n in lines.split(",") if n]) for path, lines in self.store.references(name)
        ]

    def references_in(self, path: str) -> dict[str, list[int]]:
        """Names ``path`` uses (as its tags query sees them) -> 1-based lines."""
        rows = self.store.references_in(path)
        return {name: [int(n) for n in lines.split(",") if n] for name, lines in rows}

    # -- lookups for the personalised ranking (context/neighbourhood.py) -------------------

    def most_used(self, path: str, limit: int) -> dict[str, int]:
        """The ``limit`` names ``path`` uses on most lines -> on how many lines.

        Reads go to this thread's own connection, which WAL never makes wait for a write:
        the answer is always there (the ``None`` of the protocol is never needed).
        """
        return self.store.most_used(path, limit)

    def definers_of(self, names: Sequence[str], limit: int) -> dict[str, tuple[str, ...]]:
        return self.store.definers_of(names, limit)

    def ranked_in(self, path: str, limit: int) -> tuple[tuple[Def, ...], float]:
        rows, total = self.store.ranked_in(path, limit)
        return tuple(Def(*row) for row in rows), total


def _split_hot(ordered: list[str], hot: Hot) -> tuple[list[str], list[str]]:
    """The leading open and imported files of an ordered list (at most a few dozen), and the rest."""
    open_paths, tokens = hot()
    opened = set(open_paths)
    count = 0
    for path in ordered[:HOT_IN_PROCESS]:
        if path not in opened and not (tokens and any(f in tokens for f in module_forms(path))):
            break
        count += 1
    return ordered[:count], ordered[count:]

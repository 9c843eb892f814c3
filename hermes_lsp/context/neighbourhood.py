"""The cursor's neighbourhood in the reference graph, ranked for this query.

The global ranking (:mod:`hermes_lsp.context.rank`) says which definitions matter to the
repository as a whole; it cannot tell what matters to the code being written. Here a
personalised walk starts at the files the cursor's code leads to (the definers of the
identifiers around it, weighted by closeness, and the files its imports name) and
spreads along the files those use. Definitions of the files it settles on, in order of
the mass that reached them, are what a larger budget adds after the names at the cursor.

Reading a file's edges is a query to the index: :class:`FileGraph` keeps them for the
files used lately and allows only a few fresh reads per query, so a keystroke in a new
part of the repository stays cheap and the ranking improves as the user stays there.
"""

from __future__ import annotations

import heapq
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

from hermes_lsp.context.index import Def
from hermes_lsp.context.languages import may_use, same_family
from hermes_lsp.context.rank import (
    MAX_DEFINERS,
    MAX_PUSHES,
    NAMES_PER_FILE,
    FileEdges,
    file_edges,
    local_push,
    name_weight,
)
from hermes_lsp.context.store import RANK_FLOOR

_T = TypeVar("_T")

CACHED_FILES = 512
"""Files whose edges and ordered definitions are kept (a few MB at most)."""
READS_PER_QUERY = 3
"""Fresh edge reads from the index allowed in one query; cached files cost nothing."""
RANKED_FILES = 32
"""Files of the walk whose definitions are considered."""
DEFS_PER_FILE = 16
"""Definitions considered per file of the walk for a budget of about 1,000 tokens (more for more)."""
IMPORT_SEED = 1.0
"""Seed weight of a file an import names (a nearby identifier weighs up to about 1 per line)."""


class IndexView(Protocol):
    """What the neighbourhood reads from the index: lean queries, no summaries for files
    it only passes through."""

    by_name: Mapping[str, Sequence[Def]]
    """Its identity changes when the index changes (then the graph forgets)."""

    def most_used(self, path: str, limit: int) -> dict[str, int] | None:
        """The ``limit`` names ``path`` uses most -> lines using each (None: not now)."""
        ...

    def definers_of(self, names: Sequence[str], limit: int) -> Mapping[str, Sequence[str]]:
        """Files defining each name, by path, at most ``limit`` of them."""
        ...

    def ranked_in(self, path: str, limit: int) -> tuple[Sequence[Def], float]:
        """The ``limit`` best-ranked definitions of ``path`` and the file's total weight."""
        ...


class FileGraph:
    """Edges and best definitions of recently used files, read from an index on demand.

    The event loop and the look-ahead thread (which reads the edges of a file just
    opened) share it: the caches change under a lock, the index is read outside it.
    """

    def __init__(self, index: IndexView, size: int = CACHED_FILES) -> None:
        self.index = index
        self.size = size
        self._lock = threading.Lock()
        self._edges: OrderedDict[str, FileEdges] = OrderedDict()
        self._best: OrderedDict[str, tuple[tuple[tuple[Def, float], ...], bool]] = OrderedDict()
        self._definers: dict[str, tuple[str, ...]] = {}
        self._view: Mapping[str, Sequence[Def]] = index.by_name

    def sync(self) -> None:
        """Forget everything if the index loaded a new view since the last query."""
        if self.index.by_name is not self._view:
            self._view = self.index.by_name
            self.forget()

    def forget(self) -> None:
        """Drop what is cached (the index changed); swapped, not cleared, for readers."""
        with self._lock:
            self._edges = OrderedDict()
            self._best = OrderedDict()
            self._definers = {}

    def definers(self, name: str) -> tuple[str, ...]:
        """The files defining ``name`` (empty past a dozen: such a name says little)."""
        found = self._definers.get(name)
        if found is None:
            found = self.learn_definers((name,)).get(name, ())
        return found

    def learn_definers(self, names: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """:meth:`definers` of many names, the unknown ones read in one query."""
        known = self._definers
        out: dict[str, tuple[str, ...]] = {}
        missing = []
        for name in names:
            found = known.get(name)
            if found is None:
                missing.append(name)
            else:
                out[name] = found
        if missing:
            read = self.index.definers_of(missing, MAX_DEFINERS + 1)
            with self._lock:
                if len(self._definers) > 16 * self.size:
                    self._definers = {}
                for name in missing:
                    paths = tuple(read.get(name, ()))
                    out[name] = self._definers[name] = paths if len(paths) <= MAX_DEFINERS else ()
        return out

    def reader(self, reads: int = READS_PER_QUERY) -> Callable[[str], FileEdges | None]:
        """An edge lookup for one query: cached files always, at most ``reads`` fresh ones."""
        left = [reads]

        def edges(path: str) -> FileEdges | None:
            found = self.cached_edges(path)
            if found is not None:
                return found
            if left[0] <= 0:
                return None
            left[0] -= 1
            return self._read_edges(path)

        return edges

    def _read_edges(self, path: str) -> FileEdges | None:
        # A hub that uses hundreds of names: its most used ones carry its edges.
        uses = self.index.most_used(path, NAMES_PER_FILE)
        if uses is None:
            return None  # the index is writing: not now, and not cached
        self.learn_definers(uses)
        found = file_edges(uses, lambda name: self._reachable(path, name), path)
        self._keep(self._edges, path, found)
        return found

    def _keep(self, cache: OrderedDict[str, _T], path: str, value: _T) -> None:
        """Put ``value`` in one of the bounded caches, dropping the least recently used."""
        with self._lock:
            cache[path] = value
            if len(cache) > self.size:
                cache.popitem(last=False)

    def prefetch(self, paths: Iterable[str]) -> None:
        """Read the edges of ``paths`` now (off the event loop), so that the walks of the
        next queries start from memory."""
        for path in paths:
            if self.cached_edges(path) is None:
                self._read_edges(path)

    def _reachable(self, source: str, name: str) -> tuple[str, ...]:
        """Definers of a name ``source`` uses that it can really mean: of its own language
        family, or of one other languages bind to (a name alone never joins Python to Lua)."""
        return tuple(path for path in self.definers(name) if may_use(source, path))

    def cached_edges(self, path: str) -> FileEdges | None:
        with self._lock:
            found = self._edges.get(path)
            if found is not None:
                self._edges.move_to_end(path)
            return found

    def best(self, path: str, count: int) -> tuple[tuple[Def, float], ...]:
        """The file's ``count`` best definitions by global rank, each with its share of the
        file's rank."""
        with self._lock:
            cached = self._best.get(path)
            if cached is not None:
                self._best.move_to_end(path)
        if cached is not None and (cached[1] or len(cached[0]) >= count):
            return cached[0][:count]
        # A page at least twice the usual ask: the next query's budget may ask a few more.
        wanted = max(count, 2 * DEFS_PER_FILE)
        defs, total = self.index.ranked_in(path, wanted)
        total = total or 1.0
        found = tuple((d, (RANK_FLOOR + d.rank) / total) for d in defs)
        self._keep(self._best, path, (found, len(found) < wanted))  # fewer: that is all of them
        return found[:count]


def seeds(
    current: str,
    names: Mapping[str, float],
    imported: Iterable[str],
    graph: FileGraph,
    linked: Callable[[str, str], bool],
) -> dict[str, float]:
    """Where the walk starts: the definers of the names at the cursor (by weight, shared
    among them) and the files the imports name; only files of the current file's language
    family or joined to it by a real link (``linked(path, name)``)."""
    out: dict[str, float] = {}
    known = graph.learn_definers(names)
    for name, weight in names.items():
        paths = known.get(name, ())
        if not paths:
            continue
        share = weight * name_weight(name, len(paths)) / len(paths)
        if share <= 0:
            continue
        for path in paths:
            if path != current and linked(path, name):
                out[path] = out.get(path, 0.0) + share
    for path in imported:
        if path != current and linked(path, ""):
            out[path] = out.get(path, 0.0) + IMPORT_SEED
    return out


def ranked_definitions(
    current: str,
    start: Mapping[str, float],
    graph: FileGraph,
    linked: Callable[[str, str], bool],
    tokens: int,
    reads: int = READS_PER_QUERY,
) -> list[tuple[float, Def]]:
    """Definitions of the walk's best files, best first: the walk's mass on the file times
    the definition's share of the file's global rank, plus what reached it by name.

    The walk's effort follows ``tokens``, the budget it is to fill (a definition costs
    about 32): a few files for the end of a small budget, the whole allowance for a large one.
    At most ``reads`` files not yet in memory have their edges read.
    """
    if not start:
        return []
    wanted = max(4, tokens // 32)
    ranked_files = min(RANKED_FILES, max(4, wanted // 2))
    per_file = max(DEFS_PER_FILE // 2, wanted // 2)
    pushes = min(MAX_PUSHES, max(4, ranked_files // 2))
    walk = local_push(start, graph.reader(reads), skip={current}, max_pushes=pushes)
    # Another family's file is kept only where the walk started from it (it was linked).
    best = heapq.nsmallest(ranked_files + 8, walk.files.items(), key=lambda item: (-item[1], item[0]))
    files = [
        (path, mass)
        for path, mass in best
        if path != current and (same_family(current, path) or path in start)
    ][:ranked_files]
    # Which names of those files the walk went through, and with how much mass.
    reached: dict[tuple[str, str], float] = {}
    for source, sent in walk.sent.items():
        edges = graph.cached_edges(source)
        if edges is None or not edges.total:
            continue
        unit = sent / edges.total
        for path, _ in files:
            for name, weight in edges.names.get(path, ()):
                reached[(path, name)] = reached.get((path, name), 0.0) + unit * weight
    out: list[tuple[float, Def]] = []
    for path, mass in files:
        for d, share in graph.best(path, per_file):
            flow = reached.get((path, d.name), 0.0)
            if d.qualname != d.name and not flow:
                continue  # a member nobody around here uses by name
            if linked(path, d.name):
                out.append((mass * share + flow, d))
    out.sort(key=lambda item: (-item[0], item[1].path, item[1].start_line))
    return out

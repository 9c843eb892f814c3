"""Ranking the repository: PageRank over the graph of who uses whose definitions.

Files are nodes; a file that uses a name defined in another file gets an edge to it,
weighted by how often it uses it (square-rooted, so one busy loop does not dominate)
and shared among the files that define that name. Private names (``_x``) and names
defined in several files count a tenth, and names defined in very many files
(``get``, ``__init__``) or shadowing a builtin (``str``) not at all: they say little
about which file is meant. A definition's rank is the share of rank that flows to it.

That global ranking is computed once per index refresh. A query adds a personalised one
(:func:`local_push`): a walk that restarts at the files the cursor's code leads to and
touches only their neighbourhood, so its cost does not grow with the repository.
"""

from __future__ import annotations

import array
import builtins
import heapq
import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

DAMPING = 0.85
ITERATIONS = 15
MAX_DEFINERS = 12
NAMES_PER_FILE = 128
"""Most names of one file that become edges (its most used ones)."""
# A call to str() or len() is not a use of some module's function that happens to share the name.
BUILTIN_NAMES = frozenset(name for name in dir(builtins) if not name.startswith("_"))


def name_weight(name: str, definers: int) -> float:
    if definers > MAX_DEFINERS or name in BUILTIN_NAMES:
        return 0.0
    weight = 1.0
    if name.startswith("_"):
        weight *= 0.1
    if definers > 3:
        weight *= 0.1
    return weight


@attrs.define
class RankingInput:
    """What the global ranking reads: every file, who defines each name, who uses it and
    how often, the names numbered as they arrive and the rows in flat arrays, so that the
    ranking runs as array operations with no grouping of rows in Python first.

    Rows are added a column at a time (``map`` over the rows of a query): the loop then
    runs in C, where a loop of ours cost half a microsecond a row."""

    files: list[int] = attrs.Factory(list)
    """Every file's id (a node, whether or not it defines or uses anything)."""
    numbers: dict[str, int] = attrs.Factory(dict)
    """Name -> its number: distinct, in the order names came, not contiguous (each row
    draws one from a counter and a name keeps the first it drew)."""
    def_name: array.array[int] = attrs.Factory(lambda: array.array("q"))
    def_file: array.array[int] = attrs.Factory(lambda: array.array("q"))
    use_file: array.array[int] = attrs.Factory(lambda: array.array("q"))
    use_name: array.array[int] = attrs.Factory(lambda: array.array("q"))
    use_count: array.array[int] = attrs.Factory(lambda: array.array("q"))
    _counter: Iterator[int] = attrs.Factory(itertools.count)

    def _numbered(self, names: Iterable[str]) -> Iterator[int]:
        return map(self.numbers.setdefault, names, self._counter)

    def add_definitions(self, names: Iterable[str], files: Iterable[int]) -> None:
        """Rows of (name, file defining it), as two columns; a name a file defines twice
        counts once."""
        self.def_name.extend(self._numbered(names))
        self.def_file.extend(files)

    def add_uses(self, files: Iterable[int], names: Iterable[str], counts: Iterable[int]) -> None:
        """Rows of (file, name it uses, on how many lines), as three columns."""
        self.use_file.extend(files)
        self.use_name.extend(self._numbered(names))
        self.use_count.extend(counts)


def rank(given: RankingInput) -> tuple[dict[int, float], dict[tuple[int, str], float]]:
    """File ranks and (file, name) definition ranks, both averaging 1 over the files.

    Each use of a name by a file is one edge per other file defining it (a monorepo has
    about a million); the power iteration and the sums over edges run as array operations,
    since in Python they were most of a first build's ranking."""
    import numpy as np  # here: only ranking needs it, and a server imports it in a worker

    nodes = given.files
    count = len(nodes)
    if not count:
        return {}, {}
    # Names numbered 0..n-1 (the input's numbers have gaps).
    names = list(given.numbers)
    drawn = np.fromiter(given.numbers.values(), dtype=np.int64, count=len(names))
    compact = np.zeros(int(drawn.max()) + 1 if len(drawn) else 0, dtype=np.int64)
    compact[drawn] = np.arange(len(names))
    ids = np.array(nodes, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    ordered = ids[order]

    def position(files: Any) -> Any:
        """Each file id's node, -1 for a file that is not one."""
        at = np.minimum(np.searchsorted(ordered, files), count - 1)
        return np.where(ordered[at] == files, order[at], -1)

    # Who defines each name, once per file, sorted by name: name i's definers are
    # targets[start[i]:start[i] + size[i]] (files no longer indexed count, as -1).
    def_name = compact[np.frombuffer(given.def_name, dtype=np.int64)]
    def_file = np.frombuffer(given.def_file, dtype=np.int64)
    if len(def_name):
        span = int(def_file.max()) + 1  # file ids are positive
        pairs = _distinct(def_name * span + def_file)
        def_name, def_file = pairs // span, pairs % span
    size = np.bincount(def_name, minlength=len(names))
    start = np.zeros(len(names), dtype=np.int64)
    np.cumsum(size[:-1], out=start[1:])
    targets = position(def_file)
    use_file = position(np.frombuffer(given.use_file, dtype=np.int64))
    use_name = compact[np.frombuffer(given.use_name, dtype=np.int64)]
    use_count = np.frombuffer(given.use_count, dtype=np.int64)
    # The weight of each name some file uses, shared among the files defining it.
    weight = np.zeros(len(names), dtype=np.float64)
    used = _distinct(use_name[size[use_name] > 0])
    weight[used] = [name_weight(names[i], int(size[i])) for i in used.tolist()]
    weight[used] /= size[used]
    chosen = (use_file >= 0) & (weight[use_name] > 0)
    if not chosen.any():
        return dict.fromkeys(nodes, 1.0), {}
    use_file, use_name, use_count = use_file[chosen], use_name[chosen], use_count[chosen]
    # One row per (use, definer): repeat each use once per file defining its name.
    repeats = size[use_name]
    total_rows = int(repeats.sum())
    offsets = np.repeat(start[use_name] - (np.cumsum(repeats) - repeats), repeats) + np.arange(total_rows)
    edge_target = targets[offsets]
    edge_source = np.repeat(use_file, repeats)
    edge_name = np.repeat(use_name, repeats)
    edge_weight = np.repeat(weight[use_name] * np.sqrt(use_count), repeats)
    keep = (edge_target != edge_source) & (edge_target >= 0)
    edge_target, edge_source, edge_name, edge_weight = (
        edge_target[keep],
        edge_source[keep],
        edge_name[keep],
        edge_weight[keep],
    )
    out_total = np.bincount(edge_source, weights=edge_weight, minlength=count)
    dangling = out_total == 0
    share = edge_weight / np.where(dangling, 1.0, out_total)[edge_source]
    ranks = np.full(count, 1.0 / count)
    for _ in range(ITERATIONS):
        spread = np.bincount(edge_target, weights=DAMPING * ranks[edge_source] * share, minlength=count)
        ranks = ((1 - DAMPING) + DAMPING * ranks[dangling].sum()) / count + spread
    # What flows to each (file, name): the using files' rank along their edges for it.
    flow = ranks[edge_source] * count * share
    key = edge_target * len(names) + edge_name
    keys, inverse = np.unique(key, return_inverse=True)
    sums = np.bincount(inverse, weights=flow)
    def_rank = {
        (nodes[k // len(names)], names[k % len(names)]): value
        for k, value in zip(keys.tolist(), sums.tolist(), strict=True)
    }
    return dict(zip(nodes, (ranks * count).tolist(), strict=True)), def_rank


def _distinct(values: Any) -> Any:
    """The distinct integers of an array, sorted. ``np.unique`` hashes them first in
    numpy 2, which costs several times a sort for the half million of a large tree."""
    import numpy as np

    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


# -- personalised ranking ------------------------------------------------------------------

Edge = tuple[str, str, float]
"""(target file, name it defines that the source uses, weight)."""


@attrs.frozen
class FileEdges:
    """A file's out-edges, by target (what the walk needs) and by (target, name) (what says
    which of the target's definitions the file uses)."""

    targets: tuple[str, ...]
    weights: tuple[float, ...]
    """Summed over the names, one per target."""
    names: dict[str, tuple[tuple[str, float], ...]]
    """Target -> (name, weight) of each name the file uses from it."""
    total: float


NO_EDGES = FileEdges((), (), {}, 0.0)

PUSH_ALPHA = 0.3
"""Teleport probability of the personalised walk: high enough to stay near the seeds."""
PUSH_EPSILON = 0.002
"""Residual below which a file is not expanded: the walk stops where little mass arrives."""
MAX_PUSHES = 16
"""Most pushes for one query, whatever the repository's size."""


@attrs.frozen
class Personalised:
    """An approximate personalised PageRank around a set of seed files."""

    files: dict[str, float]
    """File -> estimated personalised rank (sums, with ``residual``, to about 1)."""
    sent: dict[str, float]
    """File -> walk mass it passed on along its edges (to tell which names the walk used)."""
    residual: float
    """Mass not yet settled: the estimate is within this (L1) of the exact ranking."""
    expanded: int
    """Pushes done (each reads one file's edges)."""


def local_push(
    seeds: Mapping[str, float],
    edges: Callable[[str], FileEdges | None],
    *,
    alpha: float = PUSH_ALPHA,
    epsilon: float = PUSH_EPSILON,
    max_pushes: int = MAX_PUSHES,
    skip: Container[str] = (),
) -> Personalised:
    """Personalised PageRank by local push (Andersen, Chung and Lang, 2006).

    Mass starts on the seeds (normalised); pushing a file keeps ``alpha`` of its residual
    and spreads the rest along its weighted edges. Only files holding more than
    ``epsilon`` residual are pushed, largest first, at most ``max_pushes`` times, so the
    cost depends on the neighbourhood, not on the repository. From a file without edges,
    or in ``skip`` (whose edges must not be read), the walk restarts at the seeds.
    ``edges`` may answer ``None`` (not available now, e.g. a read allowance is spent): that
    file's mass then stays unsettled, in the residual.
    """
    total = sum(value for value in seeds.values() if value > 0)
    if total <= 0:
        return Personalised({}, {}, 0.0, 0)
    restart = {node: value / total for node, value in seeds.items() if value > 0}
    residual = dict(restart)
    settled: dict[str, float] = {}
    sent: dict[str, float] = {}
    heap = [(-value, node) for node, value in residual.items()]
    heapq.heapify(heap)
    expanded = 0
    frozen: set[str] = set()
    while heap and expanded < max_pushes:
        negative, node = heapq.heappop(heap)
        mass = residual.get(node, 0.0)
        if mass <= epsilon or -negative != mass or node in frozen:
            continue  # below the threshold, an outdated heap entry, or unreadable now
        out = NO_EDGES
        if node not in skip:
            found = edges(node)
            if found is None:
                frozen.add(node)
                continue
            out = found
            expanded += 1
        residual[node] = 0.0
        settled[node] = settled.get(node, 0.0) + alpha * mass
        onward = (1.0 - alpha) * mass
        targets: Iterable[tuple[str, float]]
        if out.total > 0:
            sent[node] = sent.get(node, 0.0) + onward
            spread = onward / out.total
            targets = zip(out.targets, out.weights, strict=True)
        else:
            # A dead end (or a file not to be read): the walk starts again at the seeds.
            targets = ((seed, share) for seed, share in restart.items())
            spread = onward
        for target, weight in targets:
            value = residual.get(target, 0.0) + spread * weight
            residual[target] = value
            if value > epsilon:
                heapq.heappush(heap, (-value, target))
    left = sum(residual.values())
    # What is left would settle mostly where it stands: count alpha of it there.
    for node, value in residual.items():
        if value > 0:
            settled[node] = settled.get(node, 0.0) + alpha * value
    return Personalised(settled, sent, left, expanded)


def file_edges(uses: Mapping[str, int], definers: Callable[[str], Sequence[str]], source: str) -> FileEdges:
    """The edges of a file that uses ``uses`` (name -> count): to each file defining a name,
    weighted as :func:`rank` weighs them (square root of the uses, shared among the definers)."""
    by_target: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for name, count in uses.items():
        targets = definers(name)
        if not targets:
            continue
        weight = name_weight(name, len(targets))
        if not weight:
            continue
        weight *= math.sqrt(count) / len(targets)
        for target in targets:
            if target != source:
                by_target[target].append((name, weight))
    if not by_target:
        return NO_EDGES
    targets = tuple(sorted(by_target))
    weights = tuple(sum(weight for _, weight in by_target[target]) for target in targets)
    names = {target: tuple(by_target[target]) for target in targets}
    return FileEdges(targets, weights, names, sum(weights))

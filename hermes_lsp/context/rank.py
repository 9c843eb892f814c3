"""Ranking the repository: PageRank over the graph of who uses whose definitions.

Files are nodes; a file that uses a name defined in another file gets an edge to it,
weighted by how often it uses it (square-rooted, so one busy loop does not dominate)
and shared among the files that define that name. Private names (``_x``) and names
defined in several files count a tenth, and names defined in very many files
(``get``, ``__init__``) or shadowing a builtin (``str``) not at all: they say little
about which file is meant. A definition's rank is the share of rank that flows to it.
"""

from __future__ import annotations

import builtins
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping

DAMPING = 0.85
ITERATIONS = 15
MAX_DEFINERS = 12
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


def pagerank(
    files: Iterable[int],
    references: Iterable[tuple[int, str, int]],
    definers: Mapping[str, set[int]],
    personal: Mapping[int, float] | None = None,
) -> tuple[dict[int, float], dict[tuple[int, str], float]]:
    """File ranks and (file, name) definition ranks, both averaging 1 over the files."""
    nodes = list(files)
    if not nodes:
        return {}, {}
    position = {node: i for i, node in enumerate(nodes)}
    count = len(nodes)
    edges: dict[int, dict[tuple[int, str], float]] = defaultdict(dict)
    weights: dict[str, float] = {}
    for source, name, uses in references:
        targets = definers.get(name)
        if not targets or source not in position:
            continue
        weight = weights.get(name)
        if weight is None:
            weight = weights[name] = name_weight(name, len(targets)) / len(targets)
        if not weight:
            continue
        weight *= math.sqrt(uses)
        out = edges[source]
        for target in targets:
            if target != source and target in position:
                out[(target, name)] = out.get((target, name), 0.0) + weight
    # The iteration runs over file -> file edges with list indexes (the hot loop).
    graph: list[tuple[int, list[int], list[float], float]] = []
    for source, out in edges.items():
        collapsed: dict[int, float] = defaultdict(float)
        for (target, _), weight in out.items():
            collapsed[position[target]] += weight
        total = sum(collapsed.values())
        if total:
            graph.append((position[source], list(collapsed), list(collapsed.values()), total))
    has_out = [False] * count
    for index, _, _, _ in graph:
        has_out[index] = True
    base = [1.0 / count] * count
    if personal:
        norm = sum(personal.values()) or 1.0
        base = [personal.get(node, 0.0) / norm for node in nodes]
    rank = [1.0 / count] * count
    for _ in range(ITERATIONS):
        dangling = sum(value for value, out in zip(rank, has_out, strict=True) if not out)
        nxt = [((1 - DAMPING) + DAMPING * dangling) * b for b in base]
        for index, targets, target_weights, total in graph:
            share = DAMPING * rank[index] / total
            for target, weight in zip(targets, target_weights, strict=True):
                nxt[target] += share * weight
        rank = nxt
    def_rank: dict[tuple[int, str], float] = defaultdict(float)
    for index, _, _, total in graph:
        source = nodes[index]
        flow = rank[index] * count / total
        for key, weight in edges[source].items():
            def_rank[key] += flow * weight
    return {node: rank[i] * count for i, node in enumerate(nodes)}, dict(def_rank)

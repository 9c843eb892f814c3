"""The repository ranking: PageRank over who uses whose definitions, checked against a
plain reference that follows the definition edge by edge."""

from __future__ import annotations

import math
from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from hermes_lsp.context.rank import DAMPING, ITERATIONS, RankingInput, name_weight, rank


def pagerank(
    files: list[int], references: list[tuple[int, str, int]], definers: dict[str, set[int]]
) -> tuple[dict[int, float], dict[tuple[int, str], float]]:
    """:func:`rank` of plain rows, as the store would give them."""
    given = RankingInput(list(files))
    rows = [(name, file) for name, defining in definers.items() for file in defining]
    given.add_definitions([name for name, _ in rows], [file for _, file in rows])
    given.add_uses([r[0] for r in references], [r[1] for r in references], [r[2] for r in references])
    return rank(given)


def reference(
    files: list[int], references: list[tuple[int, str, int]], definers: dict[str, set[int]]
) -> tuple[dict[int, float], dict[tuple[int, str], float]]:
    """The ranking as the module describes it, one edge at a time."""
    count = len(files)
    out: dict[int, dict[tuple[int, str], float]] = defaultdict(dict)
    for source, name, uses in references:
        targets = definers.get(name)
        if not targets or source not in files:
            continue
        weight = name_weight(name, len(targets)) / len(targets) * math.sqrt(uses)
        for target in targets:
            if weight and target != source and target in files:
                out[source][(target, name)] = out[source].get((target, name), 0.0) + weight
    totals = {source: sum(edges.values()) for source, edges in out.items()}
    rank = dict.fromkeys(files, 1.0 / count)
    for _ in range(ITERATIONS):
        dangling = sum(value for node, value in rank.items() if not totals.get(node))
        nxt = dict.fromkeys(files, ((1 - DAMPING) + DAMPING * dangling) / count)
        for source, edges in out.items():
            for (target, _), weight in edges.items():
                nxt[target] += DAMPING * rank[source] * weight / totals[source]
        rank = nxt
    defs: dict[tuple[int, str], float] = defaultdict(float)
    for source, edges in out.items():
        for key, weight in edges.items():
            defs[key] += rank[source] * count * weight / totals[source]
    return {node: value * count for node, value in rank.items()}, dict(defs)


NAMES = ["run", "_helper", "Config", "str", "parse", "load"]


@st.composite
def repositories(draw: st.DrawFn) -> tuple[list[int], list[tuple[int, str, int]], dict[str, set[int]]]:
    files = draw(st.lists(st.integers(1, 40), min_size=1, max_size=12, unique=True))
    somewhere = st.sampled_from([*files, 99])  # 99: a file no longer in the index
    definers = draw(st.dictionaries(st.sampled_from(NAMES), st.sets(somewhere, min_size=1, max_size=6)))
    uses = st.tuples(somewhere, st.sampled_from(NAMES), st.integers(1, 30))
    references = list({(s, n): (s, n, u) for s, n, u in draw(st.lists(uses, max_size=30))}.values())
    return files, references, definers


@settings(max_examples=300, deadline=None)
@given(repositories())
def test_ranks_are_those_of_the_edge_by_edge_definition(repository) -> None:
    files, references, definers = repository
    file_ranks, def_ranks = pagerank(files, references, definers)
    want_files, want_defs = reference(files, references, definers)
    assert file_ranks.keys() == want_files.keys()
    assert all(math.isclose(file_ranks[f], want_files[f], rel_tol=1e-9) for f in files)
    assert def_ranks.keys() == want_defs.keys()
    assert all(math.isclose(def_ranks[k], want_defs[k], rel_tol=1e-9, abs_tol=1e-12) for k in want_defs)
    assert math.isclose(sum(file_ranks.values()), len(files), rel_tol=1e-9)  # they average 1


def test_a_file_used_by_many_outranks_one_used_by_few() -> None:
    definers = {"core": {1}, "leaf": {2}}
    references = [(3, "core", 4), (4, "core", 1), (5, "core", 2), (3, "leaf", 1)]
    file_ranks, def_ranks = pagerank([1, 2, 3, 4, 5], references, definers)
    assert file_ranks[1] > file_ranks[2] > file_ranks[3]
    assert def_ranks[(1, "core")] > def_ranks[(2, "leaf")]

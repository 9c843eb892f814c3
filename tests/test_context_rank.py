"""The personalised ranking: a local push that must agree with the exact personalised PageRank,
over file edges read from the index a few at a time."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from hermes_lsp.context.index import Def
from hermes_lsp.context.neighbourhood import NAMES_PER_FILE, FileGraph
from hermes_lsp.context.rank import NO_EDGES, FileEdges, file_edges, local_push

NODES = [f"f{i}.py" for i in range(8)]
ALPHA = 0.3

Graph = dict[str, dict[str, float]]

graphs = st.dictionaries(
    st.sampled_from(NODES), st.dictionaries(st.sampled_from(NODES), st.floats(0.1, 5.0), max_size=6)
)
seed_sets = st.dictionaries(st.sampled_from(NODES), st.floats(0.01, 3.0), min_size=1)


def _edges(graph: Graph, node: str) -> FileEdges:
    out = graph.get(node, {})
    if not out:
        return NO_EDGES
    targets = tuple(sorted(out))
    weights = tuple(out[t] for t in targets)
    return FileEdges(targets, weights, {t: (("name", out[t]),) for t in targets}, sum(weights))


def _exact(seeds: dict[str, float], graph: Graph, steps: int = 400) -> dict[str, float]:
    """Personalised PageRank by iteration, with the same conventions as the push (from a
    file without edges the walk restarts at the seeds)."""
    total = sum(seeds.values())
    start = {node: seeds.get(node, 0.0) / total for node in NODES}
    settled = dict.fromkeys(NODES, 0.0)
    walking = dict(start)
    for _ in range(steps):
        moved = dict.fromkeys(NODES, 0.0)
        for node, mass in walking.items():
            out = graph.get(node, {})
            weight_sum = sum(out.values())
            settled[node] += ALPHA * mass
            targets = out if weight_sum else start
            norm = weight_sum if weight_sum else 1.0
            for target, weight in targets.items():
                moved[target] += (1 - ALPHA) * mass * weight / norm
        walking = moved
    return settled


@settings(max_examples=200, deadline=None)
@given(graphs, seed_sets)
def test_push_conserves_mass_and_stays_within_its_residual_of_the_exact_ranking(
    graph: Graph, seeds: dict[str, float]
) -> None:
    calls: list[str] = []

    def edges(node: str) -> FileEdges:
        calls.append(node)
        return _edges(graph, node)

    found = local_push(seeds, edges, alpha=ALPHA, epsilon=1e-4, max_pushes=10_000)
    exact = _exact(seeds, graph)
    # The estimate plus what is still unsettled accounts for all of the walk's mass...
    assert abs(sum(found.files.values()) + (1 - ALPHA) * found.residual - 1.0) < 1e-9
    # ... and differs from the exact ranking by no more than that residual, in all.
    assert sum(abs(found.files.get(node, 0.0) - exact[node]) for node in NODES) <= found.residual + 1e-6
    assert all(value >= 0 for value in found.files.values())
    assert found.expanded == len(calls)


@settings(max_examples=100, deadline=None)
@given(graphs, seed_sets, st.integers(0, 5), st.sets(st.sampled_from(NODES)))
def test_push_reads_at_most_max_pushes_files_and_never_a_skipped_or_unavailable_one(
    graph: Graph, seeds: dict[str, float], limit: int, unavailable: set[str]
) -> None:
    calls: list[str] = []

    def edges(node: str) -> FileEdges | None:
        calls.append(node)
        return None if node in unavailable else _edges(graph, node)

    found = local_push(seeds, edges, max_pushes=limit, skip={"f0.py"})
    assert "f0.py" not in calls
    assert len([node for node in calls if node not in unavailable]) <= limit
    assert len(calls) == len(set(calls) & unavailable) + found.expanded
    assert set(found.files) <= set(NODES)
    assert sum(found.files.values()) <= 1.0 + 1e-9


def test_walk_reaches_what_the_seed_uses_and_what_that_uses() -> None:
    graph = {
        "app.py": {"models.py": 1.0},
        "models.py": {"fields.py": 1.0},
        "unrelated.py": {"models.py": 1.0},
    }
    found = local_push({"app.py": 1.0}, lambda node: _edges(graph, node))
    assert found.files["models.py"] > found.files["fields.py"] > 0
    assert "unrelated.py" not in found.files
    assert found.sent["models.py"] > 0


def test_file_edges_share_a_name_among_its_definers_and_ignore_builtins() -> None:
    definers = {"Model": ["a.py", "b.py"], "len": ["c.py"], "Field": ["me.py"], "Form": ["a.py"]}
    out = file_edges(
        {"Model": 4, "len": 9, "Field": 1, "Form": 1}, lambda name: definers.get(name, []), "me.py"
    )
    assert out.targets == ("a.py", "b.py") and out.weights == (2.0, 1.0) and out.total == 3.0
    assert out.names["a.py"] == (("Model", 1.0), ("Form", 1.0))


class _FakeIndex:
    """An index view over a fixed graph: ``uses`` per file, one definition per name."""

    def __init__(self, uses: dict[str, dict[str, int]], defines: dict[str, list[str]]) -> None:
        self.uses = uses
        self.by_name = {
            name: tuple(
                Def(0, name, name, "function", path, 1, 2, f"def {name}(): ...", 1.0) for path in paths
            )
            for name, paths in defines.items()
        }
        self.by_path: dict[str, tuple[Def, ...]] = {}
        for defs in self.by_name.values():
            for d in defs:
                self.by_path[d.path] = (*self.by_path.get(d.path, ()), d)
        self.reads: list[str] = []

    def most_used(self, path: str, limit: int) -> dict[str, int] | None:
        self.reads.append(path)
        uses = self.uses.get(path, {})
        return dict(sorted(uses.items(), key=lambda item: (-item[1], item[0]))[:limit])

    def definers_of(self, names: Sequence[str], limit: int) -> dict[str, tuple[str, ...]]:
        return {name: tuple(sorted({d.path for d in self.by_name.get(name, ())}))[:limit] for name in names}

    def ranked_in(self, path: str, limit: int) -> tuple[tuple[Def, ...], float]:
        defs = sorted(self.by_path.get(path, ()), key=lambda d: (-d.rank, d.start_line))
        return tuple(defs[:limit]), sum(0.05 + d.rank for d in defs)


def test_file_graph_reads_a_few_files_per_query_and_caches_them() -> None:
    chain = {f"m{i}.py": {f"f{i + 1}": 1} for i in range(10)}
    index = _FakeIndex(chain, {f"f{i}": [f"m{i}.py"] for i in range(1, 11)})
    graph = FileGraph(index)
    edges = graph.reader(reads=3)
    assert [edges(f"m{i}.py") is not None for i in range(5)] == [True, True, True, False, False]
    assert index.reads == ["m0.py", "m1.py", "m2.py"]
    again = graph.reader(reads=0)
    assert again("m1.py") is not None and again("m3.py") is None  # cached: free; new: not now
    assert index.reads == ["m0.py", "m1.py", "m2.py"]


def test_file_graph_forgets_when_the_index_loads_a_new_view() -> None:
    index = _FakeIndex({"a.py": {"f": 1}}, {"f": ["b.py"]})
    graph = FileGraph(index)
    graph.sync()
    assert graph.reader()("a.py") is not None and graph.definers("f") == ("b.py",)
    index.by_name = {"f": (Def(0, "f", "f", "function", "c.py", 1, 2, "def f(): ...", 1.0),)}
    graph.sync()
    assert graph.definers("f") == ("c.py",)
    assert graph.reader()("a.py").targets == ("c.py",)  # type: ignore[union-attr]
    assert index.reads == ["a.py", "a.py"]


def test_a_hub_file_contributes_edges_for_its_most_used_names_only() -> None:
    uses = {f"name{i}": 1 + i for i in range(NAMES_PER_FILE + 50)}
    index = _FakeIndex({"hub.py": uses}, {name: [f"{name}.py"] for name in uses})
    edges = FileGraph(index).reader()("hub.py")
    assert edges is not None and len(edges.targets) == NAMES_PER_FILE
    assert "name0.py" not in edges.targets and f"name{NAMES_PER_FILE + 49}.py" in edges.targets


def test_file_edges_join_a_language_family_or_native_code_never_other_languages_by_name() -> None:
    index = _FakeIndex(
        {"app.py": {"step": 1, "parse": 1, "fast_sum": 1}},
        {"step": ["install.sh", "tools.py"], "parse": ["lib/parse.lua"], "fast_sum": ["native/fast.c"]},
    )
    edges = FileGraph(index).reader()("app.py")
    assert edges is not None and edges.targets == ("native/fast.c", "tools.py")


def test_file_graph_does_not_cache_a_file_the_index_could_not_read_now() -> None:
    index = _FakeIndex({"a.py": {"f": 1}}, {"f": ["b.py"]})
    busy = [True]
    counts = index.most_used
    index.most_used = lambda path, limit: None if busy[0] else counts(path, limit)  # type: ignore[method-assign]
    graph = FileGraph(index)
    assert graph.reader()("a.py") is None
    busy[0] = False
    found = graph.reader()("a.py")
    assert found is not None and found.targets == ("b.py",)

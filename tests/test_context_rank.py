"""The personalised ranking: a local push that must agree with the exact personalised PageRank."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from hermes_lsp.context.rank import Edge, file_edges, local_push

NODES = [f"f{i}.py" for i in range(8)]

graphs = st.dictionaries(
    st.sampled_from(NODES),
    st.lists(
        st.tuples(st.sampled_from(NODES), st.sampled_from(["a", "b", "c"]), st.floats(0.1, 5.0)),
        max_size=6,
    ),
)
seed_sets = st.dictionaries(st.sampled_from(NODES), st.floats(0.01, 3.0), min_size=1)


def _exact(
    seeds: dict[str, float], graph: dict[str, list[Edge]], alpha: float, steps: int = 400
) -> dict[str, float]:
    """Personalised PageRank by iteration, with the same conventions as the push (from a
    file without edges the walk restarts at the seeds)."""
    total = sum(seeds.values())
    start = {node: seeds.get(node, 0.0) / total for node in NODES}
    settled = dict.fromkeys(NODES, 0.0)
    walking = dict(start)
    for _ in range(steps):
        moved = dict.fromkeys(NODES, 0.0)
        for node, mass in walking.items():
            out = graph.get(node, [])
            weight_sum = sum(weight for _, _, weight in out)
            settled[node] += alpha * mass
            if not weight_sum:
                for seed, share in start.items():
                    moved[seed] += (1 - alpha) * mass * share
                continue
            for target, _, weight in out:
                moved[target] += (1 - alpha) * mass * weight / weight_sum
        walking = moved
    return settled


@settings(max_examples=200, deadline=None)
@given(graphs, seed_sets)
def test_push_conserves_mass_and_stays_within_its_residual_of_the_exact_ranking(
    graph: dict[str, list[Edge]], seeds: dict[str, float]
) -> None:
    alpha = 0.3
    calls: list[str] = []

    def edges(node: str) -> Sequence[Edge]:
        calls.append(node)
        return graph.get(node, [])

    found = local_push(seeds, edges, alpha=alpha, epsilon=1e-4, max_pushes=10_000)
    exact = _exact(seeds, graph, alpha)
    # The push's estimate plus what is still unsettled accounts for all of the walk's mass...
    assert abs(sum(found.files.values()) + (1 - alpha) * found.residual - 1.0) < 1e-9
    # ... and differs from the exact ranking by no more than that residual, file by file and in all.
    assert sum(abs(found.files.get(node, 0.0) - exact[node]) for node in NODES) <= found.residual + 1e-6
    assert all(value >= 0 for value in found.files.values())
    assert found.expanded == len(calls)


@settings(max_examples=100, deadline=None)
@given(graphs, seed_sets, st.integers(0, 5))
def test_push_reads_at_most_max_pushes_files(
    graph: dict[str, list[Edge]], seeds: dict[str, float], limit: int
) -> None:
    calls: list[str] = []

    def edges(node: str) -> Sequence[Edge]:
        calls.append(node)
        return graph.get(node, [])

    found = local_push(seeds, edges, max_pushes=limit, skip={"f0.py"})
    assert len(calls) <= limit and "f0.py" not in calls
    assert set(found.files) <= set(NODES)


def test_walk_reaches_what_the_seed_uses_and_what_that_uses() -> None:
    graph = {
        "app.py": [("models.py", "Model", 1.0)],
        "models.py": [("fields.py", "Field", 1.0)],
        "unrelated.py": [("models.py", "Model", 1.0)],
    }
    found = local_push({"app.py": 1.0}, lambda node: graph.get(node, []))
    assert found.files["models.py"] > found.files["fields.py"] > 0
    assert "unrelated.py" not in found.files
    assert found.flows[("fields.py", "Field")] > 0


def test_file_edges_share_a_name_among_its_definers_and_ignore_builtins() -> None:
    definers = {"Model": ["a.py", "b.py"], "len": ["c.py"], "Field": ["me.py"]}
    out = file_edges({"Model": 4, "len": 9, "Field": 1}, lambda name: definers.get(name, []), "me.py")
    assert sorted(out) == [("a.py", "Model", 1.0), ("b.py", "Model", 1.0)]

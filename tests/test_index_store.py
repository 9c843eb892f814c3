"""The index database's write path and the ranking input read back from it, for any batches."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hermes_lsp.context.modules import module_forms
from hermes_lsp.context.store import Store
from hermes_lsp.context.tags import Definition, FileTags
from hermes_lsp.context.walk import Scanned

PATHS = ["a.py", "pkg/b.py", "pkg/c.py", "d.py"]
NAMES = ["run", "Shape", "area", "_helper"]


@st.composite
def _scan(draw: st.DrawFn) -> Scanned:
    path = draw(st.sampled_from(PATHS))
    fate = draw(st.sampled_from(["tagged", "tagged", "unchanged", "vanished", "binary"]))
    if fate == "unchanged":
        return Scanned(path, 10, 2, "d", "python", skipped="unchanged")
    if fate == "vanished":
        return Scanned(path, 0, 0, "", "python", skipped="vanished")
    if fate == "binary":
        return Scanned(path, 10, 1, "b", "python", skipped="binary")
    names = draw(st.lists(st.sampled_from(NAMES), max_size=3, unique=True))
    definitions = [Definition(n, n, "function", i + 1, i + 1, f"def {n}(): ...") for i, n in enumerate(names)]
    uses = draw(st.dictionaries(st.sampled_from(NAMES), st.lists(st.integers(1, 9), min_size=1, max_size=3)))
    references = {name: ",".join(map(str, sorted(set(lines)))) for name, lines in uses.items()}
    return Scanned(path, 10, 1, "t", "python", tags=FileTags(definitions, references, []))


@settings(max_examples=80, deadline=None)
@given(
    batches=st.lists(st.lists(_scan(), max_size=5), min_size=1, max_size=5),
)
def test_what_is_stored_is_each_files_last_scan(batches: list[list[Scanned]]) -> None:
    store = Store(None)
    last: dict[str, Scanned] = {}
    for batch in batches:
        store.write(batch, forms=module_forms)
        for item in {item.path: item for item in batch}.values():  # a path twice: its last scan
            if item.skipped in ("vanished", "unreadable"):
                last.pop(item.path, None)
            elif item.skipped != "unchanged":
                last[item.path] = item
    states = store.file_states()
    assert sorted(states) == sorted(last)
    assert len({fid for fid, *_ in states.values()}) == len(states)
    for path, item in last.items():
        tags = item.tags
        stored = [(row[1], row[5], row[7]) for row in store.definitions_in(path)]
        expected = [] if tags is None else [(d.name, d.start_line, d.summary) for d in tags.definitions]
        assert stored == expected
        assert dict(store.references_in(path)) == ({} if tags is None else tags.references)
        assert (path in store.module_paths(module_forms(path)[0])) == bool(expected)

    given = store.ranking_input()
    ids = {path: fid for path, (fid, *_) in states.items()}
    assert sorted(given.files) == sorted(ids.values())
    defined = sorted(
        (d.name, ids[path])
        for path, item in last.items()
        for d in (item.tags.definitions if item.tags else ())
    )
    names = {number: name for name, number in given.numbers.items()}
    assert sorted(zip(map(names.__getitem__, given.def_name), given.def_file, strict=True)) == defined
    expected_uses = sorted(
        (ids[path], name, len(lines.split(",")))
        for path, item in last.items()
        for name, lines in (item.tags.references.items() if item.tags else ())
    )
    uses = zip(given.use_file, map(names.__getitem__, given.use_name), given.use_count, strict=True)
    assert sorted(uses) == expected_uses


def test_a_file_scanned_again_keeps_the_ranks_of_the_definitions_it_still_has() -> None:
    store = Store(None)
    first = FileTags([Definition("run", "run", "function", 1, 2, "def run(): ...")], {}, [])
    store.write([Scanned("a.py", 1, 1, "x", "python", tags=first)])
    store.write_ranks({}, {(store.file_states()["a.py"][0], "run"): 2.5})
    stop = Definition("stop", "stop", "function", 3, 4, "def stop(): ...")
    again = FileTags([*first.definitions, stop], {}, [])
    store.write([Scanned("a.py", 2, 2, "y", "python", tags=again)])
    assert {row[1]: row[8] for row in store.definitions_in("a.py")} == {"run": 2.5, "stop": 0}

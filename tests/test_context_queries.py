"""Each language's tags query on a realistic snippet: a definition (with its owner) and a use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tree_sitter
from hypothesis import given, settings
from hypothesis import strategies as st

from hermes_lsp.context.languages import (
    _REFERENCE_CAPTURE,
    LANGUAGES,
    grammar,
    language_for_path,
    parser,
    query_patterns,
    scan_query,
    without_subsumed,
)
from hermes_lsp.context.tags import FileTags, extract
from hermes_lsp.context.walk import tag_bytes

SNIPPETS = Path(__file__).parent / "data" / "context" / "snippets"


def python_tags(language: str, data: bytes) -> FileTags:
    """The Python pass (what documents open in the editor get, and the reference for the C one)."""
    return extract(language, parser(language).parse(data), data.decode("utf-8", "replace"), data)


# file -> (a definition: qualified name, kind, first line), a name the file uses, an import line
CASES = {
    "python.py": (("Invoice.to_json", "method", 12), "round_total", 1),
    "javascript.js": (("Calendar.upcoming", "method", 8), "formatDate", 1),
    "typescript.ts": (("Repository", "interface", 3), "validateName", 1),
    "component.tsx": (("Button", "function", 7), "track", 1),
    "main.go": (("Cache.Get", "method", 17), "Unlock", 3),
    "lib.rs": (("Inventory.add", "method", 12), "log_change", 1),
    "Account.java": (("Account.deposit", "method", 12), "record", 3),
    "buffer.c": (("buffer_new", "function", 13), "grow", 1),
    "shapes.cpp": (("geometry.Circle", "class", 6), "pow", 1),
    "Orders.cs": (("Shop.OrderBook.Place", "method", 11), "Notify", 1),
    "greeter.rb": (("Greetings.Greeter.greet", "method", 9), "format_greeting", 1),
    "Mailer.php": (("Mailer.send", "method", 9), "deliver", 5),
    "queue.lua": (("Queue.push", "method", 10), "insert", 1),
    "deploy.sh": (("build_image", "function", 5), "build_image", 3),
}


def test_every_language_has_a_case() -> None:
    covered = {language_for_path(name).name for name in CASES}  # type: ignore[union-attr]
    assert covered == {spec.name for spec in LANGUAGES}


@pytest.mark.parametrize("name", sorted(CASES))
def test_tags_query(name: str) -> None:
    (qualname, kind, line), used, import_line = CASES[name]
    spec = language_for_path(name)
    assert spec is not None
    tags = tag_bytes(spec.name, (SNIPPETS / name).read_bytes())
    found = {(d.qualname, d.kind, d.start_line) for d in tags.definitions}
    assert (qualname, kind, line) in found, sorted(found)
    assert used in tags.references, sorted(tags.references)
    assert any(start <= import_line <= end for start, end in tags.imports), tags.imports


def test_definition_spans_and_summaries() -> None:
    tags = tag_bytes("python", (SNIPPETS / "python.py").read_bytes())
    invoice = next(d for d in tags.definitions if d.qualname == "Invoice")
    assert (invoice.start_line, invoice.end_line) == (6, 13)
    assert invoice.summary.startswith("class Invoice:")
    assert "def to_json(self) -> str:" in invoice.summary
    # A definition's own name is not counted as a use of it.
    assert "Invoice" not in tags.references


def test_include_lines_do_not_spill_into_the_next_line() -> None:
    tags = tag_bytes("c", (SNIPPETS / "buffer.c").read_bytes())
    assert tags.imports == [(1, 1), (2, 2)]


def test_long_function_summary_is_signature_and_start() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(40))
    source = f'def long_one(a, b):\n    """Does a lot."""\n{body}\n    return a\n'.encode()
    (definition,) = tag_bytes("python", source).definitions
    assert definition.end_line == 43
    lines = definition.summary.split("\n")
    assert lines[0] == "def long_one(a, b):"
    assert '"""Does a lot."""' in lines[1]
    assert lines[-1].strip() == "..."
    assert len(lines) < 8


@pytest.mark.parametrize("name", sorted(CASES))
def test_tags_read_a_slice_at_a_time_are_the_same(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large trees are queried in slices (so a thread lets the event loop run); same result."""
    from hermes_lsp.context import tags

    spec = language_for_path(name)
    assert spec is not None
    data = (SNIPPETS / name).read_bytes()
    whole = python_tags(spec.name, data)
    monkeypatch.setattr(tags, "CAPTURE_SLICE_BYTES", 8)
    assert python_tags(spec.name, data) == whole


@pytest.mark.parametrize("spec", LANGUAGES, ids=lambda spec: spec.name)
def test_the_scan_query_captures_only_what_extraction_reads(spec: object) -> None:
    """A reference's outer node is matched but never captured (each capture costs an object)."""
    from hermes_lsp.context.languages import scan_query

    query = scan_query(spec.name)  # type: ignore[attr-defined]
    names = {query.capture_name(i) for i in range(query.capture_count)}
    read = {"name", "definition_name", "scope", "import"}
    assert {n for n in names if not n.startswith(("definition.", "_"))} <= read, names


_WORDS = st.sampled_from(["alpha", "beta", "gamma", "Delta", "é", "x"])


@st.composite
def _python_modules(draw: st.DrawFn) -> bytes:
    """Module-level statements of every kind the Python query tags, in any order and size."""
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 30))):
        name, other = draw(_WORDS), draw(_WORDS)
        lines += draw(
            st.sampled_from(
                [
                    [f"import {name}"],
                    [f"{name} = {other}({other}.{name})"],
                    [
                        f"class {name}({other}):",
                        f"    def {other}(self) -> {name}:",
                        f"        return {name}()",
                    ],
                    [f"@{other}", f"def {name}():", f"    {other}.{name}({other})"],
                ]
            )
        )
    return "\n".join(lines).encode()


@settings(max_examples=60, deadline=None)
@given(source=_python_modules(), slice_bytes=st.integers(1, 200))
def test_tags_are_the_same_whatever_the_slices(source: bytes, slice_bytes: int) -> None:
    """A large tree is queried a slice at a time; where the slices fall never changes what is found."""
    from hermes_lsp.context import tags

    whole = python_tags("python", source)
    original = tags.CAPTURE_SLICE_BYTES
    tags.CAPTURE_SLICE_BYTES = slice_bytes
    try:
        sliced = python_tags("python", source)
    finally:
        tags.CAPTURE_SLICE_BYTES = original
    assert sliced == whole
    # An open document's text is tagged from its tree alone, as the server does.
    text = source.decode()
    assert tags.extract("python", parser("python").parse(text.encode()), text) == whole
    for name, text in whole.references.items():
        lines = [int(n) for n in text.split(",")]
        assert lines == sorted(set(lines)), name
        assert all(name.encode() in source.split(b"\n")[line - 1] for line in lines)


@pytest.mark.parametrize("spec", LANGUAGES, ids=lambda spec: spec.name)
def test_patterns_read_from_the_text_are_the_ones_tree_sitter_compiles(spec: object) -> None:
    """The scan query is built pattern by pattern from the text, without compiling the whole
    tags query first: the patterns must be exactly those tree-sitter finds."""
    import re

    import tree_sitter

    from hermes_lsp.context.languages import grammar, query_patterns, query_source

    name = spec.name  # type: ignore[attr-defined]
    source = query_source(name)
    query = tree_sitter.Query(grammar(name), source)
    data = source.encode()
    compiled = [
        " ".join(
            re.sub(
                r";[^\n]*", "", data[query.start_byte_for_pattern(i) : query.end_byte_for_pattern(i)].decode()
            ).split()
        )
        for i in range(query.pattern_count)
    ]
    assert list(query_patterns(name)) == compiled


def test_pattern_splitting_reads_strings_and_comments() -> None:
    from hermes_lsp.context.languages import split_patterns

    source = '; a comment (with a bracket\n(a) @x ; another )\n(b (#eq? @b "q)\\"(")) @y\n["c" (d)]* @z\n'
    assert split_patterns(source) == ["(a) @x", '(b (#eq? @b "q)\\"(")) @y', '["c" (d)]* @z']


def _unfiltered_scan_query(language: str) -> tree_sitter.Query:
    """The scan query with every pattern kept (what :func:`scan_query` made before it
    left out patterns another one covers)."""
    patterns = []
    for pattern in query_patterns(language):
        if "@definition." in pattern:
            pattern = re.sub(r"@name\b", "@definition_name", pattern)
        patterns.append(_REFERENCE_CAPTURE.sub("", pattern))
    return tree_sitter.Query(grammar(language), "\n".join(patterns))


def _positions(query: tree_sitter.Query, tree: tree_sitter.Tree) -> dict[str, list[tuple[int, int]]]:
    captured = tree_sitter.QueryCursor(query).captures(tree.root_node)
    return {name: sorted((n.start_byte, n.end_byte) for n in nodes) for name, nodes in captured.items()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_leaving_out_covered_patterns_captures_the_same_nodes(name: str) -> None:
    spec = language_for_path(name)
    assert spec is not None
    tree = parser(spec.name).parse((SNIPPETS / name).read_bytes())
    assert _positions(scan_query(spec.name), tree) == _positions(_unfiltered_scan_query(spec.name), tree)


def test_a_pattern_holding_another_whole_is_left_out() -> None:
    inner = "(attribute attribute: (identifier) @name)"
    outer = f"(call function: {inner})"
    call = "(call function: (identifier) @name)"
    definition = "(function_definition name: (identifier) @definition_name) @definition.function"
    assert without_subsumed([definition, call, outer, inner]) == [definition, call, inner]
    # A pattern with a predicate or a second capture says more than the one it holds.
    guarded = f'({inner} (#eq? @name "x"))'
    assert without_subsumed([guarded, inner, f"(call function: {inner}) @call"]) == [
        guarded,
        inner,
        f"(call function: {inner}) @call",
    ]

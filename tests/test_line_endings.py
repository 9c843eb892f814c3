"""The protocol's three line endings (``\\n``, ``\\r\\n`` and a lone ``\\r``) in every position
conversion: didChange edits, the edits code actions send back, and definitions found by name.

The reference model below splits lines the way the protocol says, one character at a time,
and knows nothing of the server's fast paths.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lsprotocol import types

from hermes_lsp.context.languages import by_name
from hermes_lsp.context.parsing import Document
from hermes_lsp.context.walk import scan_file
from hermes_lsp.edits import EditSet, OpenText
from hermes_lsp.model.tools import ToolCall
from hermes_lsp.text import apply_changes, line_at, position_at, split_lines
from hermes_lsp.uris import from_path
from tests.support.positions import Edit, protocol_lines, reference_apply, width

ENCODINGS = ("utf-16", "utf-8", "utf-32")
# Line endings of all three kinds, mixed, characters of every encoding width, and characters
# that str.splitlines() (and so pygls's TextDocument.lines) takes for line ends but the
# protocol does not: a form feed and U+2028.
TEXTS = st.lists(
    st.sampled_from(["a", "b", " ", "é", "😀", "\x0c", "\u2028", "\n", "\r", "\r\n"]), max_size=30
).map("".join)
POSITIONS = st.tuples(st.integers(0, 9), st.integers(0, 9))


def change(start: tuple[int, int], end: tuple[int, int], text: str) -> types.TextDocumentContentChangePartial:
    return types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(*start), types.Position(*end)), text=text
    )


@given(
    TEXTS,
    st.lists(st.tuples(POSITIONS, POSITIONS, TEXTS), min_size=1, max_size=8),
    st.sampled_from(ENCODINGS),
    st.booleans(),
)
def test_didchange_edits_land_where_the_protocol_puts_them(
    text: str,
    edits: list[Edit],
    encoding: str,
    one_notification: bool,
) -> None:
    edits = [(min(a, b), max(a, b), new) for a, b, new in edits]
    expected = reference_apply(text, edits, encoding)
    if one_notification:
        got = apply_changes(text, [change(*edit) for edit in edits], encoding).text
    else:
        # One keystroke after another, each starting from the mark the last one left.
        got, mark = text, None
        for edit in edits:
            changed = apply_changes(got, [change(*edit)], encoding, mark)
            got, mark = changed.text, changed.mark
    assert got == expected


@given(TEXTS, st.sampled_from(ENCODINGS))
def test_lines_and_positions_agree_with_the_protocol(text: str, encoding: str) -> None:
    lines = protocol_lines(text)
    assert split_lines(text) == [text[s:e] for s, e in lines]
    for number, (start, end) in enumerate(lines):
        for offset in range(start, end + 1):
            units = sum(width(ch, encoding) for ch in text[start:offset])
            assert position_at(text, offset, encoding) == (number, units)
            assert line_at(text, offset) == (text[start:offset], text[offset:end])


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> str:
    return os.path.realpath(tmp_path_factory.mktemp("line-endings"))


@given(old=TEXTS, new=TEXTS, encoding=st.sampled_from(ENCODINGS))
def test_an_action_edit_applies_to_the_original_text_exactly(
    root: str, old: str, new: str, encoding: str
) -> None:
    uri = from_path(os.path.join(root, "notes.txt"))
    edits = EditSet(root, lambda asked: OpenText(uri, old, 3) if asked == uri else None)
    edits.state("notes.txt").text = new
    workspace_edit = edits.workspace_edit(encoding, "edit", annotate=False)
    if old == new:
        assert not workspace_edit.document_changes
        return
    (document_edit,) = workspace_edit.document_changes
    (edit,) = document_edit.edits
    start, end = edit.range.start, edit.range.end
    applied = reference_apply(
        old, [((start.line, start.character), (end.line, end.character), edit.new_text)], encoding
    )
    assert applied == new


def classic_mac(text: str) -> str:
    return text.replace("\n", "\r")


JS = "function first(a) {\n  return a;\n}\n\nfunction second(b) {\n  return b;\n}\n"


def test_a_symbol_is_replaced_in_a_file_with_lone_cr_endings(tmp_path) -> None:
    for ending in ("\r", "\r\n"):
        source = JS.replace("\n", ending)
        (tmp_path / "shapes.js").write_text(source, newline="")
        edits = EditSet(str(tmp_path), lambda uri: None)
        code = "function second(b) {\n  return b * 2;\n}\n"
        edits.apply(ToolCall("replace_symbol", {"path": "shapes.js", "symbol": "second", "code": code}))
        edits.apply(
            ToolCall(
                "insert_code",
                {"path": "shapes.js", "anchor": "first", "where": "after", "code": "function middle() {}"},
            )
        )
        expected = JS.replace("function second", "function middle() {}\n\nfunction second")
        expected = expected.replace("return b;", "return b * 2;")
        assert edits.files["shapes.js"].text == expected.replace("\n", ending)
        assert not edits.syntax_problems()


def test_a_python_file_with_lone_cr_endings_is_parsed_line_by_line() -> None:
    source = classic_mac("def first(a):\n    return a\n\n\ndef second(b):\n    return b\n")
    document = Document("file:///w/m.py", "m.py", source, by_name("python"), 1)
    assert document.tree is not None and not document.tree.root_node.has_error
    assert document.lines()[4] == "def second(b):"
    # An edit that joins a lone \r with a new \n moves the tree as the text moved.
    document.apply([change((1, 12), (1, 12), " + 1")], 2, "utf-16")
    document.apply([change((2, 0), (2, 0), "\n")], 3, "utf-16")
    fresh = Document("file:///w/m.py", "m.py", document.text, by_name("python"), 3)
    assert fresh.tree is not None
    assert shape(document.tree.root_node) == shape(fresh.tree.root_node)


def shape(node) -> list[tuple[str, tuple[int, int], tuple[int, int]]]:
    """Every node's type and span, in tree-sitter's rows and byte columns."""
    out = [(node.type, tuple(node.start_point), tuple(node.end_point))]
    for child in node.children:
        out.extend(shape(child))
    return out


CODE = st.lists(
    st.sampled_from(["def f(x):", "    return x", "x = 1", " + 2", "(", ")", "\n", "\r", "\r\n"]), max_size=12
).map("".join)


@given(CODE, st.lists(st.tuples(POSITIONS, POSITIONS, CODE), min_size=1, max_size=5))
def test_an_edited_tree_matches_a_fresh_parse_of_the_edited_text(code: str, edits: list[Edit]) -> None:
    document = Document("file:///w/m.py", "m.py", code, by_name("python"), 1)
    for version, (a, b, new) in enumerate(edits, 2):
        document.apply([change(min(a, b), max(a, b), new)], version, "utf-16")
        assert document.tree is not None
        fresh = Document("file:///w/m.py", "m.py", document.text, by_name("python"), version)
        assert fresh.tree is not None
        assert shape(document.tree.root_node) == shape(fresh.tree.root_node)


def test_a_file_on_disk_with_lone_cr_endings_is_indexed_line_by_line(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_bytes(
        classic_mac("def first(a):\n    return a\n\n\ndef second(b):\n    return b\n").encode()
    )
    scanned = scan_file(str(tmp_path), "m.py", 1 << 20)
    assert scanned.tags is not None
    lines = {d.name: (d.start_line, d.end_line) for d in scanned.tags.definitions}
    assert lines == {"first": (1, 2), "second": (5, 6)}
    second = next(d for d in scanned.tags.definitions if d.name == "second")
    assert second.summary.splitlines() == ["def second(b):", "    return b"]

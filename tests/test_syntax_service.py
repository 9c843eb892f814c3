"""One syntax service: open documents are served from their live trees, other texts parsed once."""

from __future__ import annotations

import asyncio

import tree_sitter
from lsprotocol import types

from hermes_lsp.context.languages import language_for_path, parser
from hermes_lsp.context.parsing import PARSE_SLICE_BYTES, Document, edit_tree, parse
from hermes_lsp.context.syntax import Syntax
from hermes_lsp.edits import EditSet, OpenText
from hermes_lsp.model.tools import ToolCall
from hermes_lsp.text import Splice, common_ends

SOURCE = "def first():\n    return 1\n"


def test_an_open_document_is_served_from_its_live_tree_without_a_new_parse():
    document = Document("file:///w/a.py", "a.py", SOURCE, language_for_path("a.py"), 1)
    syntax = Syntax({document.uri: document})
    here = types.Position(2, 0)
    document.apply(
        [
            types.TextDocumentContentChangePartial(
                range=types.Range(here, here), text="\ndef second():\n    pass\n"
            )
        ],
        2,
        "utf-16",
    )
    names = [d.qualname for d in syntax.definitions("a.py", document.text)]
    assert names == ["first", "second"]
    # The edit was re-parsed incrementally in the document; nothing parsed it whole again.
    assert document.full_parses == 1
    assert syntax.tree("python", document.text) is document.tree


def test_other_texts_are_parsed_once_and_edited_copies_incrementally():
    syntax = Syntax()
    tree = syntax.tree("python", SOURCE)
    assert syntax.tree("python", SOURCE) is tree
    edited = SOURCE.replace("return 1", "return 2")
    assert syntax.reparse("python", SOURCE, edited).root_node.text == edited.encode()
    assert [d.qualname for d in syntax.definitions("b.py", edited)] == ["first"]
    assert syntax.definitions("notes.txt", "plain text") == []


def _spans(node: tree_sitter.Node) -> list[tuple[str, int, int, tuple[int, int]]]:
    out = [(node.type, node.start_byte, node.end_byte, tuple(node.end_point))]
    for child in node.children:
        out.extend(_spans(child))
    return out


def test_a_large_text_read_in_slices_parses_to_the_same_tree():
    # Characters of 2, 3 and 4 UTF-8 bytes fall across the slice boundaries.
    text = "".join(f"def f_{i}(x):\n    return '{'é€😀'[i % 3] * (i % 7)}' + x\n\n\n" for i in range(3000))
    source = text.encode("utf-8")
    assert len(source) > 4 * PARSE_SLICE_BYTES
    sliced = parse("python", text)
    whole = parser("python").parse(source)
    assert not sliced.root_node.has_error
    assert _spans(sliced.root_node) == _spans(whole.root_node)
    # Incrementally from an edited tree too.
    edited = text.replace("return ''", "return 'x'", 1)
    old = sliced.copy()
    prefix, suffix = common_ends(text, edited)
    edit_tree(old, text, Splice(prefix, len(text) - suffix, edited[prefix : len(edited) - suffix]))
    fresh = parser("python").parse(edited.encode())
    assert _spans(parse("python", edited, old).root_node) == _spans(fresh.root_node)


def test_an_edit_set_in_a_thread_uses_a_copy_of_an_open_documents_tree(tmp_path):
    (tmp_path / "a.py").write_text(SOURCE)
    document = Document((tmp_path / "a.py").as_uri(), "a.py", SOURCE, language_for_path("a.py"), 1)
    syntax = Syntax({document.uri: document})
    opened = OpenText(document.uri, SOURCE, 1)
    edits = EditSet(str(tmp_path), lambda uri: opened if uri == document.uri else None, syntax=syntax)
    code = "def first():\n    return 2\n"
    replace = ToolCall("replace_symbol", {"path": "a.py", "symbol": "first", "code": code})
    assert asyncio.run(edits.run(replace)) == "replaced first in a.py"
    assert edits.files["a.py"].text == code
    assert asyncio.run(edits.check_syntax()) == []
    # The open document was not parsed again: the thread had a copy of its live tree.
    assert document.full_parses == 1

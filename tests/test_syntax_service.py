"""One syntax service: open documents are served from their live trees, other texts parsed once."""

from __future__ import annotations

from lsprotocol import types

from hermes_lsp.context.languages import language_for_path
from hermes_lsp.context.parsing import Document
from hermes_lsp.context.syntax import Syntax

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

"""Open documents: edits applied to our own copy, and incremental re-parses equal to full ones."""

from __future__ import annotations

import random

import pytest
from lsprotocol import types
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import PositionCodec

from hermes_lsp.context.languages import by_name, parser
from hermes_lsp.context.parsing import Document
from hermes_lsp.text import position_at

PYTHON = '''import os


class Greeter:
    """Says hello — in any language: héllo, 你好, 👋."""

    def greet(self, name: str) -> str:
        return f"hello {name}"  # 👋 emoji before the edit point


def main() -> None:
    print(Greeter().greet(os.environ.get("USER", "wörld")))
'''

INSERTS = ["x", "(", ")", ":", "\n", "    ", "é", "👋", "def f():\n    pass\n", '"', "'''", "#", ""]


def _random_change(rng: random.Random, text: str, encoding: str) -> types.TextDocumentContentChangePartial:
    start = rng.randrange(len(text) + 1)
    end = min(len(text), start + rng.choice([0, 0, 1, 3, 12]))
    # Never split a surrogate pair's code point: positions are whole characters here.
    (sl, sc), (el, ec) = position_at(text, start, encoding), position_at(text, end, encoding)
    return types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(sl, sc), types.Position(el, ec)), text=rng.choice(INSERTS)
    )


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
def test_incremental_parse_matches_full_parse_after_random_edits(encoding: str) -> None:
    rng = random.Random(encoding)
    codec = PositionCodec(encoding)
    document = Document("file:///g.py", "g.py", PYTHON, by_name("python"), 1)
    reference = TextDocument("file:///g.py", PYTHON, 1, position_codec=codec)
    for version in range(2, 150):
        change = _random_change(rng, document.text, encoding)
        reference.apply_change(change)
        document.apply([change], version, encoding)
        assert document.text == reference.source
        full = parser("python").parse(document.text.encode("utf-8"))
        assert document.tree is not None
        assert str(document.tree.root_node) == str(full.root_node)
    assert document.full_parses == 1  # every re-parse reused the tree


def test_several_changes_in_one_notification() -> None:
    document = Document("u", "a.py", "a = 1\nb = 2\n", by_name("python"), 1)
    changes = [
        types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(0, 4), types.Position(0, 5)), text="10"
        ),
        types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(1, 0), types.Position(1, 0)), text="def b_():\n    "
        ),
    ]
    document.apply(changes, 2, "utf-16")
    assert document.text == "a = 10\ndef b_():\n    b = 2\n"
    assert document.tree is not None and not document.tree.root_node.has_error


def test_whole_document_change_and_plain_text() -> None:
    document = Document("u", "notes.txt", "hello", None, 1)
    assert document.tree is None
    document.apply([types.TextDocumentContentChangeWholeDocument(text="bye\nnow")], 2, "utf-16")
    assert document.text == "bye\nnow"
    assert document.lines() == ["bye", "now"]
    assert document.import_spans() == []

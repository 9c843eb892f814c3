"""Edits from the editor are applied by offset, exactly as pygls would apply them line by line."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from lsprotocol import types
from pygls.workspace.text_document import TextDocument

from hermes_lsp.text import apply_changes, code_units, line_offset

# Text with multi-byte and astral characters (two UTF-16 units each), \n line breaks only.
texts = st.text(alphabet=st.sampled_from(list("ab \n\t(é漢😀")), max_size=80)


@given(texts, st.data(), st.text(alphabet=st.sampled_from(list("x\n😀é")), max_size=6))
def test_applying_an_edit_by_offset_matches_pygls(text: str, data: st.DataObject, new: str) -> None:
    lines = text.split("\n")

    def position() -> types.Position:
        line = data.draw(st.integers(0, len(lines) - 1))
        # Positions on character boundaries, in UTF-16 units as VS Code sends them.
        column = data.draw(st.integers(0, len(lines[line])))
        return types.Position(line, code_units(lines[line][:column], "utf-16"))

    a, b = position(), position()
    start, end = sorted([a, b], key=lambda p: (p.line, p.character))
    change = types.TextDocumentContentChangePartial(range=types.Range(start, end), text=new)
    reference = TextDocument("file:///x.py", text)
    reference.apply_change(change)
    assert apply_changes(text, [change], "utf-16").text == reference.source


def test_an_edit_past_the_end_appends_like_pygls() -> None:
    text = "a = 1\n"
    end = types.Position(5, 0)
    change = types.TextDocumentContentChangePartial(range=types.Range(end, end), text="b = 2\n")
    reference = TextDocument("file:///x.py", text)
    reference.apply_change(change)
    assert apply_changes(text, [change], "utf-16").text == reference.source == "a = 1\nb = 2\n"


@given(texts, st.integers(0, 30))
def test_line_offset_is_the_offset_after_the_nth_newline(text: str, line: int) -> None:
    starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]
    assert line_offset(text, line) == (starts[line] if line < len(starts) else None)

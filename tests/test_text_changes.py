"""didChange edits as the protocol defines them, and what is derived from the text keeping up."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from lsprotocol import types

from hermes_lsp.context.languages import by_name
from hermes_lsp.context.parsing import Document
from hermes_lsp.text import InvalidChange, LineMark, apply_changes, line_offset, position_at, split_lines
from hermes_lsp.uris import document_key, relative

ENCODINGS = ("utf-16", "utf-8", "utf-32")
# Short texts over an alphabet that exercises line ends and every encoding width.
TEXTS = st.text(alphabet=st.sampled_from(list("ab \n\r\té😀")), max_size=40)


def change(sl: int, sc: int, el: int, ec: int, text: str) -> types.TextDocumentContentChangePartial:
    return types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(sl, sc), types.Position(el, ec)), text=text
    )


def test_an_insert_past_the_end_of_the_last_line_lands_at_its_end() -> None:
    assert apply_changes("abc", [change(0, 10, 0, 10, "X")], "utf-16").text == "abcX"
    assert apply_changes("abc\ndef", [change(1, 99, 1, 99, "X")], "utf-16").text == "abc\ndefX"
    assert apply_changes("abc\r\ndef", [change(0, 99, 0, 99, "X")], "utf-16").text == "abcX\r\ndef"


def test_a_range_that_starts_after_its_end_is_refused() -> None:
    with pytest.raises(InvalidChange, match="starts .* after it ends"):
        apply_changes("abcdef", [change(0, 4, 0, 2, "X")], "utf-16")
    # One bad change refuses the whole notification: nothing half-applied.
    with pytest.raises(InvalidChange, match="change 2 of 2"):
        apply_changes("abc\ndef", [change(0, 0, 0, 0, "Y"), change(1, 0, 0, 3, "X")], "utf-16")


@given(TEXTS, st.data(), st.sampled_from(ENCODINGS))
def test_a_range_from_offsets_replaces_exactly_those_characters(
    text: str, data: st.DataObject, encoding: str
) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    # Between the \r and the \n of a line end is no position at all.
    assume(not any(0 < x < len(text) and text[x - 1 : x + 1] == "\r\n" for x in (start, end)))
    new = data.draw(TEXTS)
    (sl, sc), (el, ec) = position_at(text, start, encoding), position_at(text, end, encoding)
    changed = apply_changes(text, [change(sl, sc, el, ec, new)], encoding)
    assert changed.text == text[:start] + new + text[end:]
    assert changed.splices[0].start == start and changed.splices[0].end == end


@given(TEXTS, st.integers(0, 8), st.integers(0, 60), st.sampled_from(ENCODINGS))
def test_a_character_past_the_line_end_means_the_line_end(
    text: str, line: int, character: int, encoding: str
) -> None:
    lines = split_lines(text)  # a line ends at \n, \r\n or a lone \r
    if line >= len(lines):
        line = len(lines) - 1
    content = lines[line]
    length = position_at(content, len(content), encoding)[1]
    beyond = apply_changes(text, [change(line, length + character, line, length + character, "X")], encoding)
    at_end = apply_changes(text, [change(line, length, line, length, "X")], encoding)
    assert beyond.text == at_end.text
    assert split_lines(beyond.text)[line].endswith("X")


@given(
    TEXTS, st.lists(st.tuples(st.integers(0, 10), st.integers(0, 10), st.integers(0, 4), TEXTS), max_size=6)
)
def test_ordered_ranges_always_apply_and_reversed_ones_never_do(
    text: str, edits: list[tuple[int, int, int, str]]
) -> None:
    for line, character, span, new in edits:
        good = change(line, character, line + span // 2, character + span, new)
        text = apply_changes(text, [good], "utf-16").text
        if span:
            bad = change(line + span // 2, character + span, line, character, new)
            with pytest.raises(InvalidChange):
                apply_changes(text, [bad], "utf-16")


@given(TEXTS, st.lists(st.tuples(st.integers(0, 12), st.integers(0, 6), TEXTS), min_size=1, max_size=12))
def test_searching_lines_from_the_last_change_finds_the_same_places(
    text: str, edits: list[tuple[int, int, str]]
) -> None:
    plain, marked, mark = text, text, None
    for line, character, new in edits:
        edit = [change(line, character, line, character + 1, new)]
        plain = apply_changes(plain, edit, "utf-16").text
        changed = apply_changes(marked, edit, "utf-16", mark)
        marked, mark = changed.text, changed.mark
        assert marked == plain
        for probe in range(0, 14, 3):
            assert line_offset(marked, probe, mark) == line_offset(marked, probe)


def test_a_mark_of_another_text_is_never_used() -> None:
    text = "a\nb\nc\n"
    stale = LineMark("x\n" * 10, 5, 10)  # an equal-looking mark of another string
    assert line_offset(text, 2, stale) == 4
    assert line_offset(text, 9, stale) is None


def test_lines_follow_every_keystroke_replayed() -> None:
    """Each read of ``lines()`` between keystrokes gives the current text's lines."""
    rng = random.Random(9)
    text = "def f(x):\n    return x\n" * 20
    document = Document("file:///k.py", "k.py", text, by_name("python"), 1)
    for version in range(2, 302):
        line = rng.randrange(text.count("\n") + 1)
        typed = rng.choice(["a", "\n", "(", "", " "])
        edit = change(line, rng.randrange(12), line, rng.randrange(12, 14), typed)
        changed = apply_changes(document.text, [edit], "utf-16")
        document.update(changed, version)
        text = changed.text
        assert document.lines() == text.split("\n")


@pytest.mark.parametrize(
    ("spelled", "opened"),
    [
        ("file:///x/my%20file.py", "file:///x/my file.py"),
        ("file:///x/caf%C3%A9.py", "file:///x/caf%c3%a9.py"),
        ("file:///x/caf%C3%A9.py", "file:///x/café.py"),
    ],
)
def test_every_spelling_of_a_uri_is_one_document(spelled: str, opened: str) -> None:
    assert document_key(spelled) == document_key(opened)
    assert relative(spelled, "/x") == relative(opened, "/x")


def test_paths_relative_to_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "my file.py").write_text("x = 1\n")
    (tmp_path / "link.py").symlink_to(tmp_path / "pkg" / "my file.py")
    uri = (tmp_path / "pkg" / "my file.py").as_uri()
    assert relative(uri, str(tmp_path)) == "pkg/my file.py"
    assert relative((tmp_path / "link.py").as_uri(), str(tmp_path)) == "pkg/my file.py"
    assert relative("/elsewhere/a.py", str(tmp_path)) == "/elsewhere/a.py"
    assert relative("pkg/a.py", str(tmp_path)) == "pkg/a.py"
    assert relative("file:///tmp/a%00b.py", str(tmp_path)) == "/tmp/a\x00b.py"  # no such file, no error

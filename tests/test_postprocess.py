"""Post-processing of completion answers: what the user sees as ghost text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hermes_lsp.features import postprocess as pp
from hermes_lsp.features.completion import Shown, typeahead
from hermes_lsp.features.postprocess import decide_multiline, postprocess
from hermes_lsp.indentation import unit_of
from hermes_lsp.model.hermes import parse_answer, strip_think


def test_think_blocks_and_fences_are_removed():
    answer = "<think>the user wants a sum</think>\n```python\nreturn a + b\n```\nThis adds."
    assert [block.text for block in parse_answer(answer)] == ["return a + b"]


def test_unfinished_think_hides_everything_after_it():
    assert strip_think("x = 1<think>still going") == "x = 1"
    assert strip_think("reasoning without an opening tag</think>\nresult") == "result"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("```\ncode\n```", "code"),
        ("```js\nlet a = 1;\n", "let a = 1;\n"),  # closing fence not streamed yet
        ("plain", "plain"),
        ("````\nhas ``` inside\n````", "has ``` inside"),
    ],
)
def test_code_fences(answer: str, expected: str):
    assert parse_answer(answer)[0].text == expected


def test_single_line_stops_at_the_first_line_and_says_so():
    result = postprocess("total += x\nprint(total)", "for x in xs:\n    ", "\n", multiline=False)
    assert result.text == "total += x" and result.truncated


def test_single_line_slot_answered_with_a_new_line_shows_nothing():
    assert postprocess("\nfoo()", "x = ", "", multiline=False).text == ""


def test_repeated_rest_of_line_is_dropped():
    # Cursor inside "print(|)": the model repeats the closing parenthesis.
    result = postprocess("'hello')", "print(", ")\n", multiline=False)
    assert result.text == "'hello'"


def test_echo_of_the_line_start_is_dropped():
    assert postprocess("    return a + b", "def f(a, b):\n    ", "\n", multiline=True).text == "return a + b"
    assert postprocess("result = compute()", "    result = ", "", multiline=False).text == "compute()"


def test_multiline_stops_at_the_end_of_the_enclosing_block():
    prefix = "class A:\n    def f(self):\n        "
    answer = "x = 1\n        return x\n\n    def g(self):\n        pass"
    result = postprocess(answer, prefix, "\n", multiline=True)
    assert result.text == "x = 1\n        return x"
    assert result.truncated


def test_multiline_braces_stop_before_the_existing_closing_brace():
    prefix = "function f() {\n  "
    answer = "const a = 1;\n  return a;\n}\n\nfunction g() {}"
    result = postprocess(answer, prefix, "\n}\n", multiline=True)
    assert result.text == "const a = 1;\n  return a;"


def test_multiline_respects_max_lines():
    answer = "\n".join(f"x{i} = {i}" for i in range(30))
    result = postprocess(answer, "", "", multiline=True, max_lines=5)
    assert result.text.count("\n") == 4 and result.truncated


def test_rewriting_the_code_below_is_cut():
    prefix = "def f():\n    "
    suffix = "\n    return value\n"
    result = postprocess("value = 2\n    return value", prefix, suffix, multiline=True)
    assert result.text == "value = 2"


def test_unbalanced_closer_is_cut_but_strings_are_respected():
    # Closing what the line opened is fine, unless the text after the cursor closes it.
    assert postprocess("a, b)) + 1", "f(g(", "", multiline=False).text == "a, b)) + 1"
    assert postprocess("a, b)) + 1", "f(g(", ")", multiline=False).text == "a, b)"
    assert postprocess("x]", "f(", ")", multiline=False).text == "x"
    assert postprocess("')' + x)", "f(", ")", multiline=False).text == "')' + x"


@pytest.mark.parametrize(
    ("text", "offset_marker", "node_types", "expected"),
    [
        ("def f():\n    |\n", "|", (), True),  # empty line in a body
        ("if ready:|\n", "|", (), True),  # after a block opener
        ("x = compute(|)\n", "|", (), False),  # text after the cursor: finish this line
        ("value = foo|bar\n", "|", (), False),  # mid-word
        ("s = 'abc|'\n", "|", ("string_content", "string"), False),  # inside a string
        ("x = |\n", "|", (), False),
    ],
)
def test_multiline_decision(text: str, offset_marker: str, node_types: tuple[str, ...], expected: bool):
    offset = text.index(offset_marker)
    text = text.replace(offset_marker, "")
    assert decide_multiline(text, offset, "auto", node_types) is expected


def test_multiline_mode_can_be_forced():
    assert decide_multiline("x = foo", 3, "always") is True
    assert decide_multiline("def f():\n    ", 13, "never") is False


def test_typeahead_serves_the_rest_of_the_shown_suggestion():
    shown = Shown(prefix="x = ", suffix="\n", text="compute(1)")
    assert typeahead(shown, "x = comp", "\n") == "ute(1)"
    assert typeahead(shown, "x = cx", "\n") is None  # typed something else
    assert typeahead(shown, "x = comp", "\nmore") is None  # the rest of the file changed
    assert typeahead(shown, "x = compute(1)", "\n") is None  # fully typed: nothing left
    assert typeahead(shown, "x = ", "\n") is None  # nothing typed: ask again


def _plain_document(prefix: str, suffix: str) -> pp._Document:
    """The document split around the cursor the obvious way: the whole window at once."""
    eol = "\r\n" if "\r\n" in prefix[-4096:] or "\r\n" in suffix[:4096] else "\n"
    start, floor = len(prefix), max(0, len(prefix) - pp._ECHO_CHARS)
    for _ in range(pp._ECHO_WINDOW + 1):
        start = prefix.rfind("\n", floor, start)
        if start == -1:
            start = prefix.rfind("\n", 0, floor + 1) if floor else -1
            break
    lines = [line.rstrip("\r") for line in prefix[start + 1 :].split("\n")]
    end = -1
    for _ in range(pp._ECHO_WINDOW + 1):
        end = suffix.find("\n", end + 1)
        if end == -1 or end > pp._ECHO_CHARS:
            break
    after = [line.rstrip("\r") for line in (suffix if end == -1 else suffix[:end]).split("\n")]
    known = [line.strip() for line in lines]
    return pp._Document(lines[:-1], lines[-1], after[0], after[1:], eol, known, unit_of(lines[-200:]))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=" \t\r\nab:", max_size=120), st.text(alphabet=" \t\r\nab:", max_size=60), st.data())
def test_the_document_read_in_parts_is_the_document_read_whole(
    text: str, typed: str, data: st.DataObject
) -> None:
    cursor = data.draw(st.integers(0, len(text)))
    prefix, suffix = text[:cursor], text[cursor:]
    # Typing character by character: the lines above are kept from one keystroke to the next.
    for count in range(len(typed) + 1):
        now = prefix + typed[:count]
        assert pp._document(now, suffix) == _plain_document(now, suffix)


@pytest.mark.parametrize(("chars", "lines"), [(50, 4000), (50, 3), (4000, 3)])
def test_the_document_window_is_cut_the_same_in_a_large_file(
    monkeypatch: pytest.MonkeyPatch, chars: int, lines: int
) -> None:
    monkeypatch.setattr(pp, "_ECHO_CHARS", chars)
    monkeypatch.setattr(pp, "_ECHO_WINDOW", lines)
    text = "".join(f"{'    ' * (i % 3)}line_{i}:\n" for i in range(40))
    for cursor in range(0, len(text), 7):
        assert pp._document(text[:cursor], text[cursor:]) == _plain_document(text[:cursor], text[cursor:])

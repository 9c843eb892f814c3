"""Aligning a model's answer with the document: the ghost text is exactly the missing text.

A property (for any answer made of a tail of the text before the cursor, the new text and
a head of the text after it, fenced or wrapped in prose or not, the ghost text is the new
text) next to a corpus of realistic answers in four languages.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hermes_lsp.features.postprocess import postprocess
from tests.completion_corpus import Case, all_cases, stream

CASES = all_cases()


def test_the_corpus_covers_every_language_and_quirk():
    languages = Counter(case.name.split(":")[0] for case in CASES)
    quirks = {case.quirk.split(" (")[0] for case in CASES}
    assert len(CASES) >= 60 and set(languages) == {"python", "typescript", "go", "rust"}
    assert {
        "prose+fence+prose",
        "echo of preceding lines",
        "whole function rewritten",
        "whole file rewritten",
        "new code followed by existing code",
        "CRLF",
        "tabs",
        "non-ASCII",
        "answer cut mid-stream",
        "must show nothing",
    } <= quirks
    assert any("\r\n" in case.prefix for case in CASES) and any("\t" in case.prefix for case in CASES)


def test_at_least_98_percent_of_the_corpus_gives_exactly_the_wanted_document():
    exact = [case.name for case in CASES if case.prefix + stream(case).text + case.suffix == case.after]
    rate = len(exact) / len(CASES)
    missed = sorted({case.name for case in CASES} - set(exact))
    print(f"completion corpus: {len(exact)}/{len(CASES)} exact ({rate:.1%}); missed: {missed}")
    assert rate >= 0.98, missed


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_no_answer_leaves_a_document_worse_than_not_accepting(case: Case):
    # Accepting must give the wanted text or a start of it (typing on finishes it);
    # a case that must show nothing shows nothing.
    shown = stream(case).text
    assert case.wanted.startswith(shown), (shown, case.wanted)


def test_the_stream_is_closed_once_the_code_block_is_complete():
    case = next(c for c in CASES if c.name == "python:prose fence prose")
    closing = case.answer.index("```\n", case.answer.index("```python") + 3) + 3
    result = postprocess(case.answer[:closing], case.prefix, case.suffix, multiline=True)
    assert result.truncated and result.text == case.wanted
    # Before the fence arrives, the sentence in front of it is neither shown nor a reason to stop.
    early = postprocess("Here is the completion:\n", case.prefix, case.suffix, multiline=True)
    assert early.text == "" and not early.truncated


def test_an_echo_still_streaming_stops_nothing():
    prefix = "import os\n\n\ndef walk(top):\n    "
    partial = "```python\nimport os\n\n\ndef wa"
    result = postprocess(partial, prefix, "\n", multiline=True)
    assert result.text == "" and not result.truncated


def test_a_sentence_is_kept_where_the_user_writes_one():
    # In a comment or a docstring a sentence is the completion; in code it is chatter.
    comment = postprocess("Compute the total of the values.", "def f(xs):\n    # ", "\n", multiline=False)
    docstring = postprocess("Returns the sum of a and b.", 'def f(a, b):\n    """', "\n", multiline=False)
    chatter = postprocess("Here is the code for it:", "for (let i = 0; ", ")", multiline=False)
    assert comment.text == "Compute the total of the values."
    assert docstring.text == "Returns the sum of a and b."
    assert chatter.text == ""


# -- the property ---------------------------------------------------------------------------

# Three vocabularies, so that the new text never happens to repeat the document.
_BEFORE = st.sampled_from(["alpha = load()", "beta = alpha + 1", "if beta:", "gamma(beta)", "# setup"])
_NEW = st.sampled_from(["delta = 2", "epsilon(delta)", "zeta = [delta]", "eta.append(zeta)"])
_AFTER = st.sampled_from(["return theta", "kappa = theta", "lambda_(kappa)", "print(kappa)"])


@st.composite
def completions(draw: st.DrawFn) -> tuple[str, str, str, str, bool]:
    """(answer, prefix, suffix, wanted, multiline) with answer = tail + wanted + head."""
    indent = draw(st.sampled_from(["", "    ", "\t", "  "]))
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    before = [indent + line for line in draw(st.lists(_BEFORE, min_size=1, max_size=6))]
    after = [indent + line for line in draw(st.lists(_AFTER, min_size=1, max_size=6))]
    new = draw(st.lists(_NEW, min_size=1, max_size=5))
    multiline = draw(st.booleans())
    if not multiline:
        new = new[:1]
    prefix = eol.join(["def f():", *before, indent])
    suffix = eol + eol.join(after) + eol
    wanted = eol.join([new[0], *(indent + line for line in new[1:])])
    # The answer: some of the lines before (maybe all, maybe shifted left or padded with
    # trailing spaces), the cursor line's start or not, the new text, some lines after.
    echoed = draw(st.integers(0, len(before)))
    shift = draw(st.sampled_from(["", indent])) if echoed else ""
    pad = draw(st.sampled_from(["", "  "]))
    tail = [line.removeprefix(shift) + pad for line in before[len(before) - echoed :]]
    first = (indent.removeprefix(shift) if echoed or draw(st.booleans()) else "") + new[0]
    head = [line.removeprefix(shift) for line in after[: draw(st.integers(0, len(after)))]]
    body = [*tail, first, *(indent.removeprefix(shift) + line for line in new[1:]), *head]
    answer = "\n".join(body)
    style = draw(st.sampled_from(["bare", "fenced", "prose"]))
    if style == "fenced":
        answer = f"```python\n{answer}\n```"
    elif style == "prose":
        answer = f"Here is the completion:\n\n```python\n{answer}\n```\n\nIt continues the function."
    return answer, prefix, suffix, wanted, multiline


@settings(max_examples=300, deadline=None)
@given(completions())
def test_the_ghost_text_is_exactly_what_the_answer_adds(example: tuple[str, str, str, str, bool]):
    answer, prefix, suffix, wanted, multiline = example
    assert postprocess(answer, prefix, suffix, multiline=multiline).text == wanted


_ARGUMENTS = st.sampled_from(["delta", "epsilon, 2", "zeta=[1]", "eta.size"])


@st.composite
def mid_line_completions(draw: st.DrawFn) -> tuple[str, str, str, str]:
    """(answer, prefix, suffix, wanted) for a cursor inside a call, rest of the line after it."""
    indent = draw(st.sampled_from(["", "    ", "\t"]))
    before = [indent + line for line in draw(st.lists(_BEFORE, min_size=1, max_size=4))]
    after = [indent + line for line in draw(st.lists(_AFTER, min_size=0, max_size=3))]
    start, rest = indent + "result = compute(", draw(st.sampled_from([")", "):", ") + 1"]))
    wanted = draw(_ARGUMENTS)
    prefix = "\n".join([*before, start])
    suffix = rest + "".join("\n" + line for line in after) + "\n"
    echoed = before[len(before) - draw(st.integers(0, len(before))) :]
    line_start = draw(st.sampled_from([start, start.lstrip(), ""]))
    # With whole lines repeated, the cursor line is repeated too (as the document has it).
    line_start = start if echoed and not line_start.strip() else line_start
    head = "".join("\n" + line for line in after[: draw(st.integers(0, len(after)))])
    answer = "\n".join([*echoed, line_start + wanted + draw(st.sampled_from([rest, ""])) + head])
    if draw(st.booleans()):
        answer = f"```python\n{answer}\n```"
    return answer, prefix, suffix, wanted


@settings(max_examples=300, deadline=None)
@given(mid_line_completions())
def test_mid_line_the_ghost_text_is_exactly_what_the_answer_adds(example: tuple[str, str, str, str]):
    answer, prefix, suffix, wanted = example
    assert postprocess(answer, prefix, suffix, multiline=False).text == wanted


_PIECES = st.sampled_from(
    [
        "```",
        "```py",
        "~~~",
        "\n",
        "\r\n",
        "    ",
        "\t",
        "def f():",
        "x = 1",
        "}",
        "<think>",
        "</think>",
        "Here is the code:",
        "<CURSOR>",
        "é",
        ")",
    ]
)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(_PIECES, max_size=30).map("".join),
    st.lists(_PIECES, max_size=20).map("".join),
    st.lists(_PIECES, max_size=20).map("".join),
    st.booleans(),
)
def test_any_answer_gives_text_and_never_an_error(answer: str, prefix: str, suffix: str, multiline: bool):
    result = postprocess(answer, prefix, suffix, multiline=multiline)
    assert isinstance(result.text, str) and "<CURSOR>" not in result.text
    if not multiline:
        assert "\n" not in result.text

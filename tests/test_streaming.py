"""Work per streamed chunk stays linear: the rules that decide how often the whole
partial answer is looked at."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hermes_lsp.features.agent import ThoughtFollower
from hermes_lsp.features.completion import CHECK_ALWAYS_CHARS, _worth_checking


def last_thought(raw: str) -> str | None:
    """The specification: the last non-blank line of an unclosed ``<think>`` block."""
    start = raw.rfind("<think>")
    if start == -1 or "</think>" in raw[start:]:
        return None
    lines = [ln.strip() for ln in raw[start + 7 :].split("\n") if ln.strip()]
    return lines[-1][:100] if lines else None


pieces = st.lists(
    st.one_of(
        st.sampled_from(["<think>", "</think>", "<thi", "nk>", "</th", "ink>", "\n", " "]),
        st.text(alphabet="ab \n<>/", max_size=12),
    ),
    max_size=40,
)


@given(deltas=pieces)
@settings(max_examples=300, deadline=None)
def test_the_followed_thought_is_the_last_line_of_the_open_think_block(deltas: list[str]):
    follower = ThoughtFollower()
    raw = ""
    for delta in deltas:
        raw += delta
        assert follower.feed(raw) == last_thought(raw)


def test_a_2_mb_answer_of_short_lines_is_post_processed_a_linear_number_of_characters():
    line = "    total += value  # keep going\n"
    length = checked = work = 0
    while length < 2_000_000:
        length += len(line)
        if _worth_checking(line, length, checked):
            checked = length
            work += length
    # Every line ends with a newline; without the growth rule the work would be ~60,000 x 1 MB.
    assert work < 6 * length + CHECK_ALWAYS_CHARS**2 // len(line)


def test_deltas_that_cannot_end_a_line_or_a_bracket_are_never_post_processed():
    assert not _worth_checking("abc def", 10, 0)
    assert _worth_checking("x)", 10, 0) and _worth_checking("\n", 10, 0)

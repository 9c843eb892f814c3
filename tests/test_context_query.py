"""What the code around the cursor asks for: the same answer whether read afresh or
partly from what the previous keystroke read."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from hermes_lsp.context import retrieve
from hermes_lsp.context.retrieve import Regions, Request, near_identifiers, query_of

# The plain pattern: tried at every character and free to backtrack.
PLAIN_QUALIFIED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:\.|::|->)\s*([A-Za-z_][A-Za-z0-9_]*)")

code_text = st.text(alphabet="ab9_ .:->\n\t(x'\"/", max_size=80)


@settings(max_examples=400, deadline=None)
@given(code_text)
def test_qualified_names_are_those_the_plain_pattern_finds(text: str) -> None:
    assert retrieve._QUALIFIED.findall(text) == PLAIN_QUALIFIED.findall(text)


def _forget() -> None:
    for cached in (retrieve._far_words, retrieve._qualified, retrieve.string_literals):
        cached.cache_clear()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="ab_ .\n", max_size=30), min_size=1, max_size=60), st.data())
def test_regions_cover_the_text_around_the_cursor_in_whole_lines(
    lines: list[str], data: st.DataObject
) -> None:
    text = "\n".join(lines)
    offset = data.draw(st.integers(0, len(text)))
    regions = Regions.around(text, offset)
    assert regions.before + regions.after == text[offset - len(regions.before) : offset + len(regions.after)]
    start = offset - len(regions.before) - len(regions.far_before)
    assert text[start : offset + len(regions.after) + len(regions.far_after)] == (
        regions.far_before + regions.before + regions.after + regions.far_after
    )
    assert start == 0 or text[start - 1] == "\n"  # whole lines
    assert regions.before.count("\n") <= retrieve.NEAR_LINES


def test_a_keystroke_asks_for_the_same_names_with_or_without_what_the_last_one_read() -> None:
    body = "\n".join(
        f"def handler_{i}(request, registry):\n"
        f"    value = registry.lookup('item_{i}')\n"
        "    return value.total"
        for i in range(300)
    )
    cursor = body.index("def handler_150")
    typed = "result = compute_totals(records, key=lambda r: r.amount)\n"
    _forget()
    kept_parts = 0
    for count in range(1, len(typed) + 1):
        text = body[:cursor] + typed[:count] + body[cursor:]
        request = Request("app.py", text, cursor + count, 1024, text.split("\n"), language="python")
        hits = retrieve._far_words.cache_info().hits
        kept = query_of(request)
        kept_parts += retrieve._far_words.cache_info().hits - hits
        _forget()
        fresh = query_of(request)
        assert kept.names == fresh.names
        assert kept.qualifiers == fresh.qualifiers and kept.links.strings == fresh.links.strings
        assert fresh.qualifiers["lookup"] == {"registry"} and "item_150" in fresh.links.strings
    # The far parts move only when their ends cross a line: most keystrokes read neither.
    assert kept_parts >= 2 * (len(typed) - 1) * 0.75


def test_the_names_near_the_cursor_weigh_more_than_those_far_away() -> None:
    text = "far_name = 1\n" + "x = 1\n" * 60 + "near_name = 2\n"
    request = Request("app.py", text, len(text), 1024, text.split("\n"), language="python")
    names = near_identifiers(request)
    assert names["near_name"] == 0.75  # the line just above the cursor
    assert 0 < names["far_name"] < names["near_name"]
    assert "x" not in names  # one letter says nothing

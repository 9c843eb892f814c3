"""Moving code between indentation frames: offsets within one kind, levels across kinds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hermes_lsp.indentation import reindent, unit_of

CODE = ["def f():", "    if x:", "        return 1", "    return 2"]


def test_spaces_keep_their_offset_and_become_tabs_in_a_tab_file():
    assert reindent(CODE, "", "    ", "    ") == ["    " + line if line else line for line in CODE]
    assert reindent(CODE, "", "\t", "\t") == ["\tdef f():", "\t\tif x:", "\t\t\treturn 1", "\t\treturn 2"]
    # Written deeper than the file (8 spaces for code at 4): moved back by the same offset.
    deep = ["        " + line for line in CODE]
    assert reindent(deep, "        ", "    ", "    ") == ["    " + line for line in CODE]


def test_the_unit_of_a_file():
    assert unit_of(["x", "\tindented"]) == "\t"
    assert unit_of(["x", "  a", "    b"]) == "  "
    assert unit_of(["no indentation"]) == "    "


@given(
    st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["a", "b = 1", "call(x)"])), min_size=1),
    st.sampled_from(["    ", "\t"]),
    st.integers(0, 3),
)
def test_moving_there_and_back_changes_nothing(rows: list[tuple[int, str]], unit: str, depth: int):
    lines = [unit * level + text for level, text in rows]
    base = unit * min(level for level, _ in rows)  # the frame: nothing sits left of it
    moved = reindent(lines, base, unit * depth, unit)
    assert reindent(moved, unit * depth, base, unit) == lines

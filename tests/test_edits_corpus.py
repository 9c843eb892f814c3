"""The edits corpus: every edit tool, with indentation drift, whitespace drift, CRLF, tabs and
files without a final newline, gives exactly the expected file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from hermes_lsp.edits import EditError, EditSet, FileState
from hermes_lsp.model.tools import ToolCall
from hermes_lsp.text import offset_at
from tests.completion_corpus import tabs_for_spaces

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "data" / "edits" / "edits.yaml").read_text(encoding="utf-8")
)


def _shape(text: str, case: dict[str, Any]) -> str:
    if case.get("indent") == "tab":
        text = tabs_for_spaces(text)
    if case.get("no_final_newline"):
        text = text.removesuffix("\n")
    if case.get("eol") == "crlf":
        text = text.replace("\n", "\r\n")
    return text


def _apply(case: dict[str, Any], root: Path) -> str | None:
    if case["file"] is not None:
        (root / case["path"]).write_bytes(_shape(case["file"], case).encode())
    edits = EditSet(str(root), lambda uri: None)
    try:
        edits.apply(ToolCall(case["tool"], {"path": case["path"], **case["arguments"]}))
    except EditError:
        return None
    assert edits.syntax_problems() == []
    return edits.files[case["path"]].text


def test_the_corpus_covers_every_tool_and_drift():
    tools = {case["tool"] for case in CASES}
    assert tools == {"search_replace", "replace_symbol", "insert_code", "create_file"}
    for tool in tools - {"create_file"}:
        flags = {
            key
            for case in CASES
            if case["tool"] == tool
            for key in ("eol", "indent", "no_final_newline")
            if case.get(key)
        }
        assert flags == {"eol", "indent", "no_final_newline"}, tool
        names = " ".join(case["name"] for case in CASES if case["tool"] == tool)
        assert "indentation drift" in names and "whitespace drift" in names, tool


def test_every_edit_gives_exactly_the_expected_file(tmp_path: Path):
    exact = []
    for index, case in enumerate(CASES):
        root = tmp_path / str(index)
        root.mkdir()
        if _apply(case, root) == _shape(case["after"], case):
            exact.append(case["name"])
    missed = [case["name"] for case in CASES if case["name"] not in exact]
    print(f"edits corpus: {len(exact)}/{len(CASES)} exact ({len(exact) / len(CASES):.1%}); missed: {missed}")
    assert not missed


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_each_edit(tmp_path: Path, case: dict[str, Any]):
    assert _apply(case, tmp_path) == _shape(case["after"], case)


# -- the property ---------------------------------------------------------------------------

_STATEMENTS = ["total = 0", "for item in items:", "if item:", "total += item", "log(total)", "return total"]


@st.composite
def drifted_searches(draw: st.DrawFn) -> tuple[str, str, str, str]:
    """(file, search, replace, expected): a unique run of lines, searched with drift."""
    unit = draw(st.sampled_from(["    ", "  ", "\t"]))
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    depths = [1]
    for _ in range(draw(st.integers(3, 8))):
        depths.append(max(1, depths[-1] + draw(st.sampled_from([-1, 0, 1]))))
    body = [f"{_STATEMENTS[i % len(_STATEMENTS)]}  # {i}" for i in range(len(depths))]
    lines = ["def f(items):", *(unit * d + text for d, text in zip(depths, body, strict=True))]
    final = draw(st.sampled_from(["\n", ""]))
    text = eol.join(lines) + (eol if final else "")
    start = draw(st.integers(1, len(lines) - 1))
    end = draw(st.integers(start, len(lines) - 1))
    # The model's search: its own indentation unit and offset, trailing spaces, \n endings.
    shift = draw(st.integers(-min(depths[start - 1 : end]), 3))
    model_unit = draw(st.sampled_from(["    ", "  "]))
    pad = draw(st.sampled_from(["", "   "]))

    def as_model(index: int, content: str) -> str:
        return model_unit * (depths[index - 1] + shift) + content

    search = "\n".join(as_model(i, lines[i].strip()) + pad for i in range(start, end + 1)) + "\n"
    replaced = [as_model(i, lines[i].strip().replace("#", "# changed")) for i in range(start, end + 1)]
    inserted = as_model(end, "note(total)")
    replace = "\n".join([*replaced, inserted]) + "\n"
    expected_lines = [
        *lines[:start],
        *(unit * depths[i - 1] + lines[i].strip().replace("#", "# changed") for i in range(start, end + 1)),
        unit * depths[end - 1] + "note(total)",
        *lines[end + 1 :],
    ]
    expected = eol.join(expected_lines) + (eol if final else "")
    return text, search, replace, expected


@settings(max_examples=200, deadline=None)
@given(drifted_searches())
def test_a_drifted_search_edits_exactly_what_the_exact_one_would(example: tuple[str, str, str, str]):
    # Whatever indentation unit and offset, trailing spaces or line endings the model's
    # search has, the replacement lands where an exact search would put it, indented alike.
    text, search, replace, expected = example
    edits = EditSet("/nonexistent-root", lambda uri: None)
    edits.files["f.py"] = FileState("f.py", "file:///f.py", text, None, text)
    edits.search_replace("f.py", search, replace)
    assert edits.files["f.py"].text == expected


@pytest.mark.parametrize("case", [c for c in CASES if c["file"] is not None], ids=lambda c: c["name"])
def test_the_editor_applying_the_edit_gets_exactly_the_expected_file(tmp_path: Path, case: dict[str, Any]):
    # What reaches the editor is one minimal TextEdit in UTF-16 positions; applied to the
    # file as the editor has it (CRLF, tabs, non-ASCII), it must give the expected file.
    original = _shape(case["file"], case)
    (tmp_path / case["path"]).write_bytes(original.encode())
    edits = EditSet(str(tmp_path), lambda uri: None)
    edits.apply(ToolCall(case["tool"], {"path": case["path"], **case["arguments"]}))
    (change,) = edits.workspace_edit("utf-16", "Hermes", annotate=False).document_changes
    (edit,) = change.edits
    start = offset_at(original, edit.range.start.line, edit.range.start.character).offset
    end = offset_at(original, edit.range.end.line, edit.range.end.character).offset
    assert original[:start] + edit.new_text + original[end:] == _shape(case["after"], case)
    # Neither end of the edit splits a CRLF pair (editors would leave a lone \r).
    assert all(original[at - 1 : at + 1] != "\r\n" for at in (start, end) if at)

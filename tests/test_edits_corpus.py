"""The edits corpus: every edit tool, with indentation drift, whitespace drift, CRLF, tabs and
files without a final newline, gives exactly the expected file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hermes_lsp.edits import EditError, EditSet
from hermes_lsp.model.tools import ToolCall
from tests.completion_corpus import _tabs

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "data" / "edits" / "edits.yaml").read_text(encoding="utf-8")
)


def _shape(text: str, case: dict[str, Any]) -> str:
    if case.get("indent") == "tab":
        text = _tabs(text)
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

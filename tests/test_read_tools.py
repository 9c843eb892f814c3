"""Read-only tools: bounded results, large files read by range, and failures as results."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hermes_lsp.context.engine import WorkspaceContext
from hermes_lsp.context.types import NullContext, Piece, Symbol
from hermes_lsp.edits import EditSet
from hermes_lsp.features import read_tools
from hermes_lsp.features.read_tools import ReadTools, bounded
from hermes_lsp.model.tools import ToolCall


class BrokenEngine(NullContext):
    """An engine whose index fails the way real ones have: a corrupt cache, no memory, a bug."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def find_symbols(self, name: str, path: str | None = None) -> list[Symbol]:
        raise self.error

    def find_references(self, name: str, limit: int = 200) -> list[Piece]:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.DatabaseError("database disk image is malformed"),
        MemoryError(),
        RecursionError("maximum recursion depth exceeded"),
        OSError(5, "Input/output error"),
        RuntimeError("anything else"),
    ],
)
async def test_any_failure_of_a_tool_is_an_error_result_naming_it(tmp_path: Path, error: BaseException):
    tools = ReadTools(BrokenEngine(error), EditSet(str(tmp_path), lambda uri: None))
    for call in (ToolCall("find_references", {"name": "x"}), ToolCall("read_symbol", {"name": "x"})):
        result = await tools.call(call)
        assert type(error).__name__ in result["error"] and call.name in result["error"]


async def test_a_file_above_the_size_limit_is_read_by_range_and_never_parsed(tmp_path: Path):
    (tmp_path / "data.py").write_text(
        "X = '" + "y" * 3_000_000 + "'\n" + "".join(f"Z{i} = {i}\n" for i in range(9))
    )
    edits = EditSet(str(tmp_path), lambda uri: None, max_file_bytes=64 * 1024)
    tools = ReadTools(NullContext(), edits, 2000)
    listed = await tools.call(ToolCall("list_symbols", {"path": "data.py"}))
    assert "index.maxFileKb (64 KB)" in listed["error"]
    first = await tools.call(ToolCall("read_file", {"path": "data.py", "start_line": 1, "end_line": 3}))
    assert len(json.dumps(first)) <= 2000 and "limits.maxToolResultChars" in first["note"]
    assert first["text"].startswith("    1  X = 'yyy")
    later = await tools.call(ToolCall("read_file", {"path": "data.py", "start_line": 2, "end_line": 4}))
    assert later["text"].split("\n") == ["    2  Z0 = 0", "    3  Z1 = 1", "    4  Z2 = 2"]
    assert "note" not in later


async def test_a_large_file_is_parsed_in_the_worker_with_the_same_answer(tmp_path: Path):
    text = "".join(f"def f_{i}(x):\n    return x + {i}\n\n\n" for i in range(4000))
    assert len(text) > read_tools.PARSE_INLINE_CHARS
    (tmp_path / "many.py").write_text(text)
    tools = ReadTools(NullContext(), EditSet(str(tmp_path), lambda uri: None), 3000)
    listed = await tools.call(ToolCall("list_symbols", {"path": "many.py"}))
    assert listed == read_tools.symbols_of("many.py", text, 3000)
    assert listed["items"][:2] == [
        {"name": "f_0", "kind": "function", "lines": "1-2"},
        {"name": "f_1", "kind": "function", "lines": "5-6"},
    ]
    found = await tools.call(ToolCall("read_symbol", {"name": "f_3999", "path": "many.py"}))
    assert found == {"path": "many.py", "lines": "15997-15998", "text": "def f_3999(x):\n    return x + 3999"}


JSON_ITEMS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=300),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=10), inner, max_size=6),
    max_leaves=40,
)


@given(
    content=st.lists(JSON_ITEMS, max_size=60)
    | st.fixed_dictionaries({"path": st.text(max_size=40), "text": st.text(max_size=20_000)})
    | JSON_ITEMS,
    limit=st.integers(min_value=300, max_value=6000),
)
def test_a_bounded_result_always_fits_its_limit(content: object, limit: int):
    result = bounded(content, limit)
    assert len(json.dumps(result, ensure_ascii=False)) <= limit
    if len(json.dumps(content, ensure_ascii=False)) <= limit:
        assert result == content  # nothing is cut that did not need cutting
    else:
        assert "maxToolResultChars" in json.dumps(result)


@given(
    text=st.text(alphabet="ab\n\ré", max_size=300),
    start=st.integers(min_value=1, max_value=80),
    count=st.integers(min_value=1, max_value=30),
    block=st.integers(min_value=1, max_value=16),
)
def test_reading_a_range_from_disk_agrees_with_splitting_the_whole_text(
    text: str, start: int, count: int, block: int
):
    expected = [line.rstrip("\r") for line in text.split("\n")][start - 1 : start + count - 1]
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "f.py")
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        # Tiny blocks put lines, newlines and characters across block boundaries.
        with mock.patch.object(read_tools, "READ_BLOCK", block):
            assert read_tools._lines_from_disk(path, start, start + count - 1) == expected


def test_bench_tools_prints_each_tool_with_its_stall_and_the_floor():
    result = subprocess.run(
        [sys.executable, "-m", "hermes_lsp", "bench", "tools", "--huge-mb", "2", "--runs", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    rows = {name: row for name, row in figures.items() if isinstance(row, dict)}
    assert len(rows) == 5
    for row in rows.values():
        assert set(row) == {"first_ms", "median_ms", "max_stall_ms", "floor_stall_ms", "result_chars"}
        assert row["result_chars"] <= 32000  # the default limits.maxToolResultChars
    assert rows["list_symbols huge.py (refused)"]["result_chars"] < 400
    # The edit went through and the check found nothing wrong: {"ok": ..., "problems": []}.
    assert rows["replace_symbol capped.py + syntax check"]["result_chars"] < 100


async def test_find_references_reads_no_more_files_than_it_answers_with(tmp_path: Path):
    (tmp_path / "lib.py").write_text("def target():\n    return 1\n")
    for i in range(60):
        use = f"from lib import target\n\n\ndef f_{i}():\n    return target()\n"
        (tmp_path / f"use_{i:02}.py").write_text(use)
    engine = WorkspaceContext(workers=0)
    try:
        engine.start_sync(str(tmp_path))
        with mock.patch.object(engine, "_file_lines", wraps=engine._file_lines) as reads:
            tools = ReadTools(engine, EditSet(str(tmp_path), lambda uri: None))
            found = await tools.call(ToolCall("find_references", {"name": "target"}))
        assert len(found) == read_tools.MAX_REFERENCES
        assert reads.call_count <= read_tools.MAX_REFERENCES
        assert all(item["text"] in ("from lib import target", "return target()") for item in found)
    finally:
        engine.close()

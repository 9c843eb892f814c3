"""``hermes-lsp index`` and ``hermes-lsp context``: their output, which other tools parse."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hermes_lsp.cli import main


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HERMES_LSP_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "proj"
    (root / "geo").mkdir(parents=True)
    (root / "geo" / "shapes.py").write_text(
        'class Circle:\n    """A circle."""\n\n'
        "    def area(self) -> float:\n        return 3.14 * self.r**2\n"
    )
    (root / "app.py").write_text("from geo.shapes import Circle\n\nc = Circle()\nprint(c.area())\n")
    return root


def test_index_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", str(project), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["files"], report["indexed"], report["definitions"]) == (2, 2, 3)
    assert main(["index", str(project), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["indexed"] == 0  # warm: nothing re-scanned


def test_index_on_one_processor_scans_in_this_process(tmp_path: Path) -> None:
    """Pinned to one processor, ``hermes-lsp index`` starts no workers (they would only add
    their start-up) and builds the same index as workers do."""
    root = tmp_path / "many"
    root.mkdir()
    for i in range(80):
        (root / f"m{i}.py").write_text(f"def f{i}():\n    return f{(i + 1) % 80}()\n")
    cpu = min(os.sched_getaffinity(0))

    def index(cache: str, *extra: str) -> dict[str, object]:
        done = subprocess.run(
            [sys.executable, "-m", "hermes_lsp", "index", str(root), "--json", *extra],
            env={**os.environ, "HERMES_LSP_CACHE_DIR": str(tmp_path / cache)},
            preexec_fn=lambda: os.sched_setaffinity(0, {cpu}),
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(done.stdout)

    alone, pooled = index("alone"), index("pooled", "--workers", "2")
    assert (alone["workers"], pooled["workers"]) == (0, 2)
    figures = ("files", "indexed", "definitions", "languages", "skipped")
    assert {k: alone[k] for k in figures} == {k: pooled[k] for k in figures}
    assert alone["definitions"] == 80


def test_index_text_and_bad_root(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", str(project)]) == 0
    out = capsys.readouterr().out
    assert "definitions  3" in out and "files        2" in out
    assert main(["index", str(project / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_context_json_shape(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["context", f"{project / 'app.py'}:4:1", "--root", str(project), "--budget", "512", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"pieces", "tokens", "elapsed_ms"}
    assert result["pieces"], result
    for piece in result["pieces"]:
        assert set(piece) == {"kind", "path", "start_line", "end_line", "text", "tokens"}
    circle = next(p for p in result["pieces"] if p["path"] == "geo/shapes.py")
    assert (circle["kind"], circle["start_line"], circle["end_line"]) == ("definition", 1, 5)
    assert result["tokens"] == sum(p["tokens"] for p in result["pieces"]) <= 512


def test_context_stdin_buffer(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The unsaved buffer imports nothing and names nothing: no definitions come back.
    monkeypatch.setattr("sys.stdin", io.StringIO("x = 1\n"))
    code = main(["context", f"{project / 'app.py'}:1:1", "--root", str(project), "--stdin", "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["pieces"] == []


def test_context_bad_location(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["context", "app.py:zero:1", "--root", str(project)])
    assert "PATH:LINE:COL" in capsys.readouterr().err
    assert main(["context", f"{project / 'nope.py'}:1:1", "--root", str(project)]) == 2

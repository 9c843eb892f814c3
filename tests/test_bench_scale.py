"""``hermes-lsp bench context --scale`` measures a tree and a generated one end to end."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from hermes_lsp.bench import scale


def _tree(root: Path, files: int) -> Path:
    for i in range(files):
        path = root / f"pkg{i % 3}" / f"m{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"def f{i}(x):\n    return f{(i + 1) % files}(x)\n\n\nclass C{i}:\n    pass\n")
    return root


def test_scale_curve_puts_the_floor_beside_the_index(tmp_path: Path) -> None:
    root = _tree(tmp_path / "tree", 12)
    command = [sys.executable, "-m", "hermes_lsp", "bench", "context", "--scale", str(root)]
    result = subprocess.run(
        [*command, "--synthetic", "30", "--positions", "10", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["rows"]
    assert [row["cold"]["files"] for row in rows] == [12, 30]
    assert rows[1]["tree"].startswith("synthetic")
    for row in rows:
        assert row["floor"]["files"] == row["cold"]["files"]  # the same files, parsed both ways
        # Processor time of the whole tree of processes, workers included.
        assert row["cold"]["cpu_s"] > 0 and row["floor"]["process_cpu_s"] > 0
        warm = row["warm"]
        assert warm["rescanned"] == 0 and warm["positions"] >= 10 and warm["rss_mb"] > 0
        # The first context of each file, asked for as it opens, is told apart.
        assert warm["opened_max_ms"] >= warm["opened_p50_ms"] > 0 and warm["context_p99_ms"] > 0


def test_synthetic_tree_is_copies_under_other_names(tmp_path: Path) -> None:
    source = scale.Tree("src", str(_tree(tmp_path / "src", 5)))
    made = scale.synthetic_tree(str(tmp_path / "out"), 12, source)
    files = sorted(str(p.relative_to(made.root)) for p in Path(made.root).rglob("*.py"))
    assert len(files) == 12 and files[0] == os.path.join("copy0000", "pkg0", "m0.py")
    assert {f.split(os.sep)[0] for f in files} == {"copy0000", "copy0001", "copy0002"}


def test_repeated_runs_give_medians_and_the_spread_of_each_pairs_ratio(tmp_path: Path) -> None:
    root = _tree(tmp_path / "tree", 8)
    command = [sys.executable, "-m", "hermes_lsp", "bench", "context", "--scale", str(root)]
    result = subprocess.run(
        [*command, "--synthetic", "0", "--positions", "5", "--repeat", "3", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)["rows"]
    assert len(row["ratios"]["wall"]) == len(row["ratios"]["cpu"]) == 3
    assert all(ratio > 0 for ratio in row["ratios"]["wall"] + row["ratios"]["cpu"])
    assert row["cold"]["files"] == row["floor"]["files"] == 8
    assert row["warm"]["rescanned"] == 0  # the last cold run's cache, complete
    table = subprocess.run(
        [*command, "--synthetic", "0", "--positions", "5", "--repeat", "2"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert table.returncode == 0, table.stderr
    assert re.search(r"\d\.\d\dx \(\d\.\d\d-\d\.\d\d\)", table.stdout), table.stdout

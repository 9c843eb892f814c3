"""``hermes-lsp bench context``: recall at several budgets and the other-language count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hermes_lsp.cli import main

HELPERS = "".join(
    f'def helper_{i}(value):\n    """Helper {i} of the package, with a docstring."""\n    return value\n\n\n'
    for i in range(30)
)
USER = (
    "from pkg.helpers import *\n\n\ndef run(items):\n"
    + "".join(f"    items = helper_{i}(items)\n" for i in range(30))
    + "    notify(items)\n"
)
LUA = "local M = {}\n\nfunction M.notify(items)\n  print(items)\nend\n\nreturn M\n"


def test_recall_at_each_budget_on_the_same_lines_and_no_other_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "repo"
    for rel, text in {
        "pkg/__init__.py": "",
        "pkg/helpers.py": HELPERS,
        "editors/nvim/lua/notify.lua": LUA,
        **{f"pkg/user{k}.py": USER for k in range(5)},
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    args = ["bench", "context", str(root), "--json", "--positions", "4", "--samples", "10"]
    assert main([*args, "--recall-budgets", "64,1024"]) == 0
    figures = json.loads(capsys.readouterr().out)
    small, large = figures["recall"]
    assert (small["budget"], large["budget"]) == (64, 1024)
    assert small["lines"] == large["lines"] > 0 and small["identifiers"] == large["identifiers"] > 0
    assert small["mean_tokens"] <= 64 < large["mean_tokens"]
    assert large["recall"] > small["recall"]
    # `notify` is used in every file, and defined only in Lua: never offered.
    assert large["other_language_pieces"] == large["contexts_with_other_language"] == 0
    # Each sampled file's first context (asked for as it opens) is told apart from the rest.
    opened, settled = figures["first_context_ms"], figures["context_ms"]
    assert opened["n"] > 0 and settled["n"] >= opened["n"] and opened["max"] >= opened["p50"] > 0


def test_bad_budget_list_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["bench", "context", str(tmp_path), "--recall-budgets", "1024,none"])
    assert "not a list of token counts" in capsys.readouterr().err

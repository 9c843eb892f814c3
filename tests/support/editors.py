"""Helpers for the tests that drive real editors (Neovim, Emacs, the VS Code toolchain)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs

from hermes_lsp.scripted_server import Reply
from tests.support.lsp import call, turns

REPO = Path(__file__).resolve().parents[2]
EDITORS = REPO / "editors"
BIN = Path(sys.executable).parent
HERMES_LSP = BIN / "hermes-lsp"


def tool(name: str, hint: str) -> str:
    """The path of an editor binary: next to the interpreter (the venv) first, then PATH."""
    local = BIN / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed; {hint}")
    return found


def run_scenario(
    argv: list[str], result: Path, env: dict[str, str], cwd: Path, timeout: float = 90
) -> dict[str, Any]:
    """Run an editor script that writes its observations to ``result`` as JSON, and read them.

    The scripts bound their own waits; the timeout here only catches an editor that hangs
    before its script runs.
    """
    completed = subprocess.run(
        argv,
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if not result.exists():
        raise AssertionError(
            f"{argv[0]} exited with {completed.returncode} without writing {result.name}:\n"
            f"stdout: {completed.stdout[-3000:]}\nstderr: {completed.stderr[-3000:]}"
        )
    data: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
    data["_stderr"] = completed.stderr[-3000:]
    return data


tool_call = call  # the editor tests' name for it


def model_turns(*texts: str) -> list[Reply]:
    """One scripted chat reply per model turn, in order (a tool call, then the final answer)."""
    return [attrs.evolve(reply, path="/chat/completions") for reply in turns(*texts)]

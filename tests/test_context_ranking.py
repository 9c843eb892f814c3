"""What the context holds: code of the cursor's language, and more of the right code for a
larger budget (``hermes-lsp context`` on small repositories built here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hermes_lsp.cli import main

CLIENT_PY = '''"""Talks to the model server."""


def client(endpoint: str) -> str:
    """A client for ``endpoint``."""
    return endpoint
'''

LUA = """local M = {}

function M.client()
  return vim.lsp.get_clients({ name = "hermes" })[1]
end

function M.step(name)
  print(name)
end

return M
"""

SHELL = """#!/bin/sh
step() {
  echo "== $1"
}

client() {
  curl -s "$1"
}

step install
"""


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERMES_LSP_CACHE_DIR", str(tmp_path / "cache"))


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def _context(
    capsys: pytest.CaptureFixture[str], root: Path, rel: str, budget: int
) -> list[dict[str, object]]:
    line = len((root / rel).read_text().split("\n"))
    code = main(["context", f"{root / rel}:{line}:1", "--root", str(root), "--budget", str(budget), "--json"])
    assert code == 0
    pieces: list[dict[str, object]] = json.loads(capsys.readouterr().out)["pieces"]
    return pieces


def test_a_python_cursor_gets_python_not_lua_or_shell_of_the_same_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "repo"
    _write(
        root,
        {
            "hermes/remote.py": CLIENT_PY,
            "editors/nvim/lua/hermes/init.lua": LUA,
            "install.sh": SHELL,
            # A method named like the Lua and shell functions (defined nowhere in Python),
            # and a Python function of the Lua name reached through an import.
            "hermes/run.py": "from hermes.remote import client\n\n\nclass Runner:\n    def run(self):\n"
            '        self.step("start")\n        self.client = client("http://127.0.0.1")\n'
            "        return self.client\n",
        },
    )
    pieces = _context(capsys, root, "hermes/run.py", 2048)
    found = {(p["path"], p["start_line"]) for p in pieces if p["kind"] == "definition"}
    assert found == {("hermes/remote.py", 4)}, pieces


def test_a_script_the_code_runs_is_a_real_link(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    _write(
        root,
        {
            "install.sh": SHELL,
            "editors/nvim/lua/hermes/init.lua": LUA,
            "tools/setup.py": "import subprocess\n\n\ndef setup():\n"
            '    subprocess.run(["sh", "install.sh"], check=True)\n    step\n',
        },
    )
    pieces = _context(capsys, root, "tools/setup.py", 2048)
    paths = {p["path"] for p in pieces if p["kind"] == "definition"}
    assert paths == {"install.sh"}, pieces


def _layered_repository(root: Path) -> None:
    """app.py imports shop.models, which builds on shop.fields; a busy package elsewhere
    (noise/) is used a lot by its own files but has nothing to do with the app."""
    fields = "".join(
        f'class Field{i}:\n    """Field number {i}, with a docstring long enough to cost tokens."""\n\n'
        f"    def clean{i}(self, value):\n        return value\n\n\n"
        for i in range(40)
    )
    models = "from shop.fields import *\n\n\n" + "".join(
        f'def model_{i}(record):\n    """Model helper {i}: builds a record with a field."""\n'
        f"    return Field{i}().clean{i}(record)\n\n\n"
        for i in range(40)
    )
    noise = "".join(
        f'def noise_{i}(value):\n    """Noise helper {i}, used all over."""\n    return value\n\n\n'
        for i in range(60)
    )
    users = "from noise.core import *\n\n" + "".join(f"noise_{i}(1)\nnoise_{i}(2)\n" for i in range(60))
    files = {
        "shop/__init__.py": "",
        "shop/fields.py": fields,
        "shop/models.py": models,
        "noise/core.py": noise,
    }
    files.update({f"noise/user{k}.py": users for k in range(5)})
    files["app.py"] = (
        "from shop import models\n\n\ndef handle(request):\n    record = models.model_3(request)\n"
    )
    _write(root, files)


def test_a_larger_budget_brings_more_of_the_neighbourhood(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "repo"
    _layered_repository(root)
    small = [p for p in _context(capsys, root, "app.py", 1024) if p["kind"] == "definition"]
    large = [p for p in _context(capsys, root, "app.py", 4096) if p["kind"] == "definition"]
    assert sum(int(p["tokens"]) for p in large) > 2048  # the budget is used, not left idle
    assert len(large) > 2 * len(small)
    by_file = {path: sum(p["path"] == path for p in large) for path in ("shop/models.py", "shop/fields.py")}
    # What the imported module offers, and what it is built on (a second hop), come in...
    assert by_file["shop/models.py"] >= 10 and by_file["shop/fields.py"] >= 10, by_file
    # ... and nothing of the busy package the app never touches.
    assert not [p for p in large if str(p["path"]).startswith("noise/")]
    # The definition the cursor's own line names comes first, whatever the budget.
    assert any(p["path"] == "shop/models.py" and p["start_line"] == 1 + 5 * 3 + 3 for p in small), small

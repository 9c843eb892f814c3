"""Editor configurations that cannot run here (Helix, Sublime Text) name only settings the
server knows; the Emacs package byte-compiles without warnings."""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from hermes_lsp.config import merge_settings
from tests.support.editors import EDITORS, tool

pytestmark = pytest.mark.editor


def assert_known_settings(raw: dict[str, Any]) -> None:
    _, errors = merge_settings(raw)
    assert errors == []


def test_helix_languages_toml_starts_the_server_beside_each_language_server():
    config = tomllib.loads((EDITORS / "helix" / "languages.toml").read_text(encoding="utf-8"))
    server = config["language-server"]["hermes-lsp"]
    assert server["command"] == "hermes-lsp" and server["args"] == ["--stdio"]
    assert_known_settings(server["config"])
    assert config["language"], "no language uses the server"
    for language in config["language"]:
        servers = language["language-servers"]
        assert servers[-1] == "hermes-lsp" and len(servers) > 1, language["name"]


def test_sublime_lsp_client_settings():
    client = json.loads((EDITORS / "sublime" / "LSP.sublime-settings").read_text(encoding="utf-8"))
    hermes = client["clients"]["hermes-lsp"]
    assert hermes["command"] == ["hermes-lsp", "--stdio"]
    assert "source.python" in hermes["selector"]
    assert_known_settings(hermes["initializationOptions"])
    assert_known_settings(hermes["settings"]["hermes"])


def test_emacs_package_byte_compiles_without_warnings(tmp_path: Path):
    files = ["hermes-lsp-ghost.el", "hermes-lsp.el"]  # in dependency order
    for name in files:
        shutil.copy(EDITORS / "emacs" / name, tmp_path / name)
    completed = subprocess.run(
        [
            tool("emacs", "run ./install.sh --test"),
            "-q",
            "--batch",
            "-L",
            str(tmp_path),
            "--eval",
            "(setq byte-compile-error-on-warn t)",
            "-f",
            "batch-byte-compile",
            *[str(tmp_path / name) for name in files],
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert all((tmp_path / name).with_suffix(".elc").exists() for name in files)

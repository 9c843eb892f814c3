"""The VS Code extension (editors/vscode): it lints, compiles, passes its unit tests and
packages into a .vsix that holds what VS Code needs to run it; its contributed settings
mirror the server's settings, key for key and default for default."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from hermes_lsp.config import Settings, settings_to_json
from tests.support.editors import EDITORS, tool

pytestmark = pytest.mark.editor

EXTENSION = EDITORS / "vscode"
MANIFEST = json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))
PROPERTIES: dict[str, dict[str, Any]] = MANIFEST["contributes"]["configuration"]["properties"]
CLIENT_ONLY = {"hermes.serverPath", "hermes.serverArgs", "hermes.trace.server"}
# Empty in VS Code means "the server's default", which comes from the environment.
FROM_ENVIRONMENT = {"hermes.endpoint", "hermes.model", "hermes.apiKey"}


def npm(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    if not (EXTENSION / "node_modules").is_dir():
        pytest.fail("editors/vscode/node_modules is missing: run ./install.sh --test (it runs npm ci)")
    completed = subprocess.run(
        [tool("npm", "install Node.js 20 and npm"), *args],
        cwd=EXTENSION,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert completed.returncode == 0, f"npm {' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}"
    return completed


def flatten(obj: dict[str, Any], prefix: str = "hermes") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}.{key}"))
        else:
            out[f"{prefix}.{key}"] = value
    return out


def test_contributed_settings_mirror_the_server_settings():
    server = flatten(settings_to_json(Settings())) | {"hermes.apiKey": ""}
    contributed = {key: spec.get("default") for key, spec in PROPERTIES.items() if key not in CLIENT_ONLY}
    assert sorted(contributed) == sorted(server)
    for key, default in contributed.items():
        if key in FROM_ENVIRONMENT:
            assert default == "", key
        else:
            assert default == server[key], key


def test_lint_and_unit_tests_pass():
    npm("run", "lint")
    tests = npm("test")
    assert "# fail 0" in tests.stdout
    assert "# pass " in tests.stdout and "# pass 0\n" not in tests.stdout


def test_vsix_holds_the_compiled_extension_and_its_runtime_dependencies(tmp_path: Path):
    vsix = tmp_path / "hermes-lsp.vsix"
    npm("exec", "--", "vsce", "package", "--out", str(vsix))
    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("extension/package.json"))
    assert manifest["main"] == "./out/src/extension.js"
    assert "extension/out/src/extension.js" in names
    assert "extension/node_modules/vscode-languageclient/package.json" in names
    assert "extension/readme.md" in names
    # Sources, tests and dev tools stay out of the package.
    assert not [
        n for n in names if n.endswith(".ts") or "/out/test/" in n or "/node_modules/typescript/" in n
    ]
    assert manifest["engines"]["vscode"] == "^1.100.0"


def test_contributed_commands_do_not_collide_with_the_servers():
    """vscode-languageclient registers each server command as a VS Code command; a
    contributed command of the same name makes the client fail to start."""
    from hermes_lsp.server import create_server

    server_commands = set(create_server().protocol.fm.commands)
    contributed = {c["command"] for c in MANIFEST["contributes"]["commands"]}
    assert "hermes.whyNoSuggestion" in server_commands
    assert contributed & server_commands == set()

"""The packaged VS Code extension in a real VS Code (code-server 4.100.3 = VS Code 1.100.3),
driven by headless Chromium (editors/vscode/e2e/run.sh): the status bar reports the model
server, ghost text is shown and accepted with Tab, and Hermes' quick fix for a TypeScript
error is listed under Ctrl+., resolved and applied; "Hermes: Refactor Selection…" takes an
instruction in its input box and the edit lands in the file; "Hermes: Debug a Stack Trace…"
on a selected trace fixes the failing frame's file. Screenshots stay under the test's
temporary folder (/tmp), never in the repository."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.editors import EDITORS, HERMES_LSP

pytestmark = pytest.mark.editor

RUN = EDITORS / "vscode" / "e2e" / "run.sh"


def run_code_server(out: Path, **env: str) -> dict[str, Any]:
    completed = subprocess.run(
        [str(RUN)],
        env={**os.environ, "OUT": str(out), **env},
        capture_output=True,
        text=True,
        timeout=420,
        stdin=subprocess.DEVNULL,
    )
    report_file = out / "report.json"
    assert report_file.exists(), (
        f"run.sh wrote no report:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
    )
    report: dict[str, Any] = json.loads(report_file.read_text(encoding="utf-8"))
    assert completed.returncode == 0 and "error" not in report, (
        f"{report.get('error')}\n" + "\n".join(report["steps"]) + f"\nscreenshots: {report['screenshots']}"
    )
    return report


def test_ghost_text_and_quick_fix_in_vs_code(tmp_path: Path):
    report = run_code_server(tmp_path)

    assert report["status"] == "Hermes"
    assert "Hermes is ready" in report["statusTooltip"]
    assert report["ghostText"] == "return math.pi * r * r"
    # Alt+] asked for more suggestions and showed a different one; Alt+[ went back.
    assert report["nextGhostText"] == "return math.pi * r ** 2"
    assert report["previousGhostText"] == "return math.pi * r * r"
    # The status-bar menu: suggestions off everywhere, and the model server saw no request.
    assert report["menuItems"][:1] == ["Disable Suggestions"]
    assert {"Why No Suggestion?", "Show Log", "Restart Language Server", "Open Settings"} <= set(
        report["menuItems"]
    )
    assert report["statusOff"] == "Hermes: off"
    assert report["requestsWhileOff"] == 0 and report["ghostWhileOff"] == 0
    assert "Suggestions are switched off here" in report["whyWhileOff"]
    assert report["ghostWhenOn"] == "x = 1"
    assert report["spinnerWhileFetching"] is True  # the status bar spun while it was on its way
    assert report["afterAccept"] == "import math\n\n\ndef area(r):\n    return math.pi * r * r\n"
    # Ctrl+. lists Hermes' fix for TypeScript's diagnostic, first, among the other actions.
    assert report["codeActions"][:2] == [
        "Quick Fix",
        "Hermes: fix “Type 'string' is not assignable to type 'number'.”",
    ]
    assert "Hermes: add docstring" in report["codeActions"]
    assert report["afterQuickFix"] == (
        "export function half(n: number): number {\n  const result: number = n / 2;\n  return result;\n}\n"
    )
    assert report["errorsAfterQuickFix"] == 0  # TypeScript agrees the error is gone
    # The refactor command: the instruction typed in the input box reached the model.
    assert report["instructionReachedModel"] is True
    assert report["afterRefactor"] == "import math\n\n\ndef area(r):\n    return math.pi * r ** 2\n"
    # "Hermes: Debug a Stack Trace…" on a selected trace fixes the file of the failing frame.
    assert report["afterDebug"] == "import math\n\n\ndef area(r):\n    return math.pi * float(r) ** 2\n"
    # The server's lines reach the Hermes output channel at their own level (they used to
    # arrive through stderr, every one marked [error]); a fix that worked is no warning.
    output = (tmp_path / "hermes-output.log").read_text(encoding="utf-8").splitlines()
    [start] = [line for line in output if "hermes_lsp.server: hermes-lsp" in line and ", workspace " in line]
    assert "[info]" in start
    assert not [line for line in output if "[error]" in line and " INFO " in line]
    assert not [line for line in output if "[warning]" in line and "Returned the number" in line]
    names = [Path(p).name for p in report["screenshots"]]
    assert names == [
        "ghost-text.png",
        "status-menu.png",
        "quick-fix-menu.png",
        "quick-fix-applied.png",
        "refactor-input.png",
        "debug-applied.png",
    ]
    assert all(Path(p).stat().st_size > 10_000 for p in report["screenshots"])


def test_a_missing_server_is_explained_in_vs_code(tmp_path: Path):
    report = run_code_server(
        tmp_path,
        SCENARIO="missing-server",
        HERMES_LSP=str(tmp_path / "nowhere" / "hermes-lsp"),
        HERMES_LSP_FIXED=str(HERMES_LSP),
    )

    assert report["notification"].startswith(
        f'hermes.serverPath is set to "{tmp_path / "nowhere" / "hermes-lsp"}"'
    )
    assert "pipx install git+https://github.com/hermes-lsp/hermes-lsp" in report["notification"]
    assert report["notificationButtons"] == ["Open Settings", "Show Log"]
    assert report["status"] == "Hermes: stopped"
    # code-server is a remote window: the setting still shows in User settings, and a value
    # set there is used (it used to be ignored, machine-overridable).
    assert report["settingsFound"] >= 1 and report["noSettingsFound"] == 0
    assert report["statusAfterFix"] in ("Hermes", "Hermes: indexing")
    assert report["toastsAfterFix"] == 0  # the stale "not found" toast went once it started


def test_an_unreachable_model_server_shows_in_the_status_bar(tmp_path: Path):
    report = run_code_server(tmp_path, SCENARIO="unreachable")

    assert report["status"] == "Hermes: model unreachable"
    assert "Cannot reach the model server at http://127.0.0.1:9/v1" in report["statusTooltip"]
    assert "hermes.endpoint" in report["statusTooltip"]

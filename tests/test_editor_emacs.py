"""Emacs + eglot with editors/emacs/hermes-lsp.el, in a real batch Emacs, against hermes-lsp
over stdio and the scripted model server."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from hermes_lsp.scripted_server import Reply, ScriptedServer
from tests.support.editors import EDITORS, HERMES_LSP, model_turns, run_scenario, tool, tool_call

pytestmark = pytest.mark.editor

EMACS_HINT = "run ./install.sh --test (it installs emacs-nox and elpa-eglot)"


def run_emacs(
    path: Path, endpoint: str, action: str = "", status: str = "ready", refactor: str = "", **extra: str
) -> dict[str, Any]:
    result = path.parent / "emacs.json"
    argv = [
        tool("emacs", EMACS_HINT),
        "-q",
        "--batch",
        "-L",
        str(EDITORS / "emacs"),
        "-l",
        str(EDITORS / "emacs" / "hermes-lsp.el"),
        "-l",
        str(EDITORS / "emacs" / "tests" / "e2e.el"),
    ]
    env = {
        "HERMES_E2E_FILE": str(path),
        "HERMES_E2E_RESULT": str(result),
        "HERMES_E2E_SERVER": str(HERMES_LSP),
        "HERMES_E2E_ENDPOINT": endpoint,
        "HERMES_E2E_ACTION": action,
        "HERMES_E2E_STATUS": status,
        "HERMES_E2E_REFACTOR": refactor,
        "HOME": str(path.parent / "emacs-home"),  # the log and any state stay out of the real $HOME
        **extra,
    }
    return run_scenario(argv, result, env, cwd=path.parent)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_eglot_starts_hermes_lsp_for_python_and_shows_its_state(tmp_path: Path, scripted: ScriptedServer):
    source = tmp_path / "add.py"
    source.write_text("def add(a, b):\n    return a - b\n", encoding="utf-8")

    seen = run_emacs(source, scripted.url)

    assert "error" not in seen, seen
    assert seen["major-mode"] == "python-mode"
    assert seen["server-name"] == "hermes-lsp" and seen["managed"] is True
    assert seen["status"] == {"state": "ready", "message": "Hermes is ready (hermes-4-14b)"}
    assert seen["mode-line"] == " Hermes"
    # The settings reached the server: it asked the scripted server which models it has.
    assert any(r.path.endswith("/models") for r in scripted.requests)


def test_an_unreachable_model_server_shows_in_the_mode_line(tmp_path: Path):
    source = tmp_path / "add.py"
    source.write_text("x = 1\n", encoding="utf-8")

    seen = run_emacs(source, closed_port_url(), status="unreachable")

    assert "error" not in seen, seen
    assert seen["status"]["state"] == "unreachable"
    assert seen["mode-line"] == " Hermes:unreachable"


GEOMETRY = "import math\n\n\ndef area(r):\n    return math.pi * r ** 2\n"
DOCSTRING = '    """The area of a circle of radius r."""\n'


def test_eglot_lists_a_code_action_and_applies_its_edit(tmp_path: Path, scripted: ScriptedServer):
    source = tmp_path / "geometry.py"
    source.write_text(GEOMETRY, encoding="utf-8")
    scripted.script(
        *model_turns(
            tool_call(
                "search_replace",
                path="geometry.py",
                search="def area(r):\n",
                replace="def area(r):\n" + DOCSTRING,
            ),
            "Added a docstring to area.",
        ),
        default=Reply(text=""),
    )

    seen = run_emacs(source, scripted.url, action="refactor.rewrite.hermes.docstring")

    assert "error" not in seen, seen
    listed = {action["kind"]: action for action in seen["listed"]}
    assert listed["refactor.rewrite.hermes.docstring"]["title"] == "Hermes: add docstring"
    # Eglot 1.9 cannot resolve edits: the action carries a command, and the server applies
    # the model's edit with workspace/applyEdit once it is run.
    assert listed["refactor.rewrite.hermes.docstring"]["command"] == "hermes.runAction"
    assert seen["chosen"] == "Hermes: add docstring"
    assert seen["mode-lines-during-commands"] == [" Hermes⟳"]
    # Eglot asks before applying a server-initiated edit, naming the file (the test says yes).
    [question] = seen["prompts"]
    assert "Server wants to edit" in question and str(source) in question
    assert seen["text"] == GEOMETRY.replace("def area(r):\n", "def area(r):\n" + DOCSTRING)
    assert seen["modified"] is True
    assert source.read_text(encoding="utf-8") == GEOMETRY  # the user saves, not the server
    assert len(scripted.model_requests()) == 2


def test_hermes_lsp_refactor_applies_the_instruction(tmp_path: Path, scripted: ScriptedServer):
    source = tmp_path / "geometry.py"
    source.write_text(GEOMETRY, encoding="utf-8")
    scripted.script(
        *model_turns(
            tool_call("search_replace", path="geometry.py", search="r ** 2", replace="r * r"),
            "Replaced the power with a product.",
        ),
        default=Reply(text=""),
    )

    seen = run_emacs(source, scripted.url, refactor="use r * r, not r ** 2")

    assert "error" not in seen, seen
    assert seen["text"] == GEOMETRY.replace("r ** 2", "r * r")
    assert seen["mode-lines-during-commands"] == [" Hermes⟳"]  # it spun while the model worked
    assert "use r * r, not r ** 2" in scripted.model_requests()[0].prompt


@pytest.mark.parametrize("command", ["eglot-code-actions", "hermes-lsp-fix"])
def test_a_diagnostic_from_another_flymake_backend_gets_a_hermes_fix(
    tmp_path: Path, scripted: ScriptedServer, command: str
):
    source = tmp_path / "geometry.py"
    source.write_text(GEOMETRY.replace("math.pi", "mth.pi"), encoding="utf-8")
    message = "Undefined name `mth`"
    scripted.script(
        *model_turns(
            tool_call("search_replace", path="geometry.py", search="mth.pi", replace="math.pi"),
            "mth was a typo for math.",
        ),
        default=Reply(text=""),
    )

    seen = run_emacs(
        source,
        scripted.url,
        HERMES_E2E_FOREIGN_WORD="mth",
        HERMES_E2E_FOREIGN_MESSAGE=message,
        HERMES_E2E_FOREIGN_COMMAND=command,
    )

    assert "error" not in seen, seen
    if command == "eglot-code-actions":  # the menu; hermes-lsp-fix runs the only fix directly
        assert f"Hermes: fix “{message}”" in seen["menu"]
    assert seen["text"] == GEOMETRY
    assert message in scripted.model_requests()[0].prompt


def test_ghost_text_is_shown_cycled_accepted_and_switched_off(tmp_path: Path, scripted: ScriptedServer):
    here = "def add(a, b):\n    <CURSOR>\n"
    scripted.script(
        Reply(text="return a + b", match=here, times=1, first_delay=0.3),
        Reply(text="return b + a", match=here, times=1),
        Reply(text="return a + b", match=here),
        default=Reply(text=""),
    )
    source = tmp_path / "add.py"
    source.write_text("def add(a, b):\n", encoding="utf-8")
    mark = tmp_path / "ghost.mark"
    asked: dict[str, int] = {}

    def count_while_off() -> None:
        for _ in range(1500):
            state = mark.read_text(encoding="utf-8") if mark.exists() else ""
            if state and state not in asked:
                asked[state] = len(scripted.model_requests())
            if state == "done":
                return
            threading.Event().wait(0.02)

    watcher = threading.Thread(target=count_while_off, daemon=True)
    watcher.start()
    seen = run_emacs(source, scripted.url, HERMES_E2E_GHOST="1", HERMES_E2E_MARK=str(mark))
    watcher.join(timeout=5)

    assert "error" not in seen, seen
    assert seen["mode-line-fetching"] == " Hermes⟳"
    assert seen["first"] == "return a + b" and seen["overlay-at-point"] is True
    assert seen["face"] == "hermes-lsp-ghost-face" and seen["mode-line-shown"] == " Hermes"
    # M-] asked for more and opened on a different one; M-[ goes back.
    assert seen["second"] == "return b + a" and seen["count"] == 2 and seen["back"] == "return a + b"
    # M-f took one word; the rest stayed; TAB inserted it.
    assert seen["line-after-word"] == "    return" and seen["ghost-after-word"] == " a + b"
    assert seen["after-accept"] == "def add(a, b):\n    return a + b\n"
    assert seen["ghost-after-accept"] is None
    assert seen["on-after-mode-off"] is None and seen["on-after-mode-on"] is True
    assert seen["on-after-global-off"] is None and seen["on-after-global-on"] is True
    # Switched off: the mode line says so, and typing reached no model.
    assert seen["mode-line-off"] == " Hermes:off" and seen["ghost-while-off"] is None
    assert asked["done"] == asked["off"]


def test_why_and_show_log(tmp_path: Path, scripted: ScriptedServer):
    scripted.script(Reply(text=""))
    source = tmp_path / "add.py"
    source.write_text("def add(a, b):\n", encoding="utf-8")

    seen = run_emacs(source, scripted.url, HERMES_E2E_WHY="1")

    assert "error" not in seen, seen
    assert seen["why"] == "Hermes: The model answered, but with nothing to insert at the cursor."
    assert seen["why-off"].startswith("Hermes: suggestions are switched off here")
    assert seen["log-file"] == str(tmp_path / "emacs-home" / ".emacs.d" / "hermes-lsp.log")
    assert seen["log-has-start"] is True

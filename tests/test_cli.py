"""The command line as a user runs it: version, doctor, complete."""

from __future__ import annotations

import os
import subprocess
import sys

from hermes_lsp import __version__
from hermes_lsp.scripted_server import Reply, ScriptedServer


def clean_environment() -> dict[str, str]:
    # Model settings from the environment would leak into the tests; the index cache stays
    # in the temporary folder the suite set up.
    return {
        k: v for k, v in os.environ.items() if not k.startswith("HERMES_LSP_") or k == "HERMES_LSP_CACHE_DIR"
    }


def hermes(*args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environment = clean_environment()
    return subprocess.run(
        [sys.executable, "-m", "hermes_lsp", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**environment, **env},
    )


def test_version():
    result = hermes("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"hermes-lsp {__version__}"


def test_doctor_passes_against_a_working_server(scripted: ScriptedServer):
    scripted.script(Reply(text="ok"))
    result = hermes("doctor", HERMES_LSP_ENDPOINT=scripted.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hermes-4-14b" in result.stdout and "Everything is in place." in result.stdout
    assert "the index reads files with its C tags pass" in result.stdout


def test_doctor_notes_an_index_read_in_python_without_failing(scripted: ScriptedServer):
    scripted.script(Reply(text="ok"))
    result = hermes("doctor", HERMES_LSP_ENDPOINT=scripted.url, HERMES_LSP_NATIVE_TAGS="0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "note  the index reads files in Python (HERMES_LSP_NATIVE_TAGS=0)" in result.stdout


def test_doctor_says_what_to_do_when_the_server_is_down():
    result = hermes("doctor", HERMES_LSP_ENDPOINT="http://127.0.0.1:9/v1")
    assert result.returncode == 1
    last = result.stdout.strip().splitlines()[-1]
    assert "Start the model server" in last and "HERMES_LSP_ENDPOINT" in last


def test_doctor_names_the_served_models_when_the_model_is_wrong(scripted: ScriptedServer):
    result = hermes("doctor", "--model", "hermes-5", HERMES_LSP_ENDPOINT=scripted.url)
    assert result.returncode == 1
    assert "Set HERMES_LSP_MODEL (hermes.model in the editor) to one of: hermes-4-14b." in result.stdout


def test_doctor_reports_an_unusable_environment_variable(scripted: ScriptedServer):
    result = hermes("doctor", HERMES_LSP_ENDPOINT="localhost:8000")
    assert result.returncode == 1
    assert "HERMES_LSP_ENDPOINT must start with http:// or https://" in result.stdout


def test_complete_reads_the_unsaved_buffer_from_stdin(scripted: ScriptedServer, tmp_path):
    scripted.script(Reply(text="return [x * 2 for x in xs]"))
    buffer = "def double(xs):\n    \n"
    result = hermes(
        "complete",
        f"{tmp_path}/never_saved.py:2:5",
        "--stdin",
        stdin=buffer,
        HERMES_LSP_ENDPOINT=scripted.url,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "return [x * 2 for x in xs]\n"
    assert "def double(xs):\n    <CURSOR>\n" in scripted.model_requests()[0].prompt


def test_complete_from_a_file_with_an_unreachable_server(tmp_path):
    source = tmp_path / "a.py"
    source.write_text("x = \n")
    result = hermes(
        "complete", f"{source}:1:5", HERMES_LSP_ENDPOINT="http://127.0.0.1:9/v1", HERMES_LSP_MODEL="m"
    )
    assert result.returncode == 1
    assert "Cannot reach the model server" in result.stderr and result.stdout == ""


def test_complete_rejects_a_malformed_location():
    result = hermes("complete", "file.py:zero:1")
    assert result.returncode == 2 and "PATH:LINE:COL" in result.stderr


def test_complete_with_a_root_shows_the_model_code_from_other_files(scripted: ScriptedServer, tmp_path):
    money = 'def to_cents(amount: float) -> int:\n    """Round an amount to whole cents."""\n'
    (tmp_path / "money.py").write_text(money + "    return round(amount * 100)\n")
    (tmp_path / "shop.py").write_text("from money import to_cents\n\n\ndef price(item):\n    return \n")
    scripted.script(Reply(text="to_cents(item.amount)"))
    result = hermes(
        "complete", f"{tmp_path}/shop.py:5:12", "--root", str(tmp_path), HERMES_LSP_ENDPOINT=scripted.url
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "to_cents(item.amount)\n"
    prompt = scripted.model_requests()[0].prompt
    assert "def to_cents(amount: float) -> int:" in prompt and "File shop.py (py)" in prompt


def test_doctor_states_a_wrong_endpoint_once_and_gives_the_actual_cause(scripted: ScriptedServer):
    result = hermes("doctor", HERMES_LSP_ENDPOINT=scripted.url + "/v1")
    assert result.returncode == 1
    report = result.stdout.partition("\n\n")[0]
    assert report.count("is not found (404)") == 1, result.stdout
    assert "does not serve the OpenAI API there" in report and "should end in /v1" not in result.stdout


def make_project(root) -> None:
    (root / "pkg").mkdir()
    for n in range(40):
        (root / "pkg" / f"mod{n}.py").write_text(
            f"def scale_{n}(x):\n    return x + {n}\n\n\n"
            f"class Thing{n}:\n    def run(self):\n        return scale_{n}(1)\n",
            encoding="utf-8",
        )


def test_subcommands_print_no_info_log_lines_without_verbose(tmp_path):
    make_project(tmp_path)
    result = hermes("index", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()  # the figures
    assert " INFO " not in result.stderr and result.stderr.strip() == ""
    verbose = hermes("-v", "index", str(tmp_path))
    assert " DEBUG " in verbose.stderr or " INFO " in verbose.stderr


def test_context_piped_into_head_ends_quietly(tmp_path):
    make_project(tmp_path)
    environment = clean_environment()
    command = [sys.executable, "-m", "hermes_lsp", "context", f"{tmp_path / 'pkg' / 'mod3.py'}:7:16"]
    command += ["--root", str(tmp_path), "--budget", "4000", "--json"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.read(1)  # like `| head -c 1`: read a little, then go away
        proc.stdout.close()
        stderr = proc.stderr.read().decode()
        code = proc.wait(timeout=60)
    assert first == b"{"
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
    assert code in (0, 141)


def test_a_log_file_in_a_missing_folder_is_created(tmp_path):
    log = tmp_path / "new" / "folder" / "hermes.log"
    result = hermes("--log-file", str(log), "-v", "index", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert log.exists() and " INFO " in log.read_text(encoding="utf-8")


def test_an_unwritable_log_file_falls_back_to_stderr(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    result = hermes("--log-file", str(blocker / "hermes.log"), "index", str(tmp_path))
    assert result.returncode == 0
    assert f"cannot write {blocker / 'hermes.log'}" in result.stderr

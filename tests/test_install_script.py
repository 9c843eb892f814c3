"""install.sh: a long build says it is alive (pip is silent for the minutes llama.cpp takes).

The heartbeat function is taken from install.sh as it is and run with a one-second beat
on a stand-in for the build."""

from __future__ import annotations

import subprocess
from pathlib import Path

INSTALL = Path(__file__).resolve().parents[1] / "install.sh"


def heartbeat_function() -> str:
    source = INSTALL.read_text(encoding="utf-8")
    start = source.index("run_with_heartbeat() {")
    return source[start : source.index("\n}\n", start) + 3]


def run_build(tmp_path: Path, build: str) -> subprocess.CompletedProcess[str]:
    script = (
        "set -euo pipefail\n"
        + heartbeat_function()
        + f'CMAKE_ARGS=-DX HEARTBEAT_S=1 run_with_heartbeat "building llama.cpp" {tmp_path / "build.log"} '
        + f"bash -c '{build}'\n"
    )
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)


def test_a_long_build_prints_a_heartbeat_with_cmakes_progress(tmp_path: Path):
    result = run_build(tmp_path, 'echo "[ 17%] Building C"; sleep 1.5; echo "[ 42%] Building CXX"; sleep 1.5')
    assert result.returncode == 0, result.stderr
    beats = result.stdout.splitlines()
    assert len(beats) >= 2
    assert all(b.startswith("   still building llama.cpp: 0 min") for b in beats)
    assert beats[-1].endswith(f"(cmake 42%); log: {tmp_path / 'build.log'}")


def test_the_builds_output_and_status_are_kept(tmp_path: Path):
    result = run_build(tmp_path, 'echo "compiler says no; CMAKE_ARGS=$CMAKE_ARGS"; exit 3')
    assert result.returncode == 3
    assert (tmp_path / "build.log").read_text(encoding="utf-8") == "compiler says no; CMAKE_ARGS=-DX\n"

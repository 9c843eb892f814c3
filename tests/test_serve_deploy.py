"""The deployment recipes in server/deploy/ agree with what hermes-serve generates."""

from __future__ import annotations

import configparser
import itertools
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from hermes_serve.cli import parser

SERVER = Path(__file__).resolve().parent.parent / "server"
DEPLOY = SERVER / "deploy"


def started_command(config_name: str) -> list[str]:
    """The command recorded in an example config's header ("# Starts:")."""
    lines = (SERVER / "configs" / config_name).read_text().splitlines()
    return shlex.split(lines[lines.index("# Starts:") + 1].lstrip("# "))


def options(argv: list[str]) -> dict[str, str]:
    return {a: b for a, b in itertools.pairwise(argv) if a.startswith("--")}


def script_command(path: Path, first: str) -> list[str]:
    """The words of the (backslash-continued) command in ``path`` that starts with ``first``."""
    text = path.read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.strip().startswith(first))
    return shlex.split(line)


@pytest.mark.parametrize("script", ["slurm/hermes-4-405b-bf16.sbatch", "dynamo/launch.sh"])
def test_scripts_are_valid_bash(script):
    assert shutil.which("bash")
    result = subprocess.run(["bash", "-n", str(DEPLOY / script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_slurm_recipe_runs_the_planned_405b_command():
    words = script_command(DEPLOY / "slurm/hermes-4-405b-bf16.sbatch", "srun")
    launcher = words.index("trtllm-llmapi-launch")
    assert words[launcher + 1] == "trtllm-serve"
    ours = options(words[launcher + 2 :])
    planned = options(started_command("hermes-4-405b.h100x16.yaml"))
    for flag in ("--backend", "--host", "--tp_size", "--pp_size", "--max_batch_size", "--max_num_tokens"):
        assert ours[flag] == planned[flag], flag
    assert ours["--max_seq_len"] == planned["--max_seq_len"]
    assert (ours["--tp_size"], ours["--pp_size"]) == ("8", "2")
    text = (DEPLOY / "slurm/hermes-4-405b-bf16.sbatch").read_text()
    assert "#SBATCH --nodes=2" in text and "#SBATCH --ntasks-per-node=8" in text


def test_dynamo_engine_args_match_the_single_replica_config():
    agg = yaml.safe_load((DEPLOY / "dynamo/agg.yaml").read_text())
    single = yaml.safe_load((SERVER / "configs/hermes-4-70b-fp8.h100x2.yaml").read_text())
    planned = options(started_command("hermes-4-70b-fp8.h100x2.yaml"))
    assert agg["kv_cache_config"] == single["kv_cache_config"]
    assert agg["cuda_graph_config"] == single["cuda_graph_config"]
    assert agg["enable_chunked_prefill"] is True
    assert str(agg["tensor_parallel_size"]) == planned["--tp_size"]
    assert str(agg["max_batch_size"]) == planned["--max_batch_size"]
    assert str(agg["max_num_tokens"]) == planned["--max_num_tokens"]
    assert str(agg["max_seq_len"]) == planned["--max_seq_len"]
    frontend = script_command(DEPLOY / "dynamo/launch.sh", "python3 -m dynamo.frontend")
    assert frontend[frontend.index("--router-mode") + 1] == "kv"


def test_systemd_unit_starts_a_valid_hermes_serve_run():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(DEPLOY / "systemd/hermes-serve.service")
    argv = shlex.split(unit["Service"]["ExecStart"])
    assert argv[0].endswith("/hermes-serve")
    args = parser().parse_args(argv[1:])
    assert args.command == "run" and args.host == "127.0.0.1" and not args.dry_run
    assert unit["Service"]["KillSignal"] == "SIGTERM"
    assert unit["Install"]["WantedBy"] == "multi-user.target"

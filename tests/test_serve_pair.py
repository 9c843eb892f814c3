"""hermes-serve plan/run for two models on one node: a small one for completions, a large one
for code actions, each on its own GPUs (CUDA_VISIBLE_DEVICES) and its own port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

from hermes_serve.cli import main
from tests.test_serve_commands import (
    LLAMA_405B,
    TRTLLM_SERVE_OPTIONS,
    check_yaml,
    checkpoint,
    flags,
    free_port,
)

QWEN3_14B = {
    "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 5120,
    "num_hidden_layers": 40, "num_attention_heads": 40, "num_key_value_heads": 8, "head_dim": 128,
    "vocab_size": 151936, "intermediate_size": 17408, "max_position_embeddings": 40960,
}  # fmt: skip
FP8 = {"quantization_config": {"quant_method": "fp8"}}


def test_plan_splits_an_h200_node_between_14b_and_405b(capsys) -> None:
    code = main(
        [
            *("plan", "--completion-model", "14b", "--actions-model", "405b", "--gpu", "h200-141gb"),
            *("--dtype", "fp8", "--context", "32768", "--json"),
        ]
    )
    assert code == 0
    split = json.loads(capsys.readouterr().out)
    assert split["actions"]["model"] == "hermes-4-405b" and split["actions"]["devices"] == [0, 1, 2, 3]
    assert split["actions"]["tp"] == 4
    assert split["completion"]["model"] == "hermes-4-14b" and split["completion"]["devices"] == [4, 5, 6, 7]
    # Every GPU is used, none twice.
    assert sorted(split["actions"]["devices"] + split["completion"]["devices"]) == list(range(8))


def test_plan_says_why_405b_does_not_fit_beside_a_second_model_on_h100(capsys) -> None:
    code = main(["plan", "--completion-model", "14b", "--actions-model", "405b", "--gpu", "h100-80gb"])
    assert code == 2
    err = capsys.readouterr().err
    assert "hermes-4-405b in bf16 does not fit on the 7 x h100-80gb left beside hermes-4-14b" in err


def test_plan_needs_both_models(capsys) -> None:
    assert main(["plan", "--completion-model", "14b", "--gpu", "h200-141gb"]) == 2
    assert "needs both --completion-model and --actions-model" in capsys.readouterr().err


def _pair_checkpoints(tmp_path: Path) -> tuple[Path, Path]:
    small = checkpoint(tmp_path, "Hermes-4-14B-FP8", {**QWEN3_14B, **FP8})
    large = checkpoint(tmp_path, "Hermes-4-405B-FP8", {**LLAMA_405B, **FP8})
    return small, large


def test_run_dry_run_gives_each_server_its_gpus_port_and_yaml(tmp_path: Path, capsys) -> None:
    small, large = _pair_checkpoints(tmp_path)
    code = main(
        [
            *("run", "--completion-checkpoint", str(small), "--actions-checkpoint", str(large)),
            *("--gpu", "h200-141gb", "--port", "9000", "--dry-run"),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    commands = [line for line in out.splitlines() if line.startswith("CUDA_VISIBLE_DEVICES=")]
    assert len(commands) == 2
    big, fast = (line.split() for line in commands)
    assert big[0] == "CUDA_VISIBLE_DEVICES=0,1,2,3" and str(large) in big
    assert fast[0] == "CUDA_VISIBLE_DEVICES=4,5,6,7" and str(small) in fast
    for argv, port, tp in ((big, "9000", "4"), (fast, "9001", "4")):
        assert flags(argv[1:]) <= TRTLLM_SERVE_OPTIONS
        assert argv[argv.index("--port") + 1] == port and argv[argv.index("--tp_size") + 1] == tp
    assert big[big.index("--extra_llm_api_options") + 1] != fast[fast.index("--extra_llm_api_options") + 1]
    assert '"completion": {"endpoint": "http://127.0.0.1:9001/v1"}' in out


def test_run_refuses_half_a_pair(tmp_path: Path, capsys) -> None:
    small, _ = _pair_checkpoints(tmp_path)
    assert main(["run", "--completion-checkpoint", str(small), "--dry-run"]) == 2
    assert "needs both --completion-checkpoint and --actions-checkpoint" in capsys.readouterr().err


def test_run_starts_both_servers_on_their_gpus_and_stops_both(tmp_path: Path) -> None:
    """Stand-ins named trtllm-serve record their arguments and CUDA_VISIBLE_DEVICES and
    serve /health (the scripted test server); ``run`` says each is ready, and SIGTERM to
    it stops both."""
    small, large = _pair_checkpoints(tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "trtllm-serve"
    stand_in.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "port = sys.argv[sys.argv.index('--port') + 1]\n"
        f"json.dump({{'argv': sys.argv[1:], 'devices': os.environ.get('CUDA_VISIBLE_DEVICES')}},"
        f" open(os.path.join({str(tmp_path)!r}, 'started-' + port + '.json'), 'w'))\n"
        "from hermes_lsp.scripted_server import main\n"
        "sys.exit(main(['--port', port]))\n"
    )
    stand_in.chmod(0o755)
    port, completion_port = free_port(), free_port()
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "hermes_serve.cli", "run", "--gpu", "h200-141gb"),
            *("--completion-checkpoint", str(small), "--actions-checkpoint", str(large)),
            *("--port", str(port), "--completion-port", str(completion_port), "--ready-timeout", "30"),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        ready = []
        deadline = time.monotonic() + 60
        while len(ready) < 2 and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            if line.startswith("ready:"):
                ready.append(line.split()[1])
        assert ready == [f"http://127.0.0.1:{port}/v1", f"http://127.0.0.1:{completion_port}/v1"]
        started = {
            p: json.loads((tmp_path / f"started-{p}.json").read_text()) for p in (port, completion_port)
        }
        assert started[port]["devices"] == "0,1,2,3" and str(large) in started[port]["argv"]
        assert (
            started[completion_port]["devices"] == "4,5,6,7"
            and str(small) in started[completion_port]["argv"]
        )
        for record in started.values():
            argv = record["argv"]
            config = yaml.safe_load(Path(argv[argv.index("--extra_llm_api_options") + 1]).read_text())
            check_yaml(config, "pytorch")
        process.terminate()
        assert process.wait(30) is not None
        for p in (port, completion_port):
            with socket.socket() as sock:
                assert sock.connect_ex(("127.0.0.1", p)) != 0, "a server outlived hermes-serve run"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)


def test_run_keeps_the_two_yamls_and_ports_apart(tmp_path: Path, capsys, monkeypatch) -> None:
    # Checkpoint folders with the same name, as in /models/14b/hf and /models/405b/hf.
    (tmp_path / "small").mkdir()
    (tmp_path / "large").mkdir()
    small = checkpoint(tmp_path / "small", "hf", {**QWEN3_14B, **FP8})
    large = checkpoint(tmp_path / "large", "hf", {**LLAMA_405B, **FP8})
    monkeypatch.chdir(tmp_path)
    args = ["run", "--completion-checkpoint", str(small), "--actions-checkpoint", str(large)]
    assert main([*args, "--gpu", "h200-141gb", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "hermes-serve-hf-actions.yaml" in out and "hermes-serve-hf-completion.yaml" in out
    assert main([*args, "--gpu", "h200-141gb", "--completion-port", "8000", "--dry-run"]) == 2
    assert "both servers would listen on port 8000" in capsys.readouterr().err

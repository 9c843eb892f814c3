"""hermes-serve run/build --dry-run: the exact trtllm-serve / trtllm-build commands and YAML.

Every flag and YAML key is checked against the options of TensorRT-LLM 1.2's sources:
``tensorrt_llm/commands/serve.py`` (click options of ``serve``), ``commands/build.py`` plus
``plugin/plugin.py`` (argparse options of ``trtllm-build``), ``examples/quantization/quantize.py``,
``examples/models/core/*/convert_checkpoint.py`` and ``llmapi/llm_args.py`` (the pydantic
fields ``extra_llm_api_options`` may set; unknown keys are an error there).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from hermes_serve.cli import main
from hermes_serve.gpus import known_gpu, parse_nvidia_smi
from hermes_serve.launch import LaunchError, ServeOptions, prepare_launch

TRTLLM_SERVE_OPTIONS = {
    "--tokenizer", "--host", "--port", "--backend", "--log_level", "--max_beam_width",
    "--max_batch_size", "--max_num_tokens", "--max_seq_len", "--tp_size", "--pp_size", "--ep_size",
    "--cluster_size", "--gpus_per_node", "--kv_cache_free_gpu_memory_fraction",
    "--num_postprocess_workers", "--trust_remote_code", "--extra_llm_api_options",
    "--reasoning_parser", "--tool_parser", "--metadata_server_config_file", "--server_role",
}  # fmt: skip
TRTLLM_BUILD_OPTIONS = {
    "--checkpoint_dir", "--model_config", "--build_config", "--output_dir", "--max_batch_size",
    "--max_input_len", "--max_seq_len", "--max_beam_width", "--max_num_tokens", "--opt_num_tokens",
    "--kv_cache_type", "--workers", "--log_level", "--strip_plan", "--weight_streaming",
    # plugin options (enable/disable, or a dtype for the GEMM plugin)
    "--gemm_plugin", "--gpt_attention_plugin", "--use_paged_context_fmha", "--use_fp8_context_fmha",
    "--multiple_profiles", "--context_fmha", "--remove_input_padding", "--reduce_fusion",
}  # fmt: skip
QUANTIZE_OPTIONS = {
    "--model_dir", "--dtype", "--qformat", "--kv_cache_dtype", "--calib_size", "--calib_dataset",
    "--tp_size", "--pp_size", "--output_dir", "--batch_size", "--awq_block_size",
}  # fmt: skip
CONVERT_OPTIONS = {"--model_dir", "--output_dir", "--dtype", "--tp_size", "--pp_size", "--workers"}
LLM_ARGS_KEYS = {
    # BaseLlmArgs (both backends)
    "kv_cache_config", "enable_chunked_prefill", "speculative_config", "max_batch_size",
    "max_num_tokens", "max_seq_len", "scheduler_config", "guided_decoding_backend",
}  # fmt: skip
TORCH_ONLY_KEYS = {"cuda_graph_config", "disable_overlap_scheduler", "stream_interval", "print_iter_log"}
KV_CACHE_KEYS = {
    "enable_block_reuse", "max_tokens", "free_gpu_memory_fraction", "host_cache_size",
    "enable_partial_reuse", "copy_on_partial_reuse", "event_buffer_max_size", "tokens_per_block",
}  # fmt: skip
KV_CACHE_TORCH_ONLY = {"dtype"}
CUDA_GRAPH_KEYS = {"batch_sizes", "max_batch_size", "enable_padding"}
NGRAM_KEYS = {
    "decoding_type", "max_draft_len", "max_matching_ngram_size", "is_keep_all", "is_use_oldest",
    "is_public_pool",
}  # fmt: skip

LLAMA_70B = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8192,
    "num_hidden_layers": 80, "num_attention_heads": 64, "num_key_value_heads": 8, "vocab_size": 128256,
    "intermediate_size": 28672, "max_position_embeddings": 131072,
}  # fmt: skip
LLAMA_405B = {**LLAMA_70B, "hidden_size": 16384, "num_hidden_layers": 126, "num_attention_heads": 128,
              "intermediate_size": 53248}  # fmt: skip


def checkpoint(root: Path, name: str, config: dict, weights: bool = True, tokenizer: bool = True) -> Path:
    path = root / name
    path.mkdir()
    (path / "config.json").write_text(json.dumps(config))
    if weights:
        (path / "model-00001-of-00001.safetensors").write_bytes(b"")
    if tokenizer:
        (path / "tokenizer.json").write_text("{}")
    return path


def flags(argv: list[str]) -> set[str]:
    return {a for a in argv if a.startswith("--")}


def check_yaml(config: dict, backend: str) -> None:
    allowed = LLM_ARGS_KEYS | (TORCH_ONLY_KEYS if backend == "pytorch" else set())
    assert set(config) <= allowed
    assert set(config["kv_cache_config"]) <= KV_CACHE_KEYS | (
        KV_CACHE_TORCH_ONLY if backend == "pytorch" else set()
    )
    assert set(config.get("cuda_graph_config", {})) <= CUDA_GRAPH_KEYS
    assert set(config.get("speculative_config", {})) <= NGRAM_KEYS


def test_run_dry_run_for_an_fp8_70b_checkpoint(tmp_path: Path, capsys):
    ckpt = checkpoint(
        tmp_path, "Hermes-4-70B-FP8", {**LLAMA_70B, "quantization_config": {"quant_method": "fp8"}}
    )
    config_path = tmp_path / "serve.yaml"
    assert (
        main(["run", "--checkpoint", str(ckpt), "--gpus", "2", "--config", str(config_path), "--dry-run"])
        == 0
    )
    out = capsys.readouterr().out
    command = out.strip().splitlines()[-1]
    assert command == (
        f"trtllm-serve {ckpt} --backend pytorch --host 127.0.0.1 --port 8000 --tp_size 2 --pp_size 1"
        " --max_batch_size 64 --max_num_tokens 8192 --max_seq_len 32768"
        f" --extra_llm_api_options {config_path}"
    )
    yaml_text = "\n".join(line[4:] for line in out.splitlines() if line.startswith("#   "))
    assert yaml.safe_load(yaml_text) == {
        "kv_cache_config": {
            "enable_block_reuse": True,
            "enable_partial_reuse": True,
            "free_gpu_memory_fraction": 0.9,
            "dtype": "fp8",
        },
        "enable_chunked_prefill": True,
        "cuda_graph_config": {"enable_padding": True, "max_batch_size": 64},
    }
    assert not config_path.exists()  # a dry run writes nothing


def test_run_options_exist_in_trtllm_serve(tmp_path: Path):
    ckpt = checkpoint(tmp_path, "Hermes-4-70B", LLAMA_70B)
    launch = prepare_launch(ServeOptions(ckpt, gpu=known_gpu("h200"), speculative="ngram", port=8123))
    assert launch.argv[0] == "trtllm-serve" and launch.argv[1] == str(ckpt)
    assert flags(launch.argv) <= TRTLLM_SERVE_OPTIONS
    check_yaml(launch.config, "pytorch")
    # BF16 weights keep a BF16 KV cache; n-gram drafts come from one shared pool.
    assert "dtype" not in launch.config["kv_cache_config"]
    assert launch.config["speculative_config"] == {
        "decoding_type": "NGram",
        "max_draft_len": 4,
        "max_matching_ngram_size": 2,
        "is_keep_all": True,
        "is_use_oldest": True,
        "is_public_pool": True,
    }
    assert launch.config["disable_overlap_scheduler"] is True
    assert (launch.plan.gpus, launch.plan.tp) == (2, 2)
    assert launch.url == "http://127.0.0.1:8123"


def test_run_binds_loopback_unless_told_and_warns(tmp_path: Path):
    ckpt = checkpoint(tmp_path, "Hermes-4-70B", LLAMA_70B)
    assert prepare_launch(ServeOptions(ckpt)).argv[4:6] == ["--host", "127.0.0.1"]
    exposed = prepare_launch(ServeOptions(ckpt, host="0.0.0.0"))
    assert exposed.argv[4:6] == ["--host", "0.0.0.0"]
    assert any("no authentication" in note for note in exposed.notes)


def test_run_405b_bf16_across_two_nodes_uses_the_mpi_launcher(tmp_path: Path):
    ckpt = checkpoint(tmp_path, "Hermes-4-405B", LLAMA_405B)
    launch = prepare_launch(ServeOptions(ckpt, gpus=16))
    assert launch.argv[:2] == ["trtllm-llmapi-launch", "trtllm-serve"]
    i = launch.argv.index("--tp_size")
    assert launch.argv[i : i + 4] == ["--tp_size", "8", "--pp_size", "2"]
    assert any("srun" in note for note in launch.notes)


def test_run_serves_an_engine_with_the_tensorrt_backend(tmp_path: Path):
    source = checkpoint(tmp_path, "Hermes-4-70B", LLAMA_70B)
    engine = tmp_path / "engine"
    engine.mkdir()
    pretrained = {**LLAMA_70B, "architecture": "LlamaForCausalLM", "quantization": {"quant_algo": "FP8"}}
    (engine / "config.json").write_text(json.dumps({"pretrained_config": pretrained, "build_config": {}}))
    (engine / "rank0.engine").write_bytes(b"")
    launch = prepare_launch(ServeOptions(engine, backend="tensorrt", tokenizer=source, gpus=2))
    assert flags(launch.argv) <= TRTLLM_SERVE_OPTIONS
    assert launch.argv[launch.argv.index("--backend") + 1] == "tensorrt"
    assert launch.argv[launch.argv.index("--tokenizer") + 1] == str(source)
    check_yaml(launch.config, "tensorrt")
    assert "cuda_graph_config" not in launch.config and "dtype" not in launch.config["kv_cache_config"]


@pytest.mark.parametrize(
    ("setup", "extra", "message"),
    [
        ("missing", [], "does not exist"),
        ("no-config", [], "has no config.json"),
        ("no-weights", [], "no weights"),
        ("ok", ["--tp", "3", "--pp", "1"], "TP 3 does not divide the 8 KV heads"),
        ("ok", ["--gpus", "1", "--context", "131072"], "does not fit: .* you need 4 x h100-80gb"),
        ("ok", ["--backend", "tensorrt"], "not a TensorRT engine"),
        ("ok", ["--speculative", "ngram", "--backend", "tensorrt"], "n-gram speculation runs on the PyTorch"),
        ("ok", ["--gpu", "a100-80gb", "--gpus", "8"], None),
    ],
)
def test_run_refuses_bad_combinations(tmp_path: Path, capsys, setup, extra, message):
    path = tmp_path / "ckpt"
    if setup == "no-config":
        path.mkdir()
    elif setup == "no-weights":
        checkpoint(tmp_path, "ckpt", LLAMA_70B, weights=False)
    elif setup == "ok":
        checkpoint(tmp_path, "ckpt", LLAMA_70B)
    status = main(["run", "--checkpoint", str(path), "--dry-run", *extra])
    if message is None:
        assert status == 0  # BF16 on eight A100s is fine
        return
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith("hermes-serve run: ")
    assert re.search(message, err), err


def test_build_fp8_dry_run(tmp_path: Path, capsys):
    ckpt = checkpoint(tmp_path, "Hermes-4-70B", LLAMA_70B)
    out_dir = tmp_path / "out"
    examples = tmp_path / "TensorRT-LLM" / "examples"
    args = ["build", "--checkpoint", str(ckpt), "--out", str(out_dir), "--tp", "4", "--dtype", "fp8"]
    assert main([*args, "--examples", str(examples), "--dry-run"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
    quantize, build, serve = lines
    assert quantize == (
        f"python3 {examples}/quantization/quantize.py --model_dir {ckpt} --dtype bfloat16 --qformat fp8"
        " --kv_cache_dtype fp8 --calib_size 512 --tp_size 4 --pp_size 1"
        f" --output_dir {out_dir}/trtllm-checkpoint"
    )
    assert build == (
        f"trtllm-build --checkpoint_dir {out_dir}/trtllm-checkpoint --output_dir {out_dir}/engine"
        " --max_batch_size 128 --max_input_len 32768 --max_seq_len 32768 --max_num_tokens 8192"
        " --gemm_plugin auto --use_paged_context_fmha enable --use_fp8_context_fmha enable"
        " --multiple_profiles enable --workers 4"
    )
    assert flags(quantize.split()) <= QUANTIZE_OPTIONS
    assert flags(build.split()) <= TRTLLM_BUILD_OPTIONS
    assert serve == f"hermes-serve run --backend tensorrt --checkpoint {out_dir}/engine --tokenizer {ckpt}"
    assert not out_dir.exists()


def test_build_bf16_uses_the_family_converter(tmp_path: Path, capsys):
    qwen = {
        "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 5120,
        "num_hidden_layers": 40, "num_attention_heads": 40, "num_key_value_heads": 8, "head_dim": 128,
        "vocab_size": 151936, "intermediate_size": 17408, "max_position_embeddings": 40960,
    }  # fmt: skip
    ckpt = checkpoint(tmp_path, "Hermes-4-14B", qwen)
    assert (
        main(["build", "--checkpoint", str(ckpt), "--out", str(tmp_path / "o"), "--tp", "1", "--dry-run"])
        == 0
    )
    convert = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("python3"))
    assert "examples/models/core/qwen/convert_checkpoint.py" in convert
    assert flags(convert.split()) <= CONVERT_OPTIONS
    assert "--use_fp8_context_fmha" not in convert


def test_build_refuses_tp_that_does_not_divide_and_missing_tools(tmp_path: Path, capsys, monkeypatch):
    ckpt = checkpoint(tmp_path, "Hermes-4-70B", LLAMA_70B)
    assert (
        main(["build", "--checkpoint", str(ckpt), "--out", str(tmp_path / "o"), "--tp", "6", "--dry-run"])
        == 2
    )
    assert "TP 6 does not divide the 8 KV heads" in capsys.readouterr().err
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["build", "--checkpoint", str(ckpt), "--out", str(tmp_path / "o"), "--tp", "4"]) == 2
    assert "trtllm-build is not installed" in capsys.readouterr().err


def test_run_without_trtllm_serve_says_how_to_get_it(tmp_path: Path, capsys, monkeypatch):
    ckpt = checkpoint(tmp_path, "Hermes-4-70B", LLAMA_70B)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["run", "--checkpoint", str(ckpt), "--config", str(tmp_path / "c.yaml")]) == 2
    assert "trtllm-serve is not installed" in capsys.readouterr().err
    assert not (tmp_path / "c.yaml").exists()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_run_starts_the_server_waits_for_health_and_stops_it(tmp_path: Path):
    """The launcher's process handling, with a stand-in on PATH named trtllm-serve.

    The stand-in records its arguments and serves /health with the scripted test server,
    so this checks what ``run`` does around the real server: write the YAML, start the
    command, say "ready" once /health answers, pass on SIGTERM, and exit.
    """
    ckpt = checkpoint(tmp_path, "Hermes-4-14B", {**LLAMA_70B, "num_hidden_layers": 4})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "argv.json"
    stand_in = bin_dir / "trtllm-serve"
    stand_in.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"json.dump(sys.argv[1:], open({str(record)!r}, 'w'))\n"
        "from hermes_lsp.scripted_server import main\n"
        "sys.exit(main(['--port', sys.argv[sys.argv.index('--port') + 1]]))\n"
    )
    stand_in.chmod(0o755)
    port = free_port()
    config_path = tmp_path / "serve.yaml"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    command = [
        sys.executable,
        "-m",
        "hermes_serve.cli",
        "run",
        "--checkpoint",
        str(ckpt),
        "--port",
        str(port),
    ]
    process = subprocess.Popen(
        [*command, "--config", str(config_path), "--ready-timeout", "30"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if line.startswith("ready:") or not line:
                break
        assert lines[-1].startswith(f"ready: http://127.0.0.1:{port}/v1"), "".join(lines)
        assert yaml.safe_load(config_path.read_text())["kv_cache_config"]["enable_block_reuse"] is True
        argv = json.loads(record.read_text())
        assert argv[argv.index("--extra_llm_api_options") + 1] == str(config_path)
        process.terminate()
        process.wait(15)
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, "the server outlived hermes-serve run"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)


def test_nvidia_smi_output_gives_model_and_count():
    eight = "NVIDIA H100 80GB HBM3\n" * 8
    assert parse_nvidia_smi(eight) == (known_gpu("h100-80gb"), 8)
    assert parse_nvidia_smi(eight, visible="0,3") == (known_gpu("h100-80gb"), 2)
    assert parse_nvidia_smi("NVIDIA H200\nNVIDIA H200\n") == (known_gpu("h200-141gb"), 2)
    assert parse_nvidia_smi("Tesla T4\n") == (None, 1)
    assert parse_nvidia_smi("") == (None, 0)


@pytest.mark.parametrize(
    ("visible", "gpus", "tp", "pp"), [(8, 8, 8, 1), (6, 4, 4, 1), (2, 2, 2, 1), (0, 1, 1, 1)]
)
def test_run_spans_the_visible_gpus_with_tp(tmp_path: Path, visible, gpus, tp, pp):
    ckpt = checkpoint(
        tmp_path, "Hermes-4-70B-FP8", {**LLAMA_70B, "quantization_config": {"quant_method": "fp8"}}
    )
    plan = prepare_launch(ServeOptions(ckpt, visible_gpus=visible)).plan
    assert (plan.gpus, plan.tp, plan.pp) == (gpus, tp, pp)


def test_run_refuses_a_model_larger_than_the_visible_gpus(tmp_path: Path):
    # 70B in BF16 with a 32k context needs two H100s (58,623 KV tokens); one is not enough.
    ckpt = checkpoint(tmp_path, "Hermes-4-70B", LLAMA_70B)
    with pytest.raises(LaunchError, match=r"needs 2 x h100-80gb \(TP 2 x PP 1\), but this machine shows 1"):
        prepare_launch(ServeOptions(ckpt, visible_gpus=1))


def test_run_reports_a_server_that_dies_before_it_is_ready(tmp_path: Path):
    ckpt = checkpoint(tmp_path, "Hermes-4-70B", LLAMA_70B)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "trtllm-serve"
    stand_in.write_text(
        f"#!{sys.executable}\nimport sys\nprint('bad option', file=sys.stderr)\nsys.exit(3)\n"
    )
    stand_in.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    command = [sys.executable, "-m", "hermes_serve.cli", "run", "--checkpoint", str(ckpt)]
    result = subprocess.run(
        [*command, "--port", str(free_port()), "--config", str(tmp_path / "c.yaml")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3
    assert "trtllm-serve exited with status 3 before it was ready" in result.stdout


def test_the_readme_documents_every_run_option():
    from hermes_serve.cli import parser

    top = parser()
    [subparsers] = [a for a in top._actions if a.__class__.__name__ == "_SubParsersAction"]
    run = subparsers.choices["run"]
    options = {s for a in run._actions for s in a.option_strings if s.startswith("--") and s != "--help"}
    readme = (Path(__file__).parents[1] / "server" / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("### `run`") :]
    rows = {m.group(1) for m in re.finditer(r"^\| `(--[a-z-]+)", table, re.M)}
    rows |= {m.group(1) for m in re.finditer(r"^\| `--[a-z-]+ [^`]*` / `(--[a-z-]+)", table, re.M)}
    assert options - rows == set()

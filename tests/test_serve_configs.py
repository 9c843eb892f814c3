"""The example configurations in server/configs/ are what ``hermes-serve run`` writes today."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from hermes_serve.gpus import known_gpu
from hermes_serve.launch import LaunchPlan, ServeOptions, prepare_launch
from hermes_serve.models import HERMES_4

CONFIG_DIR = Path(__file__).resolve().parent.parent / "server" / "configs"
CONFIGS = {
    # file: (checkpoint directory name, model, FP8 checkpoint?, GPU, GPU count, speculation)
    "hermes-4-14b.h100x1.yaml": ("Hermes-4-14B", "hermes-4-14b", False, "h100-80gb", 1, None),
    "hermes-4-70b-fp8.h100x2.yaml": ("Hermes-4-70B-FP8", "hermes-4-70b", True, "h100-80gb", 2, None),
    "hermes-4-70b-fp8.h100x2.ngram.yaml": ("Hermes-4-70B-FP8", "hermes-4-70b", True, "h100-80gb", 2, "ngram"),
    "hermes-4-405b-fp8.h100x8.yaml": ("Hermes-4-405B-FP8", "hermes-4-405b", True, "h100-80gb", 8, None),
    "hermes-4-405b-fp8.h200x4.yaml": ("Hermes-4-405B-FP8", "hermes-4-405b", True, "h200-141gb", 4, None),
    "hermes-4-405b.h100x16.yaml": ("Hermes-4-405B", "hermes-4-405b", False, "h100-80gb", 16, None),
}


def make_launch(
    root: Path, fname: str, name: str, model: str, fp8: bool, gpu: str, gpus: int, spec: str | None
) -> tuple[LaunchPlan, str, str]:
    """The launch for one example, with the checkpoint as if it lived in /models/NAME."""
    shape = HERMES_4[model]
    path = root / fname / name
    path.mkdir(parents=True)
    config = {
        "architectures": ["LlamaForCausalLM" if shape.family == "llama" else "Qwen3ForCausalLM"],
        "model_type": shape.family, "hidden_size": shape.hidden_size, "num_hidden_layers": shape.layers,
        "num_attention_heads": shape.attention_heads, "num_key_value_heads": shape.kv_heads,
        "head_dim": shape.head_dim, "vocab_size": shape.vocab_size,
        "intermediate_size": shape.intermediate_size, "max_position_embeddings": shape.max_context,
    }  # fmt: skip
    if fp8:
        config["quantization_config"] = {"quant_method": "fp8"}
    (path / "config.json").write_text(json.dumps(config))
    (path / "model.safetensors").write_bytes(b"")
    options = ServeOptions(path, gpu=known_gpu(gpu), gpus=gpus, speculative=spec, served_yaml=Path(fname))
    launch = prepare_launch(options)
    command = launch.command.replace(str(path), f"/models/{name}")
    plan = launch.plan
    title = (
        f"{name} ({plan.dtype}) on {plan.gpus} x {gpu}: TP {plan.tp} x PP {plan.pp},"
        f" KV cache for {plan.kv_tokens:,} tokens"
    )
    return launch, command, title


@pytest.mark.parametrize("fname", sorted(CONFIGS))
def test_example_config_matches_what_run_writes(tmp_path: Path, fname: str):
    launch, command, title = make_launch(tmp_path, fname, *CONFIGS[fname])
    text = (CONFIG_DIR / fname).read_text()
    assert yaml.safe_load(text) == launch.config
    assert f"#   {command}\n" in text
    assert title in text


def test_every_example_config_is_checked():
    assert sorted(p.name for p in CONFIG_DIR.glob("*.yaml")) == sorted(CONFIGS)

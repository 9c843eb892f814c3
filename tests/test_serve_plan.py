"""hermes-serve plan: figures checked against arithmetic done by hand from the published shapes.

Shapes (config.json of the bases): Llama-3.1-405B 126 layers, hidden 16384, 128 heads,
8 KV heads, head 128, vocab 128256, MLP 53248; Llama-3.1-70B 80 / 8192 / 64 / 8 / 128 /
128256 / 28672; Qwen3-14B 40 / 5120 / 40 / 8 / 128 / 151936 / 17408 (untied embeddings).
GPU memory as nvidia-smi reports it: H100 81,559 MiB = 85,520,809,984 B; H200 143,771 MiB
= 150,754,820,096 B. Runtime reserve 4 GiB = 4,294,967,296 B per GPU; KV gets 90% of the rest.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hermes_serve.cli import main
from hermes_serve.gpus import known_gpu
from hermes_serve.models import HERMES_4, resolve_model
from hermes_serve.plan import PlanError, make_plan

H100 = known_gpu("h100-80gb")
H200 = known_gpu("h200-141gb")


@pytest.mark.parametrize(
    ("name", "parameters", "bf16_bytes", "fp8_bytes", "kv_bf16"),
    [
        # 405B: embeddings 2 x 128256 x 16384 = 4,202,692,608; per layer attention
        # 2 x 16384^2 + 2 x 16384 x 1024 = 570,425,344 and MLP 3 x 16384 x 53248 =
        # 2,617,245,696; norms 126 x 32768 + 16384. FP8 keeps embeddings and norms in BF16.
        ("hermes-4-405b", 405_853_388_800, 811_706_777_600, 410_060_226_560, 516_096),
        # 70B: embeddings 2,101,346,304; per layer 150,994,944 + 704,643,072 + 16,384.
        ("hermes-4-70b", 70_553_706_496, 141_107_412_992, 72_656_371_712, 327_680),
        # 14B: embeddings 1,555,824,640; per layer 62,914,560 + 267,386,880 + 10,240 + 256 (q/k norm).
        ("hermes-4-14b", 14_768_307_200, 29_536_614_400, 16_324_556_800, 163_840),
    ],
)
def test_weights_and_kv_per_token(name, parameters, bf16_bytes, fp8_bytes, kv_bf16):
    model = HERMES_4[name]
    assert model.parameters == parameters
    assert model.weight_bytes("bf16") == bf16_bytes
    assert model.weight_bytes("fp8") == fp8_bytes
    assert model.kv_bytes_per_token(2) == kv_bf16  # 504, 320 and 160 KiB
    assert model.kv_bytes_per_token(1) == kv_bf16 // 2


@pytest.mark.parametrize(
    ("name", "gpu", "dtype", "gpus", "tp", "pp", "kv_tokens"),
    [
        # 410,060,226,560 / 8 = 51,257,528,320 per GPU; (85,520,809,984 - that - 4 GiB) x 0.9
        # = 26,971,482,931 per GPU; x 8 / 258,048 B per FP8 token = 836,169.
        ("hermes-4-405b", H100, "fp8", 8, 8, 1, 836_169),
        # 811,706,777,600 / 16 = 50,731,673,600; (85,520,809,984 - it - 4 GiB) x 0.9 x 16 / 516,096.
        ("hermes-4-405b", H100, "bf16", 16, 8, 2, 850_841),
        # 811,706,777,600 / 8 = 101,463,347,200 on 150,754,820,096 B: x 0.9 x 8 / 516,096.
        ("hermes-4-405b", H200, "bf16", 8, 8, 1, 627_741),
        # 141,107,412,992 / 4 = 35,276,853,248; 45,948,989,440 x 0.9 x 4 / 327,680 = 504,810.
        ("hermes-4-70b", H100, "bf16", 4, 4, 1, 504_810),
        # 72,656,371,712 on one H200: (150,754,820,096 - it - 4 GiB) x 0.9 / 163,840 = 405,414.
        ("hermes-4-70b", H200, "fp8", 1, 1, 1, 405_414),
        # 29,536,614,400 on one H100: 51,689,228,288 x 0.9 / 163,840 = 283,937.
        ("hermes-4-14b", H100, "bf16", 1, 1, 1, 283_937),
        # 29,536,614,400 on one H200: 116,923,238,400 x 0.9 / 163,840 = 642,278.
        ("hermes-4-14b", H200, "bf16", 1, 1, 1, 642_278),
    ],
)
def test_smallest_fitting_split_and_kv_capacity(name, gpu, dtype, gpus, tp, pp, kv_tokens):
    plan = make_plan(HERMES_4[name], gpu, dtype=dtype)
    assert (plan.gpus, plan.tp, plan.pp) == (gpus, tp, pp)
    assert plan.kv_tokens == kv_tokens
    assert plan.fits
    assert plan.full_context_requests == kv_tokens // HERMES_4[name].max_context


def test_decode_ceiling_is_weight_bytes_over_bandwidth():
    plan = make_plan(HERMES_4["hermes-4-70b"], H100, gpus=4, dtype="bf16")
    # 4 GPUs x 3.35 TB/s / 141.1 GB read per token = 94.96 tokens/s at batch 1.
    assert plan.decode_ceiling_tok_s == pytest.approx(94.96, abs=0.01)


def test_seventy_b_on_two_h100s_does_not_fit_and_says_what_would():
    plan = make_plan(HERMES_4["hermes-4-70b"], H100, gpus=2, dtype="bf16")
    # (85,520,809,984 - 70,553,706,496 - 4 GiB) x 0.9 x 2 / 327,680 = 58,623 < 131,072.
    assert plan.kv_tokens == 58_623
    assert not plan.fits
    assert "58,623 tokens, less than one 131,072-token request" in plan.problem()


def test_weights_larger_than_the_gpus_are_named():
    plan = make_plan(HERMES_4["hermes-4-405b"], H100, gpus=8, dtype="bf16")
    assert not plan.fits
    assert "101.5 GB of weights per GPU" in plan.problem()


def test_tp_that_does_not_divide_the_kv_heads_is_refused():
    with pytest.raises(PlanError, match=r"TP 3 does not divide the 8 KV heads .* use TP 1, 2, 4, 8"):
        make_plan(HERMES_4["hermes-4-70b"], H100, tp=3, pp=1)


def test_fp8_is_refused_on_a_gpu_without_it():
    with pytest.raises(PlanError, match="a100-80gb has no FP8"):
        make_plan(HERMES_4["hermes-4-14b"], known_gpu("a100-80gb"), dtype="fp8")


def test_shapes_come_from_a_checkpoint_config(tmp_path: Path):
    # Qwen3-14B's published config.json, trimmed to the fields that matter.
    config = {
        "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 5120,
        "num_hidden_layers": 40, "num_attention_heads": 40, "num_key_value_heads": 8, "head_dim": 128,
        "vocab_size": 151936, "intermediate_size": 17408, "max_position_embeddings": 40960,
        "tie_word_embeddings": False,
    }  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps(config))
    shape = resolve_model(str(tmp_path))
    assert shape.family == "qwen3"
    assert shape.parameters == HERMES_4["hermes-4-14b"].parameters
    assert shape.kv_bytes_per_token(2) == 163_840


def test_cli_answers_for_every_size_on_h100_and_h200(capsys):
    assert main(["plan", "--model", "all", "--gpu", "h100-80gb,h200-141gb", "--dtype", "all"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| hermes-4")]
    assert len(rows) == 12
    assert "| hermes-4-405b | h100-80gb | fp8 | 8 | 8 x 1 |" in "\n".join(rows)


def test_cli_json_and_does_not_fit_status(capsys):
    assert main(["plan", "--model", "hermes-4-70b", "--gpu", "h100", "--gpus", "2", "--json"]) == 1
    [plan] = json.loads(capsys.readouterr().out)
    assert plan["fits"] is False and plan["kv_tokens"] == 58_623
    assert main(["plan", "--model", "hermes-4-70b", "--gpu", "h100", "--gpus", "2"]) == 1
    assert "does not fit" in capsys.readouterr().out


def test_cli_refusals_are_one_sentence_with_status_2(capsys, tmp_path: Path):
    assert main(["plan", "--model", "hermes-4-70b", "--tp", "3"]) == 2
    assert "TP 3 does not divide" in capsys.readouterr().err
    assert main(["plan", "--model", "hermes-5-1t"]) == 2
    assert "unknown model 'hermes-5-1t'" in capsys.readouterr().err
    assert main(["plan", "--model", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["plan", "--gpu", "tpu-v5"]) == 2
    assert "unknown GPU 'tpu-v5'" in capsys.readouterr().err

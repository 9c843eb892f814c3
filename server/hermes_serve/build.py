"""``hermes-serve build``: the compiled TensorRT engine path (TensorRT-LLM 1.2.x).

Most users should serve the Hugging Face checkpoint with the PyTorch backend (``run``'s
default). The engine path is for those who want a compiled engine on 1.2.x, where
``trtllm-serve --backend tensorrt`` still serves one. Three steps:

1. convert the checkpoint to TensorRT-LLM's sharded format, already split for TP x PP:
   in FP8 through ModelOpt (``examples/quantization/quantize.py``, FP8 weights and FP8 KV
   cache, calibrated on 512 samples), in BF16 through the model family's
   ``convert_checkpoint.py``;
2. ``trtllm-build`` with paged context FMHA (without it, KV-cache block reuse and chunked
   prefill cannot work), FP8 context FMHA when FP8, the GEMM plugin, and the batch and
   sequence limits ``run`` would use;
3. serve it: ``hermes-serve run --backend tensorrt --checkpoint OUT/engine --tokenizer HF_DIR``.

The conversion scripts live in the TensorRT-LLM source tree (``examples/``), not in the
wheel: point ``--examples`` (or ``$TRTLLM_EXAMPLES``) at a checkout of the v1.2.1 tag.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import attrs

from hermes_serve.gpus import Gpu
from hermes_serve.launch import MAX_NUM_TOKENS, LaunchError, ServeOptions, batch_limit, choose_plan
from hermes_serve.models import ModelError, ModelShape, checkpoint_precision, read_checkpoint
from hermes_serve.plan import Plan

CALIBRATION_SAMPLES = 512
CONVERTERS = {
    "llama": "models/core/llama/convert_checkpoint.py",
    "qwen3": "models/core/qwen/convert_checkpoint.py",
}


@attrs.frozen
class BuildOptions:
    """What the user asked ``build`` for."""

    checkpoint: Path
    out: Path
    tp: int
    pp: int = 1
    dtype: str = "bf16"
    gpu: Gpu | None = None
    context: int | None = None
    examples: Path | None = None


@attrs.frozen
class BuildPlan:
    """The commands that produce the engine, in order."""

    steps: list[list[str]]
    engine_dir: Path
    plan: Plan
    serve_command: list[str]

    def script(self) -> str:
        return "\n".join(shlex.join(step) for step in self.steps)


def examples_dir(options: BuildOptions) -> Path:
    if options.examples is not None:
        return options.examples
    return Path(os.environ.get("TRTLLM_EXAMPLES", "TensorRT-LLM/examples"))


def _check_source(checkpoint: Path) -> ModelShape:
    shape = read_checkpoint(checkpoint)
    if not any(checkpoint.glob("*.safetensors")) and not any(checkpoint.glob("*.bin")):
        raise LaunchError(f"checkpoint {checkpoint} has config.json but no weights (*.safetensors)")
    return shape


def prepare_build(options: BuildOptions) -> BuildPlan:
    """Validate ``options`` and compute the conversion and build commands; touches nothing."""
    if options.dtype not in ("bf16", "fp8"):
        raise LaunchError(f"unknown dtype {options.dtype!r}; use bf16 or fp8")
    try:
        shape = _check_source(options.checkpoint)
    except ModelError as error:
        raise LaunchError(str(error)) from None
    if options.dtype == "bf16" and checkpoint_precision(options.checkpoint) == "fp8":
        raise LaunchError(
            f"{options.checkpoint} is already FP8; build from the BF16 checkpoint, or serve it directly"
            " with the PyTorch backend (`hermes-serve run`)"
        )
    serve = ServeOptions(
        options.checkpoint, gpu=options.gpu, tp=options.tp, pp=options.pp, context=options.context
    )
    plan = choose_plan(serve, shape, options.dtype)
    examples = examples_dir(options)
    converted = options.out / "trtllm-checkpoint"
    engine = options.out / "engine"
    split = ["--tp_size", str(plan.tp), "--pp_size", str(plan.pp)]
    if options.dtype == "fp8":
        convert = [
            "python3", str(examples / "quantization/quantize.py"),
            "--model_dir", str(options.checkpoint),
            "--dtype", "bfloat16",
            "--qformat", "fp8",
            "--kv_cache_dtype", "fp8",
            "--calib_size", str(CALIBRATION_SAMPLES),
            *split,
            "--output_dir", str(converted),
        ]  # fmt: skip
    else:
        convert = [
            "python3", str(examples / CONVERTERS[shape.family]),
            "--model_dir", str(options.checkpoint),
            "--dtype", "bfloat16",
            *split,
            "--output_dir", str(converted),
        ]  # fmt: skip
    build = [
        "trtllm-build",
        "--checkpoint_dir", str(converted),
        "--output_dir", str(engine),
        "--max_batch_size", str(batch_limit(plan)),
        "--max_input_len", str(plan.context),
        "--max_seq_len", str(plan.context),
        "--max_num_tokens", str(MAX_NUM_TOKENS),
        "--gemm_plugin", "auto",
        "--use_paged_context_fmha", "enable",
        *(["--use_fp8_context_fmha", "enable"] if options.dtype == "fp8" else []),
        "--multiple_profiles", "enable",
        "--workers", str(min(plan.gpus, plan.gpu.per_node)),
    ]  # fmt: skip
    serve_command = [
        "hermes-serve", "run", "--backend", "tensorrt",
        "--checkpoint", str(engine), "--tokenizer", str(options.checkpoint),
    ]  # fmt: skip
    return BuildPlan([convert, build], engine, plan, serve_command)


def execute(build: BuildPlan, out: Callable[[str], None] = print) -> int:
    """Run the steps one after another; stop at the first that fails."""
    if shutil.which("trtllm-build") is None:
        raise LaunchError(
            "trtllm-build is not installed: on a machine with NVIDIA GPUs run `pip install '.[serve]'`"
            " (tensorrt-llm 1.2.1), or use the NGC TensorRT-LLM 1.2 container"
        )
    script = Path(build.steps[0][1])
    if not script.is_file():
        raise LaunchError(
            f"{script} not found: point --examples (or $TRTLLM_EXAMPLES) at the examples/ directory"
            " of a TensorRT-LLM v1.2.1 checkout"
        )
    for number, step in enumerate(build.steps, 1):
        out(f"# step {number}/{len(build.steps)}")
        out(shlex.join(step))
        status = subprocess.run(step, check=False).returncode
        if status != 0:
            out(f"step {number} failed with status {status}; nothing after it was run")
            return status
    out(f"engine ready in {build.engine_dir}; serve it with:\n{shlex.join(build.serve_command)}")
    return 0

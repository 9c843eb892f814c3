"""``hermes-serve run``: the ``trtllm-serve`` command and YAML for IDE traffic, and starting it.

IDE traffic is many short prompts that share long prefixes (system prompt, repository
map, the file being edited), with the occasional long refactor. The options follow:

- KV-cache block reuse (and partial-block reuse): a keystroke's prompt reuses the cached
  prefix of the previous one, so only the last few hundred tokens are prefilled;
- chunked prefill with a ``max_num_tokens`` of 8192: a long refactor prompt is split over
  several steps instead of stalling everyone's completions behind it;
- a batch limit sized from the KV pool (at least 8, at most 128: more concurrency than a
  team produces only makes each step slower) with CUDA graphs up to that batch;
- FP8 KV cache when the checkpoint is FP8 (half the bytes per token);
- optional n-gram speculation, which drafts tokens by copying from the prompt: completions
  and refactors repeat the code around them, so it often gets several tokens per step.

``trtllm-serve`` reads the YAML through ``--extra_llm_api_options``; the keys are
TensorRT-LLM 1.2's ``LlmArgs`` fields. The server binds to loopback unless told otherwise.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import httpx
import yaml

from hermes_serve.gpus import Gpu, known_gpu
from hermes_serve.models import ModelError, ModelShape, checkpoint_precision, read_checkpoint
from hermes_serve.plan import KV_FRACTION, Plan, PlanError, advice, make_plan, tp_choices

DEFAULT_CONTEXT = 32768
"""IDE prompts (context + file + instructions) stay far below this; one runaway request
cannot take the whole pool."""
MAX_NUM_TOKENS = 8192
IDE_REQUEST_TOKENS = 4096
"""A typical completion request (repository context, file prefix, output) for sizing the batch."""
NGRAM_DRAFT_TOKENS = 4
NGRAM_MATCH_TOKENS = 2
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class LaunchError(ValueError):
    """Options that cannot produce a working server (the message says why)."""


@attrs.frozen
class ServeOptions:
    """What the user asked ``run`` for."""

    checkpoint: Path
    backend: str = "pytorch"
    gpu: Gpu | None = None
    gpus: int | None = None
    tp: int | None = None
    pp: int | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    speculative: str | None = None
    context: int | None = None
    max_batch_size: int | None = None
    tokenizer: Path | None = None
    visible_gpus: int = 0
    """GPUs this machine shows (0: unknown, e.g. a dry run elsewhere)."""
    served_yaml: Path | None = None
    """Where to write the YAML (default: next to nothing the user owns, see ``default_yaml_path``)."""


@attrs.frozen
class LaunchPlan:
    """The exact command and configuration ``run`` starts."""

    argv: list[str]
    config: dict[str, Any]
    config_path: Path
    plan: Plan
    url: str
    notes: list[str]
    env: dict[str, str] = attrs.Factory(dict)
    """Environment added for the server (``CUDA_VISIBLE_DEVICES`` when it shares the node)."""

    @property
    def command(self) -> str:
        prefix = [f"{key}={value}" for key, value in self.env.items()]
        return " ".join([*prefix, shlex.join(self.argv)])

    @property
    def yaml(self) -> str:
        return render_yaml(self.config)


def render_yaml(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False)


def default_yaml_path(checkpoint: Path) -> Path:
    return Path.cwd() / f"hermes-serve-{checkpoint.name}.yaml"


def pow2_floor(n: int) -> int:
    return 1 << (n.bit_length() - 1) if n > 0 else 0


def batch_limit(plan: Plan) -> int:
    """Concurrent requests the KV pool holds at a typical IDE request size, between 8 and 128."""
    return max(8, min(128, pow2_floor(plan.kv_tokens // IDE_REQUEST_TOKENS)))


def _engine_dir(path: Path) -> bool:
    return (path / "rank0.engine").is_file()


def check_checkpoint(options: ServeOptions) -> ModelShape:
    """Refuse a missing or wrong checkpoint before anything starts; return its shape."""
    path = options.checkpoint
    shape = read_checkpoint(path)
    if options.backend == "tensorrt":
        if not _engine_dir(path):
            raise LaunchError(
                f"{path} is not a TensorRT engine (no rank0.engine); build one with"
                f" `hermes-serve build --checkpoint HF_DIR --out DIR`, or serve the checkpoint"
                " with --backend pytorch"
            )
        tokenizer = options.tokenizer or path
        if not ((tokenizer / "tokenizer.json").is_file() or (tokenizer / "tokenizer_config.json").is_file()):
            raise LaunchError(
                f"no tokenizer in {tokenizer}: an engine needs --tokenizer pointing at the Hugging Face"
                " checkpoint it was built from"
            )
    elif not any(path.glob("*.safetensors")) and not any(path.glob("*.bin")):
        raise LaunchError(f"checkpoint {path} has config.json but no weights (*.safetensors)")
    return shape


def choose_plan(options: ServeOptions, shape: ModelShape, dtype: str) -> Plan:
    """The plan behind the launch: the user's GPUs and TP/PP, else the visible GPUs, else the fewest.

    With GPUs visible and no count given, TP spans as many of them as the KV heads allow
    inside one node: idle GPUs do nothing, and every extra TP rank shortens each token.
    """
    gpu = options.gpu or known_gpu("h100-80gb")
    context = min(options.context or DEFAULT_CONTEXT, shape.max_context)
    gpus = options.gpus
    if gpus is None and options.tp is None and options.pp is None and options.visible_gpus:
        widest = max(tp_choices(shape, min(options.visible_gpus, gpu.per_node)))
        if make_plan(shape, gpu, widest, dtype, context).fits:
            gpus = widest
    try:
        plan = make_plan(shape, gpu, gpus, dtype, context, options.tp, options.pp)
    except PlanError as error:
        raise LaunchError(str(error)) from None
    if not plan.fits:
        raise LaunchError(f"does not fit: {plan.problem()}; {advice(plan)}")
    if options.visible_gpus and plan.gpus > options.visible_gpus and plan.gpus <= gpu.per_node:
        raise LaunchError(
            f"{plan.model.name} in {dtype} needs {plan.gpus} x {gpu.name} (TP {plan.tp} x PP {plan.pp}),"
            f" but this machine shows {options.visible_gpus}"
        )
    return plan


def extra_options(options: ServeOptions, plan: Plan, batch: int) -> dict[str, Any]:
    """The ``extra_llm_api_options`` YAML as a dict (TensorRT-LLM 1.2 ``LlmArgs`` keys)."""
    kv_cache: dict[str, Any] = {
        "enable_block_reuse": True,
        "enable_partial_reuse": True,
        "free_gpu_memory_fraction": KV_FRACTION,
    }
    config: dict[str, Any] = {"kv_cache_config": kv_cache, "enable_chunked_prefill": True}
    if options.backend == "pytorch":
        # The engine path bakes the KV dtype and CUDA graphs in at build time; these
        # keys exist only in the PyTorch backend's arguments.
        if plan.kv_dtype == "fp8":
            kv_cache["dtype"] = "fp8"
        config["cuda_graph_config"] = {"enable_padding": True, "max_batch_size": batch}
    if options.speculative == "ngram":
        config["speculative_config"] = {
            "decoding_type": "NGram",
            "max_draft_len": NGRAM_DRAFT_TOKENS,
            "max_matching_ngram_size": NGRAM_MATCH_TOKENS,
            "is_keep_all": True,
            "is_use_oldest": True,
            # One pool for all requests: everyone edits the same repository.
            "is_public_pool": True,
        }
        config["disable_overlap_scheduler"] = True
    return config


def prepare_launch(options: ServeOptions) -> LaunchPlan:
    """Validate ``options`` and compute the command and YAML; touches nothing."""
    if options.backend not in ("pytorch", "tensorrt"):
        raise LaunchError(f"unknown backend {options.backend!r}; use pytorch or tensorrt")
    if options.speculative not in (None, "ngram"):
        raise LaunchError(f"unknown speculative mode {options.speculative!r}; use ngram")
    if options.speculative == "ngram" and options.backend == "tensorrt":
        raise LaunchError("n-gram speculation runs on the PyTorch backend only; drop --speculative or use it")
    if not 0 < options.port < 65536:
        raise LaunchError(f"port {options.port} is outside 1..65535")
    try:
        shape = check_checkpoint(options)
    except ModelError as error:
        raise LaunchError(str(error)) from None
    dtype = checkpoint_precision(options.checkpoint)
    plan = choose_plan(options, shape, dtype)
    batch = options.max_batch_size or batch_limit(plan)
    config = extra_options(options, plan, batch)
    config_path = options.served_yaml or default_yaml_path(options.checkpoint)
    argv = [
        "trtllm-serve", str(options.checkpoint),
        "--backend", options.backend,
        "--host", options.host,
        "--port", str(options.port),
        "--tp_size", str(plan.tp),
        "--pp_size", str(plan.pp),
        "--max_batch_size", str(batch),
        "--max_num_tokens", str(MAX_NUM_TOKENS),
        "--max_seq_len", str(plan.context),
    ]  # fmt: skip
    if options.backend == "tensorrt":
        argv += ["--tokenizer", str(options.tokenizer or options.checkpoint)]
    argv += ["--extra_llm_api_options", str(config_path)]
    notes = []
    if plan.gpus > plan.gpu.per_node:
        # More ranks than one node: MPI must start them on every node (see deploy/slurm).
        argv = ["trtllm-llmapi-launch", *argv]
        notes.append(
            f"{plan.gpus} GPUs span {plan.nodes} nodes: start this under srun (server/deploy/slurm/)"
        )
    if options.host not in LOOPBACK:
        notes.append(
            f"binding to {options.host}: trtllm-serve has no authentication; put it behind a proxy"
            " that checks a key, or keep it on 127.0.0.1"
        )
    host = "127.0.0.1" if options.host in ("0.0.0.0", "::") else options.host
    url = f"http://{host}:{options.port}"
    return LaunchPlan(argv, config, config_path, plan, url, notes)


def summary(launch: LaunchPlan) -> str:
    plan = launch.plan
    lines = [
        f"# {plan.model.name} ({plan.dtype}) on {plan.gpus} x {plan.gpu.name}: TP {plan.tp} x PP {plan.pp},"
        f" KV cache for {plan.kv_tokens:,} tokens",
        *(f"# note: {note}" for note in launch.notes),
        f"# {launch.config_path}:",
        *(f"#   {line}" for line in launch.yaml.splitlines()),
        launch.command,
    ]
    return "\n".join(lines)


def wait_until_healthy(
    url: str, alive: Callable[[], bool], timeout_s: float, interval_s: float = 1.0
) -> bool:
    """Poll ``url/health`` until it answers 200; False if the process died or time ran out."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=5.0) as client:
        while time.monotonic() < deadline:
            if not alive():
                return False
            try:
                if client.get(f"{url}/health").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(interval_s)
    return False


def start(launch: LaunchPlan, ready_timeout_s: float, out: Callable[[str], None] = print) -> int:
    """Write the YAML, start ``trtllm-serve``, report when it is healthy, and wait for it."""
    return start_all([launch], ready_timeout_s, out)


def start_all(launches: list[LaunchPlan], ready_timeout_s: float, out: Callable[[str], None] = print) -> int:
    """Start each launch's ``trtllm-serve``, report each when healthy, and wait.

    When one server exits, the others are stopped too: a half-working pair would send one
    job's requests into the void. Returns the first non-zero exit status.
    """
    for launch in launches:
        executable = launch.argv[0]
        if shutil.which(executable) is None:
            raise LaunchError(
                f"{executable} is not installed: on a machine with NVIDIA GPUs run"
                " `pip install '.[serve]'` (tensorrt-llm 1.2.1), or use the NGC TensorRT-LLM container"
            )
        if launch.plan.gpus > launch.plan.gpu.per_node and "SLURM_JOB_ID" not in os.environ:
            raise LaunchError(f"{launch.plan.gpus} GPUs need several nodes: use server/deploy/slurm/ (srun)")
    processes = []
    for launch in launches:
        launch.config_path.parent.mkdir(parents=True, exist_ok=True)
        launch.config_path.write_text(launch.yaml, encoding="utf-8")
        out(summary(launch))
        processes.append(
            subprocess.Popen(launch.argv, env={**os.environ, **launch.env} if launch.env else None)
        )

    def forward(signum: int, _frame: object) -> None:
        for process in processes:
            process.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for launch, process in zip(launches, processes, strict=True):
            if wait_until_healthy(launch.url, lambda p=process: p.poll() is None, ready_timeout_s):
                out(f"ready: {launch.url}/v1 (model {launch.argv[launch.argv.index('trtllm-serve') + 1]})")
            elif process.poll() is None:
                out(
                    f"not healthy after {ready_timeout_s:.0f} s;"
                    " still waiting on the server (Ctrl-C stops it)"
                )
            else:
                out(
                    f"trtllm-serve exited with status {process.returncode} before it was ready;"
                    " its log is above"
                )
                break
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        return next((p.returncode for p in processes if p.returncode), 0)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()

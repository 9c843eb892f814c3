"""The memory plan: does a model fit on N GPUs, how to split it, and how much KV cache is left.

The arithmetic, per GPU, follows what TensorRT-LLM does at start-up: load the weights
(split over tensor- and pipeline-parallel ranks), keep a reserve for the CUDA context,
NCCL buffers, activations and CUDA graphs, then give ``KV_FRACTION`` of what is left to
the paged KV cache. A token's KV cache is split the same way (TP splits the KV heads, PP
the layers), so the pool holds ``pool_per_gpu * tp * pp / kv_bytes_per_token`` tokens.
A plan "fits" when that is at least one request of the full context length.
"""

from __future__ import annotations

from typing import Any

import attrs

from hermes_serve.gpus import GIB, Gpu
from hermes_serve.models import ModelShape

RUNTIME_RESERVE_BYTES = 4 * GIB
"""Per GPU, outside weights and KV: CUDA context (~0.5 GiB), NCCL and all-reduce
workspaces, activations of one ``max_num_tokens`` step, CUDA graphs, the sampler."""
KV_FRACTION = 0.9
"""Share of the remaining free memory given to the KV cache (``free_gpu_memory_fraction``)."""
DTYPE_BYTES = {"bf16": 2, "fp8": 1}
GPU_COUNTS = (1, 2, 4, 8, 16, 24, 32, 48, 64)
"""Counts ``plan`` tries when asked for the smallest fit: one node, then whole nodes."""


class PlanError(ValueError):
    """A combination that cannot work (the message says what would)."""


@attrs.frozen
class Plan:
    """One model on one set of GPUs."""

    model: ModelShape
    gpu: Gpu
    gpus: int
    tp: int
    pp: int
    dtype: str
    kv_dtype: str
    context: int
    weight_bytes: int
    weight_bytes_per_gpu: int
    kv_bytes_per_token: int
    kv_pool_bytes_per_gpu: int
    """Bytes per GPU for the KV cache; zero when weights and reserve leave nothing."""
    kv_tokens: int
    """Tokens the whole KV pool holds: the largest concurrent token count."""
    decode_ceiling_tok_s: float
    """Batch-1 decode cannot exceed this: each token reads every weight once, and the
    ``tp`` GPUs of a stage read their shares in parallel (PP stages run one after another)."""

    @property
    def nodes(self) -> int:
        return -(-self.gpus // self.gpu.per_node)

    @property
    def fits(self) -> bool:
        return self.kv_tokens >= self.context

    @property
    def full_context_requests(self) -> int:
        """Requests of the full context length that fit in the KV cache at once."""
        return self.kv_tokens // self.context

    def problem(self) -> str | None:
        """Why it does not fit, in one sentence (None when it fits)."""
        if self.fits:
            return None
        free = self.gpu.memory_bytes - RUNTIME_RESERVE_BYTES
        if self.weight_bytes_per_gpu >= free:
            return (
                f"{self.model.name} in {self.dtype} needs {gb(self.weight_bytes_per_gpu)} GB of weights"
                " per GPU"
                f" on {self.gpus} x {self.gpu.name}, more than the {gb(free)} GB a GPU has"
                f" after the {gb(RUNTIME_RESERVE_BYTES)} GB runtime reserve"
            )
        return (
            f"{self.model.name} in {self.dtype} on {self.gpus} x {self.gpu.name} leaves KV cache for"
            f" {self.kv_tokens:,} tokens, less than one {self.context:,}-token request"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.name,
            "gpu": self.gpu.name,
            "gpus": self.gpus,
            "nodes": self.nodes,
            "tp": self.tp,
            "pp": self.pp,
            "dtype": self.dtype,
            "kv_dtype": self.kv_dtype,
            "context": self.context,
            "parameters": self.model.parameters,
            "weight_bytes": self.weight_bytes,
            "weight_bytes_per_gpu": self.weight_bytes_per_gpu,
            "kv_bytes_per_token": self.kv_bytes_per_token,
            "kv_pool_bytes_per_gpu": self.kv_pool_bytes_per_gpu,
            "kv_tokens": self.kv_tokens,
            "full_context_requests": self.full_context_requests,
            "decode_ceiling_tok_s": round(self.decode_ceiling_tok_s, 1),
            "fits": self.fits,
            "problem": self.problem(),
        }


def gb(n: float) -> str:
    """Bytes as decimal gigabytes with one decimal."""
    return f"{n / 1e9:.1f}"


def tp_choices(model: ModelShape, limit: int) -> list[int]:
    """Tensor-parallel sizes up to ``limit`` that split the KV and attention heads evenly."""
    return [t for t in range(1, limit + 1) if model.kv_heads % t == 0 and model.attention_heads % t == 0]


def check_split(model: ModelShape, gpu: Gpu, tp: int, pp: int) -> None:
    """Refuse a TP x PP split TensorRT-LLM cannot run, saying which would work."""
    if tp < 1 or pp < 1:
        raise PlanError(f"TP and PP must be at least 1 (got TP {tp}, PP {pp})")
    if model.kv_heads % tp or model.attention_heads % tp:
        choices = ", ".join(str(t) for t in tp_choices(model, max(model.kv_heads, gpu.per_node)))
        raise PlanError(
            f"TP {tp} does not divide the {model.kv_heads} KV heads (and {model.attention_heads} attention"
            f" heads) of {model.name}; use TP {choices} and pipeline parallelism for the rest"
        )
    if tp > gpu.per_node:
        raise PlanError(
            f"TP {tp} spans more than the {gpu.per_node} GPUs of one {gpu.name} node; keep TP within"
            " a node (NVLink) and use PP across nodes"
        )
    if pp > model.layers:
        raise PlanError(f"PP {pp} exceeds the {model.layers} layers of {model.name}")


def default_split(model: ModelShape, gpu: Gpu, gpus: int) -> tuple[int, int]:
    """TP as wide as one node and the KV heads allow; pipeline stages for the rest.

    TP cuts the time of every token; PP only adds memory. So TP takes the largest divisor
    of the GPU count that divides the KV heads and stays inside a node.
    """
    if gpus < 1:
        raise PlanError(f"need at least one GPU (got {gpus})")
    for tp in sorted(tp_choices(model, min(gpus, gpu.per_node)), reverse=True):
        if gpus % tp == 0:
            return tp, gpus // tp
    return 1, gpus  # unreachable: TP 1 always divides


def make_plan(
    model: ModelShape,
    gpu: Gpu,
    gpus: int | None = None,
    dtype: str = "bf16",
    context: int | None = None,
    tp: int | None = None,
    pp: int | None = None,
    kv_dtype: str | None = None,
) -> Plan:
    """Plan ``model`` on ``gpus`` x ``gpu`` (or on the fewest GPUs that fit when ``gpus`` is None)."""
    if dtype not in DTYPE_BYTES:
        raise PlanError(f"unknown dtype {dtype!r}; use bf16 or fp8")
    kv_dtype = kv_dtype or dtype
    if kv_dtype not in DTYPE_BYTES:
        raise PlanError(f"unknown KV cache dtype {kv_dtype!r}; use bf16 or fp8")
    if "fp8" in (dtype, kv_dtype) and not gpu.fp8:
        raise PlanError(f"{gpu.name} has no FP8 support; use --dtype bf16 (FP8 needs Hopper or later)")
    context = context or model.max_context
    if context < 1 or context > model.max_context:
        raise PlanError(
            f"context {context:,} is outside 1..{model.max_context:,}, the range {model.name} supports"
        )
    if tp is not None or pp is not None:
        if gpus is None:
            gpus = (tp or 1) * (pp or 1)
        tp = tp or gpus // (pp or 1)
        pp = pp or gpus // tp
        if tp * pp != gpus:
            raise PlanError(f"TP {tp} x PP {pp} = {tp * pp} GPUs, but --gpus says {gpus}")
        check_split(model, gpu, tp, pp)
        return _plan(model, gpu, tp, pp, dtype, kv_dtype, context)
    if gpus is None:
        smallest = smallest_fit(model, gpu, dtype, context, kv_dtype)
        if smallest is None:
            raise PlanError(
                f"{model.name} in {dtype} does not fit on up to {GPU_COUNTS[-1]} x {gpu.name}"
                f" with a {context:,}-token context"
            )
        return smallest
    tp, pp = default_split(model, gpu, gpus)
    check_split(model, gpu, tp, pp)
    return _plan(model, gpu, tp, pp, dtype, kv_dtype, context)


def _plan(model: ModelShape, gpu: Gpu, tp: int, pp: int, dtype: str, kv_dtype: str, context: int) -> Plan:
    gpus = tp * pp
    weights = model.weight_bytes(dtype)
    per_gpu = -(-weights // gpus)
    kv_per_token = model.kv_bytes_per_token(DTYPE_BYTES[kv_dtype])
    pool = max(0, int((gpu.memory_bytes - per_gpu - RUNTIME_RESERVE_BYTES) * KV_FRACTION))
    kv_tokens = pool * gpus // kv_per_token
    return Plan(
        model=model,
        gpu=gpu,
        gpus=gpus,
        tp=tp,
        pp=pp,
        dtype=dtype,
        kv_dtype=kv_dtype,
        context=context,
        weight_bytes=weights,
        weight_bytes_per_gpu=per_gpu,
        kv_bytes_per_token=kv_per_token,
        kv_pool_bytes_per_gpu=pool,
        kv_tokens=kv_tokens,
        decode_ceiling_tok_s=tp * gpu.bandwidth_bytes_s / weights,
    )


def smallest_fit(
    model: ModelShape, gpu: Gpu, dtype: str, context: int, kv_dtype: str | None = None
) -> Plan | None:
    """The plan on the fewest GPUs (one node, then whole nodes) that fits, or None."""
    for count in GPU_COUNTS:
        if count > gpu.per_node and count % gpu.per_node:
            continue
        tp, pp = default_split(model, gpu, count)
        plan = _plan(model, gpu, tp, pp, dtype, kv_dtype or dtype, context)
        if plan.fits:
            return plan
    return None


def advice(plan: Plan) -> str:
    """What to do instead when ``plan`` does not fit: more GPUs, or FP8."""
    options = []
    more = smallest_fit(plan.model, plan.gpu, plan.dtype, plan.context, plan.kv_dtype)
    if more is not None:
        options.append(f"{more.gpus} x {plan.gpu.name} (TP {more.tp} x PP {more.pp}) in {plan.dtype}")
    if plan.dtype == "bf16" and plan.gpu.fp8:
        fp8 = smallest_fit(plan.model, plan.gpu, "fp8", plan.context)
        if fp8 is not None:
            options.append(f"{fp8.gpus} x {plan.gpu.name} (TP {fp8.tp} x PP {fp8.pp}) in fp8")
    if plan.context > 8192:
        shorter = _plan(plan.model, plan.gpu, plan.tp, plan.pp, plan.dtype, plan.kv_dtype, 8192)
        if shorter.fits:
            options.append(f"--context 8192 on these {plan.gpus} GPUs")
    if not options:
        return "no configuration hermes-serve knows fits it"
    return "you need " + ", or ".join(options)


def describe(plan: Plan) -> str:
    """A plan in a few lines of plain text."""
    lines = [
        f"model      {plan.model.name}: {plan.model.parameters / 1e9:.1f}B parameters,"
        f" {plan.model.layers} layers, {plan.model.kv_heads} KV heads x {plan.model.head_dim}",
        f"hardware   {plan.gpus} x {plan.gpu.name} ({plan.nodes} node{'s' if plan.nodes > 1 else ''}),"
        f" TP {plan.tp} x PP {plan.pp}",
        f"weights    {gb(plan.weight_bytes)} GB in {plan.dtype}, {gb(plan.weight_bytes_per_gpu)} GB per GPU",
        f"KV cache   {plan.kv_bytes_per_token / 1024:.0f} KiB per token in {plan.kv_dtype};"
        f" {gb(plan.kv_pool_bytes_per_gpu)} GB per GPU holds {plan.kv_tokens:,} tokens",
        f"context    {plan.context:,} tokens: {plan.full_context_requests} full-length requests at once",
        f"decode     at most {plan.decode_ceiling_tok_s:.0f} tokens/s per request at batch 1"
        " (weight bytes / memory bandwidth)",
    ]
    problem = plan.problem()
    if problem:
        lines.append(f"does not fit: {problem}; {advice(plan)}")
    return "\n".join(lines)


TABLE_HEADER = (
    "| model | GPU | dtype | GPUs | TP x PP | weights/GPU (GB) | KV/token (KiB) | KV tokens"
    " | full-context requests | batch-1 decode ceiling (tok/s) |"
)


def table_row(plan: Plan) -> str:
    return (
        f"| {plan.model.name} | {plan.gpu.name} | {plan.dtype} | {plan.gpus} | {plan.tp} x {plan.pp}"
        f" | {gb(plan.weight_bytes_per_gpu)} | {plan.kv_bytes_per_token / 1024:.0f} | {plan.kv_tokens:,}"
        f" | {plan.full_context_requests} | {plan.decode_ceiling_tok_s:.0f} |"
    )


def table(plans: list[Plan]) -> str:
    """Plans as a Markdown table."""
    separator = "|" + "---|" * TABLE_HEADER.count(" | ") + "---|"
    return "\n".join([TABLE_HEADER, separator, *(table_row(p) for p in plans)])

"""Two models on one node: a small, fast Hermes 4 for completions and a large one for code actions.

Ghost text wants a short time to first token on every pause in typing; refactors and
debugging want the largest model. ``split_node`` divides one node's GPUs between them:
the large model gets the widest tensor-parallel group that fits beside the smallest
group the small model fits on, and the small model then gets the GPUs left over. Each
runs its own ``trtllm-serve`` on its own port, confined to its GPUs by
``CUDA_VISIBLE_DEVICES``; hermes-lsp reaches them through ``completion.endpoint`` and
``actions.endpoint``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from hermes_serve.gpus import Gpu
from hermes_serve.launch import (
    DEFAULT_CONTEXT,
    LaunchError,
    LaunchPlan,
    ServeOptions,
    check_checkpoint,
    prepare_launch,
)
from hermes_serve.models import ModelError, ModelShape, checkpoint_precision
from hermes_serve.plan import Plan, PlanError, advice, describe, make_plan, tp_choices

COMPLETION_PORT_OFFSET = 1
"""The completion server listens on the actions port plus this, unless told otherwise."""


@attrs.frozen
class NodeSplit:
    """Which GPUs of the node each model gets, and the plan of each."""

    completion: Plan
    actions: Plan
    completion_devices: tuple[int, ...]
    actions_devices: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "completion": {**self.completion.to_dict(), "devices": list(self.completion_devices)},
            "actions": {**self.actions.to_dict(), "devices": list(self.actions_devices)},
        }


def devices(ids: tuple[int, ...]) -> str:
    """The ``CUDA_VISIBLE_DEVICES`` value for GPU indices."""
    return ",".join(str(i) for i in ids)


def _widest_fit(model: ModelShape, gpu: Gpu, limit: int, dtype: str, context: int | None) -> Plan | None:
    for tp in reversed(tp_choices(model, limit)):
        plan = make_plan(model, gpu, dtype=dtype, context=context, tp=tp, pp=1)
        if plan.fits:
            return plan
    return None


def split_node(
    completion: ModelShape,
    actions: ModelShape,
    gpu: Gpu,
    gpus: int | None = None,
    dtype: str = "bf16",
    context: int | None = None,
    actions_dtype: str | None = None,
) -> NodeSplit:
    """Divide ``gpus`` GPUs of one node (default: a whole node) between the two models.

    ``dtype`` is the completion model's precision, and the actions model's unless
    ``actions_dtype`` says otherwise (checkpoints each carry their own).
    """
    big_dtype = actions_dtype or dtype
    gpus = gpus or gpu.per_node
    if gpus > gpu.per_node:
        raise PlanError(f"two models share one node: --gpus is at most {gpu.per_node} for {gpu.name}")
    if gpus < 2:
        raise PlanError("two models need at least 2 GPUs, one each")
    smallest = _smallest_single_node(completion, gpu, gpus - 1, dtype, context)
    big = _widest_fit(actions, gpu, gpus - smallest.gpus, big_dtype, context)
    if big is None:
        alone = make_plan(actions, gpu, gpus - smallest.gpus, big_dtype, context)
        raise PlanError(
            f"{actions.name} in {big_dtype} does not fit on the {gpus - smallest.gpus} x {gpu.name}"
            f" left beside {completion.name} ({smallest.gpus} GPU{'s' if smallest.gpus > 1 else ''}); alone,"
            f" {advice(alone)}"
        )
    small = _widest_fit(completion, gpu, gpus - big.gpus, dtype, context) or smallest
    return NodeSplit(
        completion=small,
        actions=big,
        completion_devices=tuple(range(big.gpus, big.gpus + small.gpus)),
        actions_devices=tuple(range(big.gpus)),
    )


def _smallest_single_node(model: ModelShape, gpu: Gpu, limit: int, dtype: str, context: int | None) -> Plan:
    for tp in tp_choices(model, limit):
        plan = make_plan(model, gpu, dtype=dtype, context=context, tp=tp, pp=1)
        if plan.fits:
            return plan
    raise PlanError(
        f"{model.name} in {dtype} does not fit on up to {limit} x {gpu.name} with one GPU left for the"
        " other model; use a smaller completion model or --dtype fp8"
    )


def describe_split(split: NodeSplit, actions_port: int, completion_port: int) -> str:
    """Both plans, which GPUs and ports they get, and the editor settings that use them."""
    lines = [
        f"actions     GPUs {devices(split.actions_devices)}, port {actions_port}",
        *(f"  {line}" for line in describe(split.actions).splitlines()),
        f"completion  GPUs {devices(split.completion_devices)}, port {completion_port}",
        *(f"  {line}" for line in describe(split.completion).splitlines()),
        "hermes-lsp settings:",
        f'  {{"actions": {{"endpoint": "http://127.0.0.1:{actions_port}/v1"}},'
        f' "completion": {{"endpoint": "http://127.0.0.1:{completion_port}/v1"}}}}',
    ]
    return "\n".join(lines)


def prepare_pair(completion: ServeOptions, actions: ServeOptions) -> tuple[NodeSplit, list[LaunchPlan]]:
    """Both launches, actions first, each confined to its share of the node; touches nothing.

    The GPU model, the GPU count (``gpus``, default a whole node) and the context come
    from ``actions``; each checkpoint gives its own precision.
    """
    try:
        shapes = [check_checkpoint(options) for options in (completion, actions)]
    except ModelError as error:
        raise LaunchError(str(error)) from None
    gpu = actions.gpu or completion.gpu
    if gpu is None:
        raise LaunchError("say which GPUs the node has (--gpu)")
    context = min(actions.context or DEFAULT_CONTEXT, *(shape.max_context for shape in shapes))
    try:
        split = split_node(
            shapes[0],
            shapes[1],
            gpu,
            actions.gpus or (actions.visible_gpus or None),
            checkpoint_precision(completion.checkpoint),
            context,
            actions_dtype=checkpoint_precision(actions.checkpoint),
        )
    except PlanError as error:
        raise LaunchError(str(error)) from None
    launches = []
    if completion.port == actions.port:
        raise LaunchError(f"both servers would listen on port {actions.port}; give --completion-port another")
    for job, options, plan, ids in (
        ("actions", actions, split.actions, split.actions_devices),
        ("completion", completion, split.completion, split.completion_devices),
    ):
        # Each job its own YAML, even when both checkpoints' folders share a name.
        yaml_path = Path.cwd() / f"hermes-serve-{options.checkpoint.name}-{job}.yaml"
        confined = attrs.evolve(
            options,
            gpu=gpu,
            gpus=plan.gpus,
            tp=plan.tp,
            pp=1,
            context=context,
            visible_gpus=0,
            served_yaml=options.served_yaml or yaml_path,
        )
        launch = prepare_launch(confined)
        launches.append(attrs.evolve(launch, env={"CUDA_VISIBLE_DEVICES": devices(ids)}))
    return split, launches

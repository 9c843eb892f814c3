"""The ``hermes-serve`` command line: ``plan``, ``run``, ``build`` and ``bench``.

Each subcommand parses its options into a record, calls the pure function that computes
what to do (``make_plan``, ``prepare_launch``, ``prepare_build``, ``run_bench``) and prints
the result. A bad combination ends with one sentence on standard error and status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import attrs

from hermes_serve import TRTLLM_VERSION, __version__
from hermes_serve.bench import BenchConfig, BenchError, run_bench
from hermes_serve.build import BuildOptions, execute, prepare_build
from hermes_serve.gpus import GPUS, Gpu, GpuError, detect, known_gpu
from hermes_serve.launch import LaunchError, ServeOptions, prepare_launch, start, start_all, summary
from hermes_serve.models import HERMES_4, ModelError, resolve_model
from hermes_serve.pair import COMPLETION_PORT_OFFSET, describe_split, prepare_pair, split_node
from hermes_serve.plan import PlanError, advice, describe, make_plan, table

DEFAULT_ENDPOINT = "http://127.0.0.1:8000/v1"


def _list(value: str, everything: Sequence[str]) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    return list(everything) if items == ["all"] else items


def _ints(value: str) -> tuple[int, ...]:
    try:
        numbers = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {value!r}") from None
    if not numbers or min(numbers) < 1:
        raise argparse.ArgumentTypeError(f"expected positive numbers, got {value!r}")
    return numbers


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return number


def cmd_plan(args: argparse.Namespace) -> int:
    if args.completion_model or args.actions_model:
        return plan_pair(args)
    models = [resolve_model(m) for m in _list(args.model, list(HERMES_4))]
    gpus = [known_gpu(g) for g in _list(args.gpu, ["h100-80gb", "h200-141gb"])]
    dtypes = _list(args.dtype, ["bf16", "fp8"])
    plans = [
        make_plan(m, g, args.gpus, d, args.context, args.tp, args.pp)
        for m in models
        for g in gpus
        for d in dtypes
    ]
    if args.json:
        print(json.dumps([p.to_dict() for p in plans], indent=2))
    elif len(plans) == 1:
        print(describe(plans[0]))
    else:
        print(table(plans))
        for plan in plans:
            if not plan.fits:
                print(
                    f"{plan.model.name} {plan.dtype} on {plan.gpus} x {plan.gpu.name} does not fit;"
                    f" {advice(plan)}"
                )
    return 0 if all(p.fits for p in plans) else 1


def plan_pair(args: argparse.Namespace) -> int:
    """``plan --completion-model S --actions-model L``: both on one node."""
    if not (args.completion_model and args.actions_model):
        raise PlanError("a two-model plan needs both --completion-model and --actions-model")
    if "," in args.gpu or "," in args.dtype or args.gpu == "all" or args.dtype == "all":
        raise PlanError("a two-model plan is for one GPU model and one dtype: give --gpu G --dtype D")
    split = split_node(
        resolve_model(args.completion_model),
        resolve_model(args.actions_model),
        known_gpu(args.gpu),
        args.gpus,
        args.dtype,
        args.context,
    )
    if args.json:
        print(json.dumps(split.to_dict(), indent=2))
    else:
        print(describe_split(split, 8000, 8000 + COMPLETION_PORT_OFFSET))
    return 0


def local_gpus(name: str | None) -> tuple[Gpu, int]:
    """The GPU model (the user's word first, then nvidia-smi's, then H100) and the visible count."""
    found, count = detect()
    gpu = known_gpu(name) if name else found or known_gpu("h100-80gb")
    return gpu, count


def cmd_run(args: argparse.Namespace) -> int:
    gpu, visible = local_gpus(args.gpu)
    pair = bool(args.completion_checkpoint or args.actions_checkpoint)
    if pair and not (args.completion_checkpoint and args.actions_checkpoint):
        raise LaunchError("a two-model node needs both --completion-checkpoint and --actions-checkpoint")
    if not pair and not args.checkpoint:
        raise LaunchError(
            "say what to serve: --checkpoint, or --completion-checkpoint and --actions-checkpoint"
        )
    options = ServeOptions(
        checkpoint=Path(args.actions_checkpoint or args.checkpoint).expanduser(),
        backend=args.backend,
        gpu=gpu,
        visible_gpus=visible,
        gpus=args.gpus,
        tp=args.tp,
        pp=args.pp,
        host=args.host,
        port=args.port,
        speculative=args.speculative,
        context=args.context,
        max_batch_size=args.max_batch_size,
        tokenizer=Path(args.tokenizer).expanduser() if args.tokenizer else None,
        served_yaml=Path(args.config).expanduser() if args.config else None,
    )
    if pair:
        completion = attrs.evolve(
            options,
            checkpoint=Path(args.completion_checkpoint).expanduser(),
            port=args.completion_port or args.port + COMPLETION_PORT_OFFSET,
            served_yaml=None,
        )
        split, launches = prepare_pair(completion, attrs.evolve(options, served_yaml=None))
        print(describe_split(split, options.port, completion.port))
        if args.dry_run:
            print("\n\n".join(summary(launch) for launch in launches))
            return 0
        return start_all(launches, args.ready_timeout)
    launch = prepare_launch(options)
    if args.dry_run:
        print(summary(launch))
        return 0
    return start(launch, args.ready_timeout)


def cmd_build(args: argparse.Namespace) -> int:
    options = BuildOptions(
        checkpoint=Path(args.checkpoint).expanduser(),
        out=Path(args.out).expanduser(),
        tp=args.tp,
        pp=args.pp,
        dtype=args.dtype,
        gpu=local_gpus(args.gpu)[0],
        context=args.context,
        examples=Path(args.examples).expanduser() if args.examples else None,
    )
    build = prepare_build(options)
    if args.dry_run:
        plan = build.plan
        print(
            f"# {plan.model.name} -> {plan.dtype} engine for TP {plan.tp} x PP {plan.pp} on {plan.gpu.name}"
        )
        print(build.script())
        print(f"# then serve it:\n{' '.join(build.serve_command)}")
        return 0
    return execute(build)


def cmd_bench(args: argparse.Namespace) -> int:
    config = BenchConfig(
        endpoint=args.endpoint,
        model=args.model,
        api_key=args.api_key or None,
        concurrency=args.concurrency,
        requests=args.requests,
        duration_s=args.duration,
        prefix_tokens=args.prefix_tokens,
        inline_tokens=args.inline_tokens,
        refactor_tokens=args.refactor_tokens,
        workloads=tuple(_list(args.workloads, ["inline", "refactor"])),
    )
    unknown = set(config.workloads) - {"inline", "refactor"}
    if unknown:
        raise BenchError(f"unknown workload {', '.join(sorted(unknown))}; use inline, refactor or all")
    progress = None if args.json else (lambda line: print(line, file=sys.stderr))
    report = asyncio.run(run_bench(config, progress))
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.table())
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="hermes-serve",
        description=f"Plan, build, start and benchmark Hermes 4 on TensorRT-LLM {TRTLLM_VERSION}.",
    )
    top.add_argument("--version", action="version", version=f"hermes-serve {__version__}")
    sub = top.add_subparsers(dest="command", required=True)

    plan = sub.add_parser("plan", help="memory plan: does a model fit, how to split it, how much KV cache")
    plan.add_argument(
        "--model", default="all", help=f"{', '.join(HERMES_4)}, a checkpoint dir, a list or 'all'"
    )
    plan.add_argument("--gpu", default="h100-80gb,h200-141gb", help=f"{', '.join(GPUS)}, a list or 'all'")
    plan.add_argument("--gpus", type=_positive, help="GPU count (default: the fewest that fit)")
    plan.add_argument("--tp", type=_positive, help="tensor-parallel size (default: chosen)")
    plan.add_argument("--pp", type=_positive, help="pipeline-parallel size (default: chosen)")
    plan.add_argument("--dtype", default="bf16", help="bf16, fp8, a list or 'all'")
    plan.add_argument("--context", type=_positive, help="tokens per request (default: the model's maximum)")
    plan.add_argument("--json", action="store_true", help="print JSON")
    plan.add_argument("--completion-model", help="two models on one node: the completion model (e.g. 14b)")
    plan.add_argument("--actions-model", help="two models on one node: the code-action model (e.g. 405b)")
    plan.set_defaults(handler=cmd_plan)

    run = sub.add_parser("run", help="write the trtllm-serve YAML and start trtllm-serve")
    run.add_argument("--checkpoint", help="Hugging Face checkpoint dir (or engine dir)")
    run.add_argument(
        "--completion-checkpoint", help="two models on one node: the completion model's checkpoint"
    )
    run.add_argument(
        "--actions-checkpoint", help="two models on one node: the code-action model's checkpoint"
    )
    run.add_argument(
        "--completion-port",
        type=int,
        help=f"completion server's port (default --port + {COMPLETION_PORT_OFFSET})",
    )
    run.add_argument("--backend", choices=("pytorch", "tensorrt"), default="pytorch")
    run.add_argument("--gpu", help=f"GPU model: {', '.join(GPUS)} (default: nvidia-smi's, else h100-80gb)")
    run.add_argument(
        "--gpus", type=_positive, help="GPU count (default: all visible, else the fewest that fit)"
    )
    run.add_argument("--tp", type=_positive, help="tensor-parallel size")
    run.add_argument("--pp", type=_positive, help="pipeline-parallel size")
    run.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument(
        "--speculative", choices=("ngram",), help="n-gram speculative decoding (PyTorch backend)"
    )
    run.add_argument("--context", type=_positive, help="longest request in tokens (default 32768)")
    run.add_argument("--max-batch-size", type=_positive, help="concurrent requests (default: from the plan)")
    run.add_argument("--tokenizer", help="tokenizer dir for --backend tensorrt (the source checkpoint)")
    run.add_argument("--config", help="where to write the YAML (default ./hermes-serve-NAME.yaml)")
    run.add_argument("--ready-timeout", type=float, default=1800.0, help="seconds to wait for /health")
    run.add_argument("--dry-run", action="store_true", help="print the command and YAML; start nothing")
    run.set_defaults(handler=cmd_run)

    build = sub.add_parser("build", help="quantize/convert and trtllm-build a TensorRT engine (1.2.x)")
    build.add_argument("--checkpoint", required=True, help="Hugging Face BF16 checkpoint dir")
    build.add_argument("--out", required=True, help="output dir (trtllm-checkpoint/ and engine/ go there)")
    build.add_argument("--tp", type=_positive, required=True)
    build.add_argument("--pp", type=_positive, default=1)
    build.add_argument("--dtype", choices=("bf16", "fp8"), default="bf16")
    build.add_argument("--gpu", help=f"GPU model: {', '.join(GPUS)} (default: nvidia-smi's, else h100-80gb)")
    build.add_argument("--context", type=_positive, help="longest request in tokens (default 32768)")
    build.add_argument("--examples", help="TensorRT-LLM examples/ dir (default $TRTLLM_EXAMPLES)")
    build.add_argument("--dry-run", action="store_true", help="print the commands; run nothing")
    build.set_defaults(handler=cmd_build)

    bench = sub.add_parser("bench", help="IDE-shaped load against any OpenAI-compatible server")
    bench.add_argument("--endpoint", default=os.environ.get("HERMES_LSP_ENDPOINT") or DEFAULT_ENDPOINT)
    bench.add_argument("--model", help="model id (default: the first the server lists)")
    bench.add_argument("--api-key", default=os.environ.get("HERMES_LSP_API_KEY"), help="bearer token")
    bench.add_argument("--concurrency", type=_ints, default=(1, 4, 16), help="levels, e.g. 1,4,16")
    bench.add_argument("--requests", type=_positive, default=16, help="requests per workload and level")
    bench.add_argument("--duration", type=float, default=60.0, help="seconds per workload and level at most")
    bench.add_argument("--prefix-tokens", type=_positive, default=2000, help="shared context size")
    bench.add_argument(
        "--inline-tokens", type=_positive, default=32, help="max_tokens of an inline completion"
    )
    bench.add_argument("--refactor-tokens", type=_positive, default=256, help="max_tokens of a refactor")
    bench.add_argument("--workloads", default="all", help="inline, refactor or all")
    bench.add_argument("--json", action="store_true", help="print JSON")
    bench.set_defaults(handler=cmd_bench)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except (ModelError, GpuError, PlanError, LaunchError, BenchError) as error:
        print(f"hermes-serve {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

"""``hermes-lsp doctor``: is everything in place? Each problem comes with what to do."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.metadata
import os
import tempfile
import time
from typing import Any

import tree_sitter

from hermes_lsp.config import Settings, env_problems, merge_settings
from hermes_lsp.model.client import ModelClient, ModelConfig, ModelError, ModelUnreachable


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint", help="model server URL (default: $HERMES_LSP_ENDPOINT)")
    parser.add_argument("--model", help="model id (default: $HERMES_LSP_MODEL)")
    for job in ("completion", "actions"):
        parser.add_argument(f"--{job}-endpoint", help=f"model server for {job} (default: --endpoint)")
        parser.add_argument(f"--{job}-model", help=f"model id for {job} (default: --model)")


class Report:
    """Collects check results; prints as it goes so a slow check shows where it is."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def ok(self, what: str) -> None:
        print(f"  ok    {what}")

    def problem(self, what: str, fix: str) -> None:
        print(f"  FAIL  {what}\n        -> {fix}")
        self.problems.append(fix)

    def note(self, what: str, advice: str) -> None:
        """Works, but not as well as it could: said, not counted as a problem."""
        print(f"  note  {what}\n        -> {advice}")


def check_settings(report: Report, overrides: dict[str, Any]) -> Settings:
    settings, errors = merge_settings(overrides)
    for error in env_problems():
        report.problem(error, f"Fix {error.split(' ', 1)[0]} in your environment.")
    for error in errors:
        key = error.split(":", 1)[0]
        report.problem(f"setting {error}", f"Fix the value given for {key}.")
    if not errors:
        key = "set" if settings.api_key else "not set"
        report.ok(
            f"settings: endpoint {settings.endpoint}, model {settings.model or '(first listed)'}, key {key}"
        )
    return settings


def _grammar_modules() -> list[str]:
    """The tree-sitter grammar packages hermes-lsp depends on, from its own metadata."""
    requirements = importlib.metadata.requires("hermes-lsp") or []
    names = [r.split("==")[0].split(";")[0].strip() for r in requirements]
    return [n.replace("-", "_") for n in names if n.startswith("tree-sitter-")]


def check_grammars(report: Report) -> None:
    broken = []
    count = 0
    for module_name in _grammar_modules():
        try:
            module = importlib.import_module(module_name)
            entry_points = [getattr(module, n) for n in dir(module) if n.startswith("language")]
            for entry in entry_points:
                tree_sitter.Language(entry())
                count += 1
        except Exception as exc:
            broken.append(f"{module_name} ({exc})")
    if broken:
        report.problem(
            f"grammars that do not load: {', '.join(broken)}",
            "Reinstall hermes-lsp (`./install.sh`) so the pinned grammars match tree-sitter "
            f"{importlib.metadata.version('tree-sitter')}.",
        )
    else:
        report.ok(
            f"{count} tree-sitter grammars load (tree-sitter {importlib.metadata.version('tree-sitter')})"
        )


def check_tags_pass(report: Report) -> None:
    from hermes_lsp.context import tags

    if tags.native_scanner("python") is not None:
        report.ok("the index reads files with its C tags pass")
    elif tags._tagscan is not None:
        report.note(
            f"the index reads files in Python ({tags.NATIVE_ENV}=0): a cold index takes about a tenth longer",
            f"Unset {tags.NATIVE_ENV} unless you are comparing the two.",
        )
    else:
        report.note(
            "the index's C tags pass is not built: files are read in Python (a cold index takes about a"
            " tenth longer)",
            "Install a C compiler and Python's headers (e.g. apt-get install gcc python3-dev), then run"
            " ./install.sh again; the build says why it skipped the pass.",
        )


def check_cache(report: Report) -> None:
    from hermes_lsp.context.store import cache_dir

    cache = cache_dir()
    try:
        os.makedirs(cache, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache):
            pass
        report.ok(f"index cache directory is writable: {cache}")
    except OSError as exc:
        report.problem(
            f"index cache directory {cache} is not writable ({exc.strerror})",
            "Set HERMES_LSP_CACHE_DIR to a writable directory.",
        )


async def check_model(report: Report, config: ModelConfig, label: str) -> None:
    """One model server: reachable, serving the model, generating; its context length."""
    client = ModelClient(config)
    endpoint, model = config.endpoint, config.model
    try:
        try:
            models = await client.list_models()
        except ModelUnreachable:
            report.problem(
                f"nothing answers at {endpoint}{label}",
                "Start the model server (`hermes-serve run`, or any OpenAI-compatible server) "
                "or point HERMES_LSP_ENDPOINT (hermes.endpoint in the editor) at it.",
            )
            return
        except ModelError as exc:
            report.problem(f"listing the models at {endpoint}{label} failed", str(exc))
            return
        report.ok(f"model server at {endpoint}{label} lists: {', '.join(models) or '(nothing)'}")
        if model and model not in models:
            report.problem(
                f"model {model!r} is not served at {endpoint}",
                f"Set HERMES_LSP_MODEL (hermes.model in the editor) to one of: {', '.join(models)}.",
            )
            return
        length = await client.context_length()
        report.ok(
            f"context length{label}: {length} tokens"
            if length
            else f"context length{label}: not said by the server; learnt from its first refusal"
        )
        started = time.perf_counter()
        try:
            answer = await client.chat(
                [{"role": "user", "content": "Reply with the word ok."}], max_tokens=4, temperature=0
            )
        except ModelError as exc:
            report.problem("a test generation failed", str(exc))
            return
        elapsed = (time.perf_counter() - started) * 1000
        report.ok(f"model {await client.model()} answers ({elapsed:.0f} ms for a 4-token reply: {answer!r})")
    finally:
        await client.aclose()


async def check_models(report: Report, settings: Settings) -> None:
    """Each distinct model server the settings use: completions and actions may differ."""
    completion = ModelConfig.from_settings(settings, "completion")
    actions = ModelConfig.from_settings(settings, "actions")
    if completion == actions:
        await check_model(report, completion, "")
        return
    await check_model(report, completion, " (completions)")
    await check_model(report, actions, " (code actions)")


def run(args: argparse.Namespace) -> int:
    report = Report()
    print("hermes-lsp doctor")
    overrides: dict[str, Any] = {k: v for k, v in (("endpoint", args.endpoint), ("model", args.model)) if v}
    for job in ("completion", "actions"):
        own = {
            key: value
            for key, value in (
                ("endpoint", getattr(args, f"{job}_endpoint")),
                ("model", getattr(args, f"{job}_model")),
            )
            if value
        }
        if own:
            overrides[job] = own
    settings = check_settings(report, overrides)
    check_grammars(report)
    check_tags_pass(report)
    check_cache(report)
    asyncio.run(check_models(report, settings))
    if report.problems:
        count = len(report.problems)
        print(f"\n{count} problem{'s' if count > 1 else ''}. {report.problems[0]}")
        return 1
    print("\nEverything is in place.")
    return 0

"""``hermes-serve bench``: IDE-shaped load against any OpenAI-compatible server.

Two workloads, each at several concurrency levels:

- ``inline``: streamed ``/v1/completions`` with a short output, whose prompts share a long
  prefix (a repository context) and differ only at the end, like keystrokes in one file.
  It runs twice: with the ``shared`` prefix, and ``shuffled``, where each prompt starts
  with its own first line and the context blocks in its own order. Same length, nothing
  to reuse: the ratio of their times to first token is the gain from prefix caching.
- ``refactor``: streamed ``/v1/chat/completions`` over the same context with a long output.

Per request it measures the time to first token (request sent to first non-empty text)
and the decode rate (tokens after the first over the time after the first; tokens from
``usage`` when the server reports it, else streamed chunks). Runs are bounded by a request
count and a time limit per level.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from typing import Any

import attrs
import httpx

SHARED_HEADER = "# repository: hermes-bench (shared prefix)\n"
CHARS_PER_TOKEN = 4
"""Code averages about four characters per token in Llama-3 and Qwen3 vocabularies."""


class BenchError(RuntimeError):
    """The server could not be benchmarked (unreachable, no model, every request failed)."""


@attrs.frozen
class BenchConfig:
    """What to run."""

    endpoint: str
    """Base URL, e.g. ``http://127.0.0.1:8000/v1`` (``/v1`` is added when missing)."""
    model: str | None = None
    """Model id; None: the first one the server lists."""
    api_key: str | None = None
    concurrency: tuple[int, ...] = (1, 4, 16)
    requests: int = 16
    """Requests per workload and concurrency level."""
    duration_s: float = 60.0
    """Time limit per workload and level; requests not started by then are skipped."""
    prefix_tokens: int = 2000
    inline_tokens: int = 32
    refactor_tokens: int = 256
    workloads: tuple[str, ...] = ("inline", "refactor")
    timeout_s: float = 120.0
    seed: int = 0


@attrs.frozen
class Sample:
    """One request's measurements."""

    ttft_s: float | None
    total_s: float
    tokens: int
    decode_s: float
    """Time from the first to the last token."""
    error: str | None = None

    @property
    def tok_s(self) -> float | None:
        if self.tokens < 2 or self.decode_s <= 0:
            return None
        return (self.tokens - 1) / self.decode_s


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


@attrs.frozen
class LevelResult:
    """One workload at one concurrency level."""

    workload: str
    """``inline/shared``, ``inline/shuffled`` or ``refactor``."""
    concurrency: int
    samples: list[Sample]
    wall_s: float

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if s.error is None]

    @property
    def errors(self) -> int:
        return len(self.samples) - len(self.ok)

    def ttft(self, q: float) -> float | None:
        return percentile([s.ttft_s for s in self.ok if s.ttft_s is not None], q)

    def tok_s(self, q: float) -> float | None:
        """Decode rate that ``q`` percent of requests reached (p99: the slowest 1%)."""
        return percentile([t for s in self.ok if (t := s.tok_s) is not None], 100 - q)

    @property
    def throughput(self) -> float:
        """Output tokens per second over the whole level."""
        return sum(s.tokens for s in self.ok) / self.wall_s if self.wall_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "concurrency": self.concurrency,
            "requests": len(self.samples),
            "errors": self.errors,
            "ttft_p50_s": self.ttft(50),
            "ttft_p99_s": self.ttft(99),
            "tok_s_p50": self.tok_s(50),
            "tok_s_p99": self.tok_s(99),
            "throughput_tok_s": self.throughput,
            "wall_s": self.wall_s,
            "first_error": next((s.error for s in self.samples if s.error), None),
        }


@attrs.frozen
class BenchReport:
    endpoint: str
    model: str
    prefix_tokens: int
    levels: list[LevelResult]

    def prefix_gain(self, concurrency: int) -> float | None:
        """TTFT p50 with shuffled prefixes over TTFT p50 with the shared one."""
        by_name = {r.workload: r for r in self.levels if r.concurrency == concurrency}
        shared, shuffled = by_name.get("inline/shared"), by_name.get("inline/shuffled")
        if shared is None or shuffled is None:
            return None
        a, b = shared.ttft(50), shuffled.ttft(50)
        return b / a if a and b else None

    def to_dict(self) -> dict[str, Any]:
        levels = sorted({r.concurrency for r in self.levels})
        return {
            "endpoint": self.endpoint,
            "model": self.model,
            "prefix_tokens": self.prefix_tokens,
            "levels": [r.to_dict() for r in self.levels],
            "prefix_gain": {str(c): self.prefix_gain(c) for c in levels},
        }

    def table(self) -> str:
        def ms(v: float | None) -> str:
            return "-" if v is None else f"{v * 1000:.1f}"

        def rate(v: float | None) -> str:
            return "-" if v is None else f"{v:.1f}"

        lines = [
            f"endpoint {self.endpoint}, model {self.model}, prefix ~{self.prefix_tokens} tokens",
            "| workload | concurrency | requests | errors | TTFT p50 (ms) | TTFT p99 (ms) | tok/s p50"
            " | tok/s p99 | total tok/s |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in self.levels:
            lines.append(
                f"| {r.workload} | {r.concurrency} | {len(r.samples)} | {r.errors} | {ms(r.ttft(50))}"
                f" | {ms(r.ttft(99))} | {rate(r.tok_s(50))} | {rate(r.tok_s(99))} | {r.throughput:.1f} |"
            )
        for c in sorted({r.concurrency for r in self.levels}):
            gain = self.prefix_gain(c)
            if gain is not None:
                lines.append(f"prefix reuse at concurrency {c}: TTFT shuffled / shared = {gain:.2f}x")
        errors = [r for r in self.levels if r.errors]
        for r in errors:
            first = next(s.error for s in r.samples if s.error)
            lines.append(f"{r.workload} at {r.concurrency}: {r.errors} failed, e.g. {first}")
        return "\n".join(lines)


# -- prompts ---------------------------------------------------------------------------


def context_blocks(prefix_tokens: int) -> list[str]:
    """Deterministic code blocks, about ``prefix_tokens`` tokens in all."""
    blocks: list[str] = []
    size = 0
    n = 0
    while size < prefix_tokens * CHARS_PER_TOKEN:
        block = (
            f"def helper_{n}(values, scale={n % 7 + 1}):\n"
            f'    """Scale and sum the values of bucket {n}."""\n'
            f"    return sum(v * scale for v in values) + {n}\n\n"
        )
        blocks.append(block)
        size += len(block)
        n += 1
    return blocks


@attrs.frozen
class PromptFactory:
    """Builds the prompts of each workload; the same index always gives the same prompt."""

    blocks: list[str]
    seed: int = 0

    def inline(self, index: int, shared: bool) -> str:
        tail = f"\ndef current_{index}(values):\n    total = helper_{index % len(self.blocks)}("
        if shared:
            return SHARED_HEADER + "".join(self.blocks) + tail
        rng = random.Random(self.seed * 100003 + index)
        order = self.blocks[:]
        rng.shuffle(order)
        # About as long as the shared header, but its own from the third character on.
        header = f"# {index:06d} hermes-bench (own prefix)\n"
        return header + "".join(order) + tail

    def refactor(self, index: int) -> list[dict[str, str]]:
        target = index % len(self.blocks)
        return [
            {"role": "system", "content": "You are a careful refactoring assistant. Answer with code."},
            {
                "role": "user",
                "content": SHARED_HEADER
                + "".join(self.blocks)
                + f"\nRewrite helper_{target} to accept any iterable, validate scale, and add type hints.",
            },
        ]


# -- requests --------------------------------------------------------------------------


def base_url(endpoint: str) -> str:
    url = endpoint.rstrip("/")
    return url if url.endswith("/v1") else url + "/v1"


async def discover_model(client: httpx.AsyncClient, base: str) -> str:
    try:
        response = await client.get(f"{base}/models")
    except httpx.TransportError as error:
        raise BenchError(f"cannot reach {base}/models: {error!r}") from None
    if response.status_code != 200:
        raise BenchError(f"{base}/models answered {response.status_code}: {response.text[:200]}")
    try:
        models = response.json().get("data") or []
    except (ValueError, AttributeError):
        raise BenchError(f"{base}/models did not answer with an OpenAI model list") from None
    if not models:
        raise BenchError(f"{base}/models lists no model")
    return str(models[0]["id"])


def _text_of(choice: dict[str, Any]) -> str:
    if "delta" in choice:
        return str((choice.get("delta") or {}).get("content") or "")
    return str(choice.get("text") or "")


async def measure(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> Sample:
    """Send one streamed request and time it."""
    start = time.perf_counter()
    first: float | None = None
    last = start
    chunks = 0
    usage_tokens: int | None = None
    done = False
    try:
        async with client.stream("POST", url, json=body) as response:
            if response.status_code != 200:
                detail = (await response.aread()).decode(errors="replace")[:200]
                return Sample(
                    None, time.perf_counter() - start, 0, 0.0, f"HTTP {response.status_code}: {detail}"
                )
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    done = True
                    break
                event = json.loads(data)
                if not isinstance(event, dict):
                    raise ValueError(f"event is not a JSON object: {data[:80]}")
                usage = event.get("usage")
                if usage and usage.get("completion_tokens") is not None:
                    usage_tokens = int(usage["completion_tokens"])
                if any(_text_of(c) for c in event.get("choices") or []):
                    now = time.perf_counter()
                    first = now if first is None else first
                    last = now
                    chunks += 1
    except (httpx.HTTPError, ValueError) as error:
        return Sample(None, time.perf_counter() - start, 0, 0.0, f"{type(error).__name__}: {error}")
    total = time.perf_counter() - start
    if not done:
        return Sample(None, total, chunks, 0.0, "the stream ended before [DONE]")
    tokens = usage_tokens if usage_tokens is not None and usage_tokens >= chunks else chunks
    ttft = None if first is None else first - start
    return Sample(ttft, total, tokens, 0.0 if first is None else last - first)


async def run_level(
    make: Callable[[int], tuple[str, dict[str, Any]]],
    client: httpx.AsyncClient,
    requests: int,
    concurrency: int,
    duration_s: float,
) -> tuple[list[Sample], float]:
    """``requests`` requests, at most ``concurrency`` in flight, none started after ``duration_s``."""
    samples: list[Sample] = []
    next_index = 0
    start = time.perf_counter()
    deadline = start + duration_s

    async def worker() -> None:
        nonlocal next_index
        while next_index < requests and time.perf_counter() < deadline:
            index = next_index
            next_index += 1
            url, body = make(index)
            samples.append(await measure(client, url, body))

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, requests)))))
    return samples, time.perf_counter() - start


async def run_bench(config: BenchConfig, progress: Callable[[str], None] | None = None) -> BenchReport:
    """Run every workload at every concurrency level and collect the report."""
    base = base_url(config.endpoint)
    headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
    limits = httpx.Limits(max_connections=max(config.concurrency) + 2)
    timeout = httpx.Timeout(config.timeout_s, connect=10.0)
    factory = PromptFactory(context_blocks(config.prefix_tokens), config.seed)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=timeout) as client:
        model = config.model or await discover_model(client, base)

        def inline(shared: bool, offset: int) -> Callable[[int], tuple[str, dict[str, Any]]]:
            def make(index: int) -> tuple[str, dict[str, Any]]:
                body = {
                    "model": model,
                    "prompt": factory.inline(offset + index, shared),
                    "max_tokens": config.inline_tokens,
                    "temperature": 0.2,
                    "stream": True,
                    "stream_options": {"include_usage": True},
                }
                return f"{base}/completions", body

            return make

        def refactor(offset: int) -> Callable[[int], tuple[str, dict[str, Any]]]:
            def make(index: int) -> tuple[str, dict[str, Any]]:
                body = {
                    "model": model,
                    "messages": factory.refactor(offset + index),
                    "max_tokens": config.refactor_tokens,
                    "temperature": 0.6,
                    "stream": True,
                    "stream_options": {"include_usage": True},
                }
                return f"{base}/chat/completions", body

            return make

        # One unmeasured request: loads whatever the server loads lazily and caches the
        # shared prefix, as an editor session would have by the time anyone types.
        warm_url, warm_body = inline(True, 10**6)(0)
        warm = await measure(client, warm_url, warm_body)
        if warm.error:
            raise BenchError(f"the warm-up request failed: {warm.error}")
        levels: list[LevelResult] = []
        offset = 0
        for concurrency in config.concurrency:
            plans: list[tuple[str, Callable[[int], tuple[str, dict[str, Any]]]]] = []
            if "inline" in config.workloads:
                plans += [("inline/shuffled", inline(False, offset)), ("inline/shared", inline(True, offset))]
            if "refactor" in config.workloads:
                plans.append(("refactor", refactor(offset)))
            for name, make in plans:
                samples, wall = await run_level(make, client, config.requests, concurrency, config.duration_s)
                levels.append(LevelResult(name, concurrency, samples, wall))
                if progress is not None:
                    progress(f"{name} at concurrency {concurrency}: {len(samples)} requests in {wall:.1f} s")
            offset += config.requests
    if all(not r.ok for r in levels):
        first = next((s.error for r in levels for s in r.samples if s.error), "no request was sent")
        raise BenchError(f"every request failed, e.g. {first}")
    return BenchReport(base, model, config.prefix_tokens, levels)

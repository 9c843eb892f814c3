"""hermes-serve bench against the scripted test server and against llama.cpp's server."""

from __future__ import annotations

import asyncio
import json

import pytest

from hermes_lsp.scripted_server import Reply, ScriptedServer
from hermes_serve.bench import SHARED_HEADER, BenchConfig, BenchError, percentile, run_bench
from hermes_serve.cli import main
from tests.support.llama import LlamaServer


@pytest.fixture
def scripted():
    server = ScriptedServer(models=("hermes-4-70b",)).start()
    yield server
    server.stop()


def max_in_flight(requests) -> int:
    events = sorted(
        [(r.received_at, 1) for r in requests] + [(r.finished_at or r.received_at, -1) for r in requests],
        key=lambda e: (e[0], e[1]),
    )
    peak = current = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


def test_percentile_is_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile(list(range(1, 101)), 99) == 99
    assert percentile([5.0], 99) == 5.0


def test_scripted_server_times_prefix_reuse_and_respects_concurrency(scripted: ScriptedServer):
    # A "cache hit" when the prompt carries the shared prefix: first token after 20 ms,
    # otherwise after 150 ms. Ten 4-character chunks 2 ms apart.
    text = "x" * 40
    scripted.script(
        Reply(text=text, match="(shared prefix)", first_delay=0.02, chunk_delay=0.002),
        default=Reply(text=text, first_delay=0.15, chunk_delay=0.002),
    )
    config = BenchConfig(
        endpoint=scripted.url, concurrency=(1, 3), requests=6, prefix_tokens=120, inline_tokens=16
    )
    report = asyncio.run(run_bench(config))
    assert report.model == "hermes-4-70b"
    assert [(r.workload, r.concurrency) for r in report.levels] == [
        ("inline/shuffled", 1), ("inline/shared", 1), ("refactor", 1),
        ("inline/shuffled", 3), ("inline/shared", 3), ("refactor", 3),
    ]  # fmt: skip
    for level in report.levels:
        assert len(level.samples) == 6 and level.errors == 0
        assert all(s.tokens == 10 for s in level.samples)  # no usage sent: counted chunks
        # Chunks are 2 ms apart at best, so nobody decodes faster than 500 tokens/s.
        assert 0 < level.tok_s(50) <= 500 * 1.01
    by = {(r.workload, r.concurrency): r for r in report.levels}
    assert 0.02 <= by[("inline/shared", 1)].ttft(50) < 0.15
    assert by[("inline/shuffled", 1)].ttft(50) >= 0.15
    assert report.prefix_gain(1) > 2

    model_requests = scripted.model_requests()
    assert len(model_requests) == 1 + 6 * 6  # warm-up + six levels of six
    assert max_in_flight(model_requests) == 3
    inline = [r for r in model_requests if r.path == "/v1/completions"]
    shared = [r.body["prompt"] for r in inline if r.body["prompt"].startswith(SHARED_HEADER)]
    own = [r.body["prompt"] for r in inline if not r.body["prompt"].startswith(SHARED_HEADER)]
    assert len(own) == 12 and len({p.splitlines()[0] for p in own}) == 12
    tail_start = min(p.index("\ndef current_") for p in shared)
    assert len({p[:tail_start] for p in shared}) == 1  # identical up to the cursor
    assert all(r.body["stream"] is True and r.body["max_tokens"] == 16 for r in inline)
    chat = [r for r in model_requests if r.path == "/v1/chat/completions"]
    assert len(chat) == 12 and all(r.body["max_tokens"] == 256 for r in chat)


def test_bench_stops_at_the_time_limit(scripted: ScriptedServer):
    scripted.script(default=Reply(text="abcd" * 3, first_delay=0.1))
    config = BenchConfig(endpoint=scripted.url, concurrency=(1,), requests=100, duration_s=0.35,
                         workloads=("inline",), prefix_tokens=50)  # fmt: skip
    report = asyncio.run(run_bench(config))
    for level in report.levels:
        assert 1 <= len(level.samples) <= 5
        assert level.wall_s < 1.5


def test_bench_reports_server_errors_and_unreachable_servers(scripted: ScriptedServer):
    scripted.script(default=Reply(status=500, body="engine exploded"))
    with pytest.raises(BenchError, match="warm-up request failed: HTTP 500"):
        asyncio.run(run_bench(BenchConfig(endpoint=scripted.url, requests=1, concurrency=(1,))))
    gone = ScriptedServer().start()
    port = gone.port
    gone.stop()
    with pytest.raises(BenchError, match="cannot reach"):
        asyncio.run(run_bench(BenchConfig(endpoint=f"http://127.0.0.1:{port}", requests=1, concurrency=(1,))))


def test_cli_bench_json(scripted: ScriptedServer, capsys):
    scripted.script(default=Reply(text="y" * 16, first_delay=0.01))
    args = ["bench", "--endpoint", scripted.url.removesuffix("/v1"), "--concurrency", "2", "--requests", "2"]
    assert main([*args, "--prefix-tokens", "40", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["endpoint"] == scripted.url
    assert {level["workload"] for level in report["levels"]} == {
        "inline/shared",
        "inline/shuffled",
        "refactor",
    }
    assert all(level["errors"] == 0 and level["ttft_p50_s"] > 0 for level in report["levels"])
    assert main(["bench", "--endpoint", scripted.url, "--workloads", "typing"]) == 2
    assert "unknown workload typing" in capsys.readouterr().err


@pytest.mark.llama
def test_bench_against_llama_cpp(llama_server: LlamaServer):
    config = BenchConfig(
        endpoint=llama_server.url, concurrency=(1, 2), requests=3, prefix_tokens=40,
        inline_tokens=8, refactor_tokens=16,
    )  # fmt: skip
    report = asyncio.run(run_bench(config))
    assert report.model == llama_server.model
    assert len(report.levels) == 6
    for level in report.levels:
        assert level.errors == 0, level.to_dict()["first_error"]
        assert len(level.samples) == 3
    # Random weights may stop at once; across all requests some text must have streamed.
    timed = [s for level in report.levels for s in level.samples if s.ttft_s is not None]
    assert timed and all(0 < s.ttft_s <= s.total_s for s in timed)
    assert sum(s.tokens for s in timed) > 0


def test_cut_and_garbled_streams_count_as_errors(scripted: ScriptedServer):
    scripted.script(
        Reply(text="warm", times=1),  # the unmeasured warm-up
        Reply(body="data: [1, 2]\n\n", path="/chat/completions"),
        Reply(text="abcdefgh" * 4, cut_after=3, match="(shared prefix)", path="/v1/completions"),
        default=Reply(text="fine"),
    )
    config = BenchConfig(endpoint=scripted.url, concurrency=(1,), requests=2, prefix_tokens=40)
    report = asyncio.run(run_bench(config))
    by = {r.workload: r for r in report.levels}
    assert by["inline/shuffled"].errors == 0
    assert by["inline/shared"].errors == 2
    assert "RemoteProtocolError" in by["inline/shared"].to_dict()["first_error"]
    assert by["refactor"].errors == 2
    assert "not a JSON object" in by["refactor"].to_dict()["first_error"]
    assert "inline/shared at 1: 2 failed" in report.table()

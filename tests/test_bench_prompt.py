"""``hermes-lsp bench prompt``: the replayed typing and the uncached-prefix arithmetic."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hermes_lsp.bench.prompt import chosen_lines, typing_pauses, uncached_chars
from tests.support.llama import LlamaServer


def test_uncached_counts_what_follows_the_longest_prefix_seen_before() -> None:
    seen = sorted(["abcdef", "abxyz", "q"])
    assert uncached_chars(seen, "abcdXX") == 2
    assert uncached_chars(seen, "abxyzW") == 1
    assert uncached_chars(seen, "zzz") == 3
    assert uncached_chars([], "new") == 3


def test_the_replay_retypes_each_chosen_line_and_ends_with_the_original_text() -> None:
    text = "\n".join(f"    value_{i} = compute(item_{i}, key=k)" for i in range(40)) + "\n"
    lines = chosen_lines(text, 4)
    pauses = list(typing_pauses(text, lines))
    assert len(lines) == 4
    assert pauses[-1][0].text == text  # every erased line was typed back
    # The first pause of a line is right after erasing it, at its indentation.
    first = pauses[0][0]
    assert (
        first.text.split("\n")[lines[0]] == "    " and first.text[first.offset - 4 : first.offset] == "    "
    )


def test_the_bench_prints_each_layout_and_the_one_in_use_reuses_the_most() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "hermes_lsp", "bench", "prompt", "--lines", "4", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    result = json.loads(out.stdout)
    layouts = result["layouts"]
    assert set(layouts) == {"before", "spm", "spm+stable", "context-first", "snapshot"}
    assert result["requests"] > 10
    before, now = layouts["before"], layouts["snapshot"]
    # Same window and context shown: the prompt is not smaller than before.
    assert now["prompt_tokens_p50"] >= before["prompt_tokens_p50"]
    assert now["uncached_tokens_p50"] < before["uncached_tokens_p50"] / 5
    assert now["reuse"] == max(layout["reuse"] for layout in layouts.values())


@pytest.mark.llama
def test_the_bench_replays_both_layouts_against_llama_cpp(llama_server: LlamaServer) -> None:
    out = subprocess.run(
        [
            *(sys.executable, "-m", "hermes_lsp", "bench", "prompt", "--lines", "1", "--json"),
            *("--prefix-tokens", "200", "--suffix-tokens", "50", "--context-budget", "100"),
            *("--server", llama_server.url),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    served = json.loads(out.stdout)["server"]
    for layout in ("before", "snapshot"):
        figures = served[layout]
        assert 0 < figures["ttft_ms_p50"] <= figures["ttft_ms_p90"]

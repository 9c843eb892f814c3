"""``hermes-lsp bench overhead`` runs end to end and reports what it measured."""

from __future__ import annotations

import json
import subprocess
import sys


def bench(*args: str) -> dict:
    """Run ``hermes-lsp bench ARGS --json`` and return the figures it printed."""
    command = [sys.executable, "-m", "hermes_lsp", "bench", *args, "--json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_bench_overhead_reports_its_figures():
    figures = bench("overhead", "--keystrokes", "20", "--bursts", "4")
    overhead = figures["overhead"]
    # Debounce off and a fresh prompt at every keystroke: one model request each.
    assert overhead["model_requests"] == overhead["keystrokes"] == 20
    assert (
        overhead["overhead"]["n"] == 20
        and 0 < overhead["overhead"]["p50_ms"] <= overhead["overhead"]["p99_ms"]
    )
    assert 1 <= figures["bursts"]["model_requests"] <= figures["bursts"]["keystrokes"]
    assert figures["supersede"]["stream_closed_after"]["n"] == figures["supersede"]["rounds"]
    typeahead = figures["type_ahead"]
    assert typeahead["suggestion_shown"] and typeahead["served_from_type_ahead"] == typeahead["keystrokes"]
    assert typeahead["model_requests"] == 1


def test_bench_resolve_reports_its_figures():
    figures = bench("resolve", "--resolves", "5")
    assert figures["resolves"] == 5 and figures["model_turns"] == 2  # the edit, then the answer
    assert figures["lsp_overhead"]["n"] == 4 and figures["lsp_overhead"]["p50_ms"] > 0
    assert figures["first_resolve_overhead_ms"] > 0  # the cold first resolve, reported apart
    assert figures["listing"]["n"] == 4 and figures["listing"]["p50_ms"] > 0
    assert figures["bytes_to_model_p50"] > 1000 and figures["edit_bytes_p50"] > 0


def test_bench_soak_reports_memory_and_stalls():
    figures = bench(
        *("soak", "--requests", "60", "--warmup", "10", "--documents", "3", "--idle-s", "0.5"),
        *("--scenarios", "big-document", "--big-mb", "1"),
    )
    soak = figures["soak"]
    assert soak["requests"] == 60 and soak["documents"] == 3 and soak["empty_answers"] == 0
    assert soak["rss_mb"]["warm"] > 0 and soak["rss_mb"]["end"] > 0
    assert soak["longest_stall_ms"] >= 0 and soak["idle_floor_stall_ms"] >= 0
    big = figures["big-document"]
    assert big["other_document_answered"] and big["big_document_answered"] and big["longest_stall_ms"] >= 0
    assert "big-answer" not in figures

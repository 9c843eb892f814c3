"""The llama.cpp fixture serves a real OpenAI-compatible API: streaming chat and plain completions."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support.llama import LlamaServer

pytestmark = pytest.mark.llama


def test_lists_the_model(llama_server: LlamaServer) -> None:
    response = httpx.get(f"{llama_server.url}/models", timeout=10)
    assert response.status_code == 200
    assert llama_server.model in [m["id"] for m in response.json()["data"]]


def test_streaming_chat_sends_completion_chunks(llama_server: LlamaServer) -> None:
    body = {
        "model": llama_server.model,
        "messages": [{"role": "user", "content": "def add(a, b):"}],
        "max_tokens": 8,
        "stream": True,
    }
    events: list[str] = []
    with httpx.stream("POST", f"{llama_server.url}/chat/completions", json=body, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(line.removeprefix("data: "))
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert len(chunks) >= 2
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert all(c["model"] == llama_server.model for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")
    assert any("content" in c["choices"][0]["delta"] for c in chunks)


def test_plain_completion_returns_text(llama_server: LlamaServer) -> None:
    body = {"model": llama_server.model, "prompt": "import os\n", "max_tokens": 6}
    response = httpx.post(f"{llama_server.url}/completions", json=body, timeout=30)
    assert response.status_code == 200
    answer = response.json()
    assert answer["object"] == "text_completion"
    assert isinstance(answer["choices"][0]["text"], str)
    assert answer["choices"][0]["finish_reason"] in ("stop", "length")
    assert answer["usage"]["completion_tokens"] >= 1

"""A real third-party OpenAI-compatible server for the tests: llama.cpp's.

``write_tiny_gguf`` writes a llama-architecture model with random weights and a real SPM
vocabulary (the 256 byte tokens, some words, BOS/EOS and ChatML markers) and a ChatML chat
template. It is about 1.2 MB, loads in well under a second, and answers with junk
text: tests that use it check the protocol and the structure of answers, never the words.

The session-scoped ``llama_server`` fixture serves that model with
``python -m llama_cpp.server`` (from ``llama-cpp-python[server]``) on a free loopback port
and yields a ``LlamaServer`` with the base ``url`` (ending in ``/v1``) and the ``model`` id
the server lists. Register it with ``pytest_plugins = ["tests.support.llama"]``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import gguf
import httpx
import numpy as np
import pytest

N_LAYERS = 2
N_EMBD = 128
N_HEAD = 4
N_HEAD_KV = 2
N_FF = 128
N_CTX_TRAIN = 2048
MODEL_ALIAS = "tiny-llama"
STARTUP_TIMEOUT_S = 90.0

# Real words so that prompts tokenize into more than single bytes; the "▁" prefix is how
# SentencePiece marks a word start.
_WORDS = (
    "def class return import from self if else for while in is not and or None True False "
    "print value result data name list dict int str x y i n the a of to code function "
    "test user assistant system"
).split()
_CHARS = list("abcdefghijklmnopqrstuvwxyz0123456789_()[]{}:.,=+-*/\"'#")

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def _vocabulary() -> tuple[list[str], list[float], list[int]]:
    """Tokens, scores and token types of a small SentencePiece (llama) vocabulary."""
    tokens = ["<unk>", "<s>", "</s>"]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [gguf.TokenType.BYTE] * 256
    tokens += ["<|im_start|>", "<|im_end|>"]
    types += [gguf.TokenType.CONTROL] * 2
    normal = ["▁", *(f"▁{w}" for w in _WORDS), *_CHARS, *(f"▁{c}" for c in _CHARS)]
    seen = set(tokens)
    for piece in normal:
        if piece not in seen:
            seen.add(piece)
            tokens.append(piece)
            types.append(gguf.TokenType.NORMAL)
    # SPM merges greedily by score: longer pieces must win over their parts.
    scores = [
        -1000.0 + len(tok) if kind == gguf.TokenType.NORMAL else 0.0
        for tok, kind in zip(tokens, types, strict=True)
    ]
    return tokens, scores, [int(t) for t in types]


def write_tiny_gguf(path: Path) -> None:
    """Write a deterministic random-weight llama GGUF with a ChatML template to ``path``."""
    tokens, scores, types = _vocabulary()
    n_vocab = len(tokens)
    head_dim = N_EMBD // N_HEAD
    rng = np.random.default_rng(1234)

    def weights(*shape: int) -> np.ndarray:
        # numpy shapes are ggml's dimensions reversed: (rows = outputs, columns = inputs).
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny-random-llama")
    writer.add_context_length(N_CTX_TRAIN)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYERS)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD_KV)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(n_vocab)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)

    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_chat_template(CHATML_TEMPLATE)

    writer.add_tensor("token_embd.weight", weights(n_vocab, N_EMBD))
    for layer in range(N_LAYERS):
        blk = f"blk.{layer}"
        writer.add_tensor(f"{blk}.attn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        writer.add_tensor(f"{blk}.attn_q.weight", weights(N_HEAD * head_dim, N_EMBD))
        writer.add_tensor(f"{blk}.attn_k.weight", weights(N_HEAD_KV * head_dim, N_EMBD))
        writer.add_tensor(f"{blk}.attn_v.weight", weights(N_HEAD_KV * head_dim, N_EMBD))
        writer.add_tensor(f"{blk}.attn_output.weight", weights(N_EMBD, N_HEAD * head_dim))
        writer.add_tensor(f"{blk}.ffn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        writer.add_tensor(f"{blk}.ffn_gate.weight", weights(N_FF, N_EMBD))
        writer.add_tensor(f"{blk}.ffn_up.weight", weights(N_FF, N_EMBD))
        writer.add_tensor(f"{blk}.ffn_down.weight", weights(N_EMBD, N_FF))
    writer.add_tensor("output_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    writer.add_tensor("output.weight", weights(n_vocab, N_EMBD))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


@attrs.frozen
class LlamaServer:
    """A running llama.cpp server."""

    url: str
    """Base URL, ending in ``/v1``."""
    model: str
    """The model id the server lists at ``/v1/models``."""
    process: subprocess.Popen[bytes] = attrs.field(repr=False)
    log_path: Path
    """Where the server's output goes."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_until_listed(process: subprocess.Popen[bytes], url: str, log_path: Path) -> str:
    """Poll ``/v1/models`` until it answers; return the first model id."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"llama.cpp server exited with status {process.returncode} before it was ready;"
                f" last lines of {log_path}:\n{_log_tail(log_path)}"
            )
        try:
            response = httpx.get(f"{url}/models", timeout=2.0)
            if response.status_code == 200:
                return str(response.json()["data"][0]["id"])
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(
        f"llama.cpp server did not answer {url}/models within {STARTUP_TIMEOUT_S:.0f} s;"
        f" last lines of {log_path}:\n{_log_tail(log_path)}"
    )


@contextlib.contextmanager
def run_llama_server(directory: Path, n_ctx: int = 4096) -> Iterator[LlamaServer]:
    """Write the tiny model under ``directory``, serve it with a context of ``n_ctx`` tokens,
    and stop the server on exit."""
    model_path = directory / "tiny.gguf"
    write_tiny_gguf(model_path)
    log_path = directory / "llama-server.log"
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_path),
        "--model_alias", MODEL_ALIAS,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", str(n_ctx),
        "--n_threads", "1",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            model = _wait_until_listed(process, url, log_path)
            yield LlamaServer(url=url, model=model, process=process, log_path=log_path)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """llama.cpp's OpenAI-compatible server serving a tiny random model on loopback."""
    with run_llama_server(tmp_path_factory.mktemp("llama")) as server:
        yield server

"""A model per job, and prompts that fit the served context: over stdio against scripted servers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import pytest_lsp
from hypothesis import given
from hypothesis import strategies as st
from lsprotocol import types
from pytest_lsp import LanguageClient

from hermes_lsp.model.client import ModelClient, ModelConfig, context_exceeded
from hermes_lsp.model.hermes import FIXED_PROMPT_CHARS, Budgets, fit_budgets
from hermes_lsp.model.window import CONTEXT_MARGIN
from hermes_lsp.scripted_server import Reply, ScriptedServer
from tests.support.lsp import initialize, inline, open_document, server_config

# A document far longer than a small context window: 600 lines of about 40 characters.
BIG = "".join(f"value_{n} = compute(records[{n}], key=lambda r: r.amount)\n" for n in range(600))


@pytest_lsp.fixture(config=server_config())
async def lsp(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    """A started ``hermes-lsp --stdio``; each test initializes it with its own settings."""
    lsp_client.set_configuration({"hermes": {}})
    yield lsp_client
    await lsp_client.shutdown_session()


async def test_completions_and_actions_go_to_their_own_model_servers(lsp: LanguageClient, tmp_path: Path):
    source = tmp_path / "area.py"
    source.write_text("def area(r):\n    return 3.14159 * r * r\n")
    with (
        ScriptedServer(models=("hermes-4-14b",)) as small,
        ScriptedServer(models=("hermes-4-405b",)) as large,
    ):
        small.script(default=Reply(text="return 0"))
        large.script(default=Reply(text="It computes the area of a circle."))
        settings = {"endpoint": large.url, "completion": {"endpoint": small.url}}
        await initialize(lsp, settings, tmp_path.as_uri())
        open_document(lsp, source.as_uri(), source.read_text())
        uri = (tmp_path / "new.py").as_uri()
        open_document(lsp, uri, "def f():\n    \n")
        result = await inline(lsp, uri, 1, 4)
        assert result is not None and result.items[0].insert_text == "return 0"
        answer = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="hermes.explain", arguments=[{"uri": source.as_uri(), "start": 1, "end": 2}]
            )
        )
        assert answer == "It computes the area of a circle."
        assert [r.body["model"] for r in small.model_requests()] == ["hermes-4-14b"]
        assert [r.body["model"] for r in large.model_requests()] == ["hermes-4-405b"]


async def _complete_in_big_file(lsp: LanguageClient, tmp_path: Path, model: ScriptedServer) -> str:
    """Complete at line 300 of ``BIG`` against ``model``; returns the document's URI."""
    model.script(default=Reply(text="done"))
    await initialize(lsp, {"endpoint": model.url}, tmp_path.as_uri())
    uri = (tmp_path / "big.py").as_uri()
    open_document(lsp, uri, BIG)
    result = await inline(lsp, uri, 300, 0)
    assert result is not None and result.items[0].insert_text == "done"
    return uri


async def test_a_prompt_is_sized_to_the_context_length_the_server_lists(lsp: LanguageClient, tmp_path: Path):
    with ScriptedServer(context_length=2048) as model:
        await _complete_in_big_file(lsp, tmp_path, model)
        (request,) = model.model_requests()  # it fit the first time
        assert "<CURSOR>value_300 = compute" in request.prompt


async def test_a_refused_prompt_is_shrunk_and_sent_once_more(lsp: LanguageClient, tmp_path: Path):
    with ScriptedServer(context_length=2048, list_context_length=False) as model:
        uri = await _complete_in_big_file(lsp, tmp_path, model)
        first, second = model.model_requests()
        assert len(second.prompt) < len(first.prompt) and "<CURSOR>value_300" in second.prompt
        # Later keystrokes fit at once: the limit was learnt.
        await inline(lsp, uri, 301, 0)
        assert len(model.model_requests()) == 3


def test_doctor_checks_both_model_servers_when_they_differ() -> None:
    with (
        ScriptedServer(models=("hermes-4-14b",)) as small,
        ScriptedServer(models=("hermes-4-405b",)) as large,
    ):
        completed = subprocess.run(
            [sys.executable, "-m", "hermes_lsp", "doctor", "--endpoint", large.url],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert f"model server at {large.url} lists: hermes-4-405b" in completed.stdout
        completed = subprocess.run(
            [
                sys.executable,
                *("-m", "hermes_lsp", "doctor", "--endpoint", large.url),
                *("--completion-endpoint", small.url),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert f"model server at {small.url} (completions) lists: hermes-4-14b" in completed.stdout
    assert f"model server at {large.url} (code actions) lists: hermes-4-405b" in completed.stdout


@pytest.mark.parametrize(
    ("message", "limit", "requested"),
    [
        (  # vLLM and OpenAI
            "This model's maximum context length is 4096 tokens. However, you requested 4898 tokens "
            "(4770 in the messages, 128 in the completion). Please reduce the length of the messages.",
            4096,
            4770,
        ),
        ("Requested tokens (4770) exceed context window of 4096", 4096, 4770),  # llama-cpp-python
        (  # llama.cpp's server
            "the request exceeds the available context size, try increasing it (n_prompt_tokens: 4770, "
            "n_ctx: 4096)",
            4096,
            4770,
        ),
        ("Prompt length (9000) exceeds max_seq_len (8192)", 8192, 9000),  # TensorRT-LLM
    ],
)
def test_context_exceeded_answers_are_read_from_each_server(message: str, limit: int, requested: int) -> None:
    error = context_exceeded(message, 400)
    assert error is not None and (error.limit, error.requested) == (limit, requested)


def test_other_errors_are_not_taken_for_a_long_prompt() -> None:
    assert context_exceeded("The model `x` does not exist.", 404) is None
    assert context_exceeded("scripted failure", 500) is None


@given(
    st.integers(16, 20000),
    st.integers(0, 5000),
    st.integers(0, 10000),
    st.integers(1, 4096),
    st.integers(2048, 200_000),
    st.floats(1.0, 6.0),
)
def test_fitted_budgets_leave_room_for_the_answer(
    prefix: int, suffix: int, context: int, max_tokens: int, length: int, density: float
) -> None:
    fitted = fit_budgets(Budgets(prefix, suffix, context), max_tokens, length, density, 2)
    assert fitted.prefix <= prefix and fitted.suffix <= suffix and fitted.context <= context
    budgeted_chars = 4 * (fitted.prefix + fitted.suffix + 2 * fitted.context)
    room = (length - max_tokens) * density * CONTEXT_MARGIN - FIXED_PROMPT_CHARS
    # Within the window (the prefix keeps a floor of 16 tokens so there is always a cursor line).
    assert budgeted_chars <= max(room, 4 * 16) or fitted.prefix == 16
    # The snapshot holds a quarter more of the suffix: that is what must fit uncut.
    if 4 * (prefix + suffix * 5 // 4 + 2 * context) <= room:
        assert fitted == Budgets(prefix, suffix, context)  # what fits is not cut


def _client_with(routes: dict[str, dict], context_length: int = 0) -> tuple[ModelClient, list[str]]:
    """A client whose server answers ``routes`` (path -> JSON) and 404 elsewhere; and its log."""
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        body = routes.get(request.url.path)
        return httpx.Response(200, json=body) if body is not None else httpx.Response(404, json={})

    config = ModelConfig("http://127.0.0.1:9/v1", "", "", 1.0, 1.0, 0, context_length)
    return ModelClient(config, transport=httpx.MockTransport(handle)), seen


async def test_context_length_is_read_where_each_server_says_it() -> None:
    vllm, _ = _client_with({"/v1/models": {"data": [{"id": "m", "max_model_len": 32768}]}})
    llama_cpp, seen = _client_with(
        {
            "/v1/models": {"data": [{"id": "m"}]},
            "/props": {"default_generation_settings": {"n_ctx": 4096}},
        }
    )
    silent, _ = _client_with({"/v1/models": {"data": [{"id": "m"}]}})
    configured, asked = _client_with({}, context_length=8192)
    try:
        assert await vllm.context_length() == 32768
        assert await llama_cpp.context_length() == 4096 and "/props" in seen
        assert await silent.context_length() is None  # left to the first refusal
        assert await configured.context_length() == 8192 and asked == []
        calls = len(seen)
        assert await llama_cpp.context_length() == 4096 and len(seen) == calls  # asked once
    finally:
        for client in (vllm, llama_cpp, silent, configured):
            await client.aclose()


async def test_a_new_completion_endpoint_takes_effect_at_the_next_keystroke(
    lsp: LanguageClient, tmp_path: Path
) -> None:
    with ScriptedServer() as first, ScriptedServer() as second:
        first.script(default=Reply(text="from_first"))
        second.script(default=Reply(text="from_second"))
        await initialize(lsp, {"endpoint": first.url}, tmp_path.as_uri())
        uri = (tmp_path / "switch.py").as_uri()
        open_document(lsp, uri, "x = \n")
        assert (await inline(lsp, uri, 0, 4)).items[0].insert_text == "from_first"
        lsp.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"hermes": {"completion": {"endpoint": second.url}}})
        )
        open_document(lsp, (tmp_path / "other.py").as_uri(), "y = \n")
        result = await inline(lsp, (tmp_path / "other.py").as_uri(), 0, 4)
        assert result.items[0].insert_text == "from_second"
        assert len(second.model_requests()) == 1

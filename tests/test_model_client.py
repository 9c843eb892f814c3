"""The OpenAI-compatible client against the scripted server over real sockets."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hermes_lsp.model.client import (
    ModelAuthError,
    ModelClient,
    ModelConfig,
    ModelHTTPError,
    ModelNotFound,
    ModelProtocolError,
    ModelTimeout,
    ModelUnreachable,
)
from hermes_lsp.scripted_server import Reply, ScriptedServer
from tests.support.lsp import until

MESSAGES = [{"role": "user", "content": "hi"}]


def make_client(url: str, **overrides: object) -> ModelClient:
    fields: dict[str, object] = {
        "endpoint": url,
        "model": "",
        "api_key": "",
        "connect_timeout": 1.0,
        "read_timeout": 5.0,
        "retries": 1,
    }
    return ModelClient(ModelConfig(**{**fields, **overrides}))  # type: ignore[arg-type]


async def collect(client: ModelClient) -> str:
    return "".join([d async for d in client.stream_chat(MESSAGES, max_tokens=8, temperature=0)])


async def test_streams_deltas_and_uses_the_first_listed_model(scripted: ScriptedServer):
    scripted.models = ["hermes-4-70b", "other"]
    scripted.script(Reply(text="hello world", chunk_size=3))
    client = make_client(scripted.url)
    try:
        assert await collect(client) == "hello world"
        body = scripted.model_requests()[0].body
        assert body["model"] == "hermes-4-70b" and body["stream"] is True
    finally:
        scripted.models = ["hermes-4-14b"]
        await client.aclose()


async def test_plain_completions_endpoint(scripted: ScriptedServer):
    scripted.script(Reply(text="def f(): pass"))
    client = make_client(scripted.url)
    try:
        text = "".join([d async for d in client.stream_completion("def", max_tokens=8, temperature=0)])
        assert text == "def f(): pass"
        assert scripted.model_requests()[0].path == "/v1/completions"
    finally:
        await client.aclose()


async def test_api_key_is_sent_as_bearer_and_never_logged(caplog: pytest.LogCaptureFixture):
    with ScriptedServer(api_key="sk-top-secret") as server:
        server.script(Reply(text="ok"))
        caplog.set_level(logging.DEBUG)
        good = make_client(server.url, api_key="sk-top-secret")
        bad = make_client(server.url, api_key="wrong-key")
        try:
            assert await collect(good) == "ok"
            with pytest.raises(ModelAuthError, match="hermes.apiKey"):
                await collect(bad)
        finally:
            await good.aclose()
            await bad.aclose()
    assert "sk-top-secret" not in caplog.text
    assert "sk-top-secret" not in repr(good.config)


async def test_unknown_model_says_what_to_do(scripted: ScriptedServer):
    client = make_client(scripted.url, model="hermes-9-1t")
    try:
        with pytest.raises(ModelNotFound, match="Set hermes.model"):
            await collect(client)
    finally:
        await client.aclose()


async def test_server_errors_are_not_retried(scripted: ScriptedServer):
    scripted.script(Reply(status=500, body="engine exploded"))
    client = make_client(scripted.url, retries=3)
    try:
        with pytest.raises(ModelHTTPError, match="500: engine exploded"):
            await collect(client)
        assert len(scripted.model_requests()) == 1
    finally:
        await client.aclose()


async def test_unreachable_server_after_retries():
    client = make_client("http://127.0.0.1:9/v1", retries=2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        with pytest.raises(ModelUnreachable, match="Cannot reach the model server at http://127.0.0.1:9/v1"):
            await collect(client)
    finally:
        await client.aclose()
    assert loop.time() - started >= 0.4  # backed off 0.1 s then 0.3 s between the attempts


async def test_slow_server_times_out(scripted: ScriptedServer):
    scripted.script(Reply(text="late", first_delay=2.0))
    client = make_client(scripted.url, read_timeout=0.3)
    try:
        with pytest.raises(ModelTimeout, match="readTimeoutMs"):
            await collect(client)
    finally:
        await client.aclose()


async def test_cut_stream_and_garbage_are_protocol_errors(scripted: ScriptedServer):
    scripted.script(Reply(text="abcdefgh", chunk_size=2, cut_after=2, times=1), Reply(body="data: {oops\n\n"))
    client = make_client(scripted.url)
    try:
        with pytest.raises(ModelProtocolError, match="cut the answer off|without finishing"):
            await collect(client)
        with pytest.raises(ModelProtocolError, match="malformed stream event"):
            await collect(client)
    finally:
        await client.aclose()


async def test_cancelling_the_consumer_closes_the_connection(scripted: ScriptedServer):
    scripted.script(Reply(text="x" * 400, chunk_size=1, chunk_delay=0.01))
    client = make_client(scripted.url)
    try:
        task = asyncio.ensure_future(collect(client))
        await asyncio.sleep(0.3)
        request = scripted.model_requests()[0]
        assert request.events_sent > 0 and not request.disconnected
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(100):
            if request.disconnected:
                break
            await asyncio.sleep(0.01)
        assert request.disconnected and request.events_sent < 400
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("reply", "cause", "not_blamed"),
    [
        (Reply(body="<html>502 Bad Gateway</html>"), "not an OpenAI event stream: '<html>", "context window"),
        (Reply(text="hello", stream=False), "plain JSON instead of an event stream", "context window"),
        (Reply(body=""), "context window", "not an OpenAI event stream"),
    ],
)
async def test_each_unusable_stream_names_its_own_cause(
    scripted: ScriptedServer, reply: Reply, cause: str, not_blamed: str
):
    scripted.script(reply)
    client = make_client(scripted.url)
    try:
        with pytest.raises(ModelProtocolError) as raised:
            await collect(client)
    finally:
        await client.aclose()
    assert cause in str(raised.value) and not_blamed not in str(raised.value)


async def test_a_404_at_an_endpoint_ending_in_v1_is_not_told_to_end_in_v1(scripted: ScriptedServer):
    # The scripted server serves /v1/...; /v1/v1/... is a route it does not have.
    for endpoint, says, never in [
        (scripted.url + "/v1", "does not serve the OpenAI API there", "should end in /v1"),
        (scripted.url.removesuffix("/v1") + "/api", "usually ends in /v1 (it is", "does not serve"),
    ]:
        client = make_client(endpoint, model="hermes-4-14b")
        try:
            with pytest.raises(ModelHTTPError) as raised:
                await collect(client)
        finally:
            await client.aclose()
        assert raised.value.status == 404
        assert says in str(raised.value) and never not in str(raised.value)


async def test_an_endless_line_is_refused_instead_of_read_into_memory(scripted: ScriptedServer):
    scripted.script(Reply(body="data: " + "x" * 3_000_000))  # one event line of 3 MB, no line break
    client = make_client(scripted.url)
    try:
        with pytest.raises(ModelProtocolError, match="without a line break"):
            await collect(client)
    finally:
        await client.aclose()


async def test_finished_answers_leave_their_connection_open_for_the_next_keystroke(scripted: ScriptedServer):
    scripted.script(default=Reply(text="one answer"))
    client = make_client(scripted.url, model="hermes-4-14b")
    try:
        before = scripted.connections
        for _ in range(3):
            assert await collect(client) == "one answer"
        assert scripted.connections - before == 1
    finally:
        await client.aclose()


async def test_an_answer_closed_early_drops_its_connection_so_generation_stops(scripted: ScriptedServer):
    scripted.script(default=Reply(text="a long answer " * 20, chunk_size=2, chunk_delay=0.01))
    client = make_client(scripted.url, model="hermes-4-14b")
    try:
        stream = client.stream_chat(MESSAGES, max_tokens=64, temperature=0)
        async for _ in stream:
            break
        await stream.aclose()
        assert await until(lambda: scripted.model_requests()[0].disconnected)
    finally:
        await client.aclose()

"""A scripted OpenAI-compatible HTTP server for tests and benchmarks.

It speaks the real wire protocol (HTTP/1.1 with keep-alive, chunked SSE streams) on a real
loopback socket, replays scripted answers, and records every request it sees: when it
arrived, what it asked for, and whether the client hung up before the answer was done.
That last part is how the tests prove that a superseded completion really closes its
upstream stream.

Use it in-process (``ScriptedServer().start()``) or as a program
(``python -m hermes_lsp.scripted_server --port 8123``), in which case the script is set and
the request log read over HTTP at ``/_control/script`` and ``/_control/requests``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs


@attrs.define
class Reply:
    """One scripted answer."""

    text: str = ""
    """What the model "says"; streamed as deltas of ``chunk_size`` characters."""
    match: str | None = None
    """Only answer requests whose prompt contains this text (None: any request)."""
    times: int | None = None
    """How many requests this reply answers before it is used up (None: forever)."""
    path: str | None = None
    """Only answer requests to this path suffix, e.g. ``/chat/completions`` (None: any)."""
    chunk_size: int = 4
    """Characters per streamed event."""
    first_delay: float = 0.0
    """Seconds to wait before the first token (after the response headers)."""
    chunk_delay: float = 0.0
    """Seconds between streamed events."""
    status: int = 200
    """HTTP status; anything but 200 sends an OpenAI-style error body."""
    body: str | None = None
    """Raw body sent instead of a well-formed answer (to simulate garbage)."""
    cut_after: int | None = None
    """Close the connection after this many events, without ``[DONE]``."""
    finish_reason: str = "stop"
    """The ``finish_reason`` of the last event."""
    stream: bool = True
    """False: answer even a streaming request with one JSON body, as a server that cannot stream."""


@attrs.define
class RecordedRequest:
    """A request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    received_at: float
    """``time.monotonic()`` when the request body had been read."""
    finished_at: float | None = None
    disconnected_at: float | None = None
    """When the client closed the connection before the answer was complete."""
    events_sent: int = 0

    @property
    def prompt(self) -> str:
        """The prompt text: the messages joined, or the completion prompt."""
        return prompt_text(self.body or {})

    @property
    def disconnected(self) -> bool:
        return self.disconnected_at is not None


def prompt_text(body: dict[str, Any]) -> str:
    """Flatten a chat or completion request into one string for matching."""
    if "messages" in body:
        parts = []
        for message in body.get("messages") or []:
            content = message.get("content")
            if isinstance(content, list):
                content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            parts.append(str(content or ""))
        return "\n".join(parts)
    prompt = body.get("prompt", "")
    return prompt if isinstance(prompt, str) else json.dumps(prompt)


class ScriptedServer:
    """An OpenAI-compatible server whose answers are scripted by the test."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        models: tuple[str, ...] = ("hermes-4-14b",),
        api_key: str | None = None,
        context_length: int | None = None,
        list_context_length: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.models = list(models)
        self.api_key = api_key
        self.context_length = context_length
        """Prompt (at 4 characters a token) plus max_tokens beyond this is refused, as vLLM does."""
        self.list_context_length = list_context_length
        """Say the context length in ``GET /v1/models`` (``max_model_len``, as vLLM does)."""
        self.replies: list[Reply] = []
        self.default = Reply(text="pass")
        self.requests: list[RecordedRequest] = []
        self.connections = 0
        """TCP connections accepted so far (clients should reuse theirs)."""
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._ready = threading.Event()

    # -- control -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL clients use, ending in ``/v1``."""
        return f"http://{self.host}:{self.port}/v1"

    def script(self, *replies: Reply, default: Reply | None = None) -> None:
        """Replace the scripted replies (and optionally the default)."""
        with self._lock:
            self.replies = list(replies)
            if default is not None:
                self.default = default

    def reset(self) -> None:
        """Forget the script and the request log."""
        with self._lock:
            self.replies = []
            self.default = Reply(text="pass")
            self.requests = []

    def reset_log(self) -> None:
        """Forget the request log, keeping the script."""
        with self._lock:
            self.requests = []

    def model_requests(self) -> list[RecordedRequest]:
        """Requests that asked the model for tokens (not discovery or health checks)."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith("completions")]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Poll ``predicate`` until it is true or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.005)
        return predicate()

    def _pick(self, path: str, body: dict[str, Any]) -> Reply:
        text = prompt_text(body)
        with self._lock:
            for reply in self.replies:
                if reply.times is not None and reply.times <= 0:
                    continue
                if reply.match is not None and reply.match not in text:
                    continue
                if reply.path is not None and not path.endswith(reply.path):
                    continue
                if reply.times is not None:
                    reply.times -= 1
                return reply
            return self.default

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> ScriptedServer:
        """Start serving on a background thread; returns once the socket listens."""
        self._thread = threading.Thread(target=self._run, name="scripted-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("scripted server did not start")
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, self.host, self.port))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    async def serve_forever(self) -> None:
        """Serve on the current event loop (used by the command-line entry point)."""
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        async with self._server:
            await self._server.serve_forever()

    # -- HTTP ----------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went away, or the server is stopping
        finally:
            writer.close()

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        request_line = await reader.readline()
        if not request_line:
            return False
        try:
            method, target, _ = request_line.decode("latin-1").split(" ", 2)
        except ValueError:
            await _send(writer, 400, {"error": {"message": "bad request line"}})
            return False
        headers: dict[str, str] = {}
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        raw = await reader.readexactly(int(headers.get("content-length", "0") or 0))
        body: dict[str, Any] | None = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                await _send(writer, 400, {"error": {"message": "body is not JSON"}})
                return True
        path = target.split("?", 1)[0]
        record = RecordedRequest(method, path, headers, body, time.monotonic())
        if not path.startswith("/_control"):
            with self._lock:
                self.requests.append(record)
        return await self._route(method, path, headers, body, record, reader, writer)

    async def _route(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: dict[str, Any] | None,
        record: RecordedRequest,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        if path == "/_control/script" and method == "POST":
            data = body or {}
            replies = [Reply(**r) for r in data.get("replies", [])]
            default = Reply(**data["default"]) if "default" in data else None
            self.script(*replies, default=default)
            await _send(writer, 200, {"ok": True})
            return True
        if path == "/_control/reset" and method == "POST":
            self.reset()
            await _send(writer, 200, {"ok": True})
            return True
        if path == "/_control/requests":
            with self._lock:
                log = [
                    {**attrs.asdict(r), "prompt": r.prompt, "disconnected": r.disconnected}
                    for r in self.requests
                ]
            await _send(writer, 200, {"requests": log})
            return True
        if self.api_key and headers.get("authorization") != f"Bearer {self.api_key}":
            await _send(writer, 401, {"error": {"message": "Invalid API key", "type": "auth"}})
            return True
        if path in ("/health", "/v1/health"):
            await _send(writer, 200, {"status": "ok"})
            return True
        if path == "/v1/models" and method == "GET":
            models: list[dict[str, Any]] = [
                {"id": m, "object": "model", "owned_by": "scripted"} for m in self.models
            ]
            if self.context_length and self.list_context_length:
                for entry in models:
                    entry["max_model_len"] = self.context_length
            await _send(writer, 200, {"object": "list", "data": models})
            return True
        if path in ("/v1/chat/completions", "/v1/completions") and method == "POST":
            return await self._answer(path, body or {}, record, reader, writer)
        await _send(writer, 404, {"error": {"message": f"no route for {method} {path}"}})
        return True

    async def _answer(
        self,
        path: str,
        body: dict[str, Any],
        record: RecordedRequest,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        model = body.get("model")
        if model not in self.models:
            await _send(writer, 404, {"error": {"message": f"The model `{model}` does not exist."}})
            return True
        if self.context_length:
            prompt = (len(prompt_text(body)) + 3) // 4
            wanted = prompt + int(body.get("max_tokens") or 16)
            if wanted > self.context_length:
                message = (
                    f"This model's maximum context length is {self.context_length} tokens. However, you "
                    f"requested {wanted} tokens ({prompt} in the messages, {wanted - prompt} in the "
                    "completion). Please reduce the length of the messages or completion."
                )
                await _send(writer, 400, {"error": {"message": message, "type": "BadRequestError"}})
                record.finished_at = time.monotonic()
                return True
        reply = self._pick(path, body)
        chat = path.endswith("chat/completions")
        if reply.status != 200:
            await asyncio.sleep(reply.first_delay)
            await _send(writer, reply.status, {"error": {"message": reply.body or "scripted failure"}})
            record.finished_at = time.monotonic()
            return True
        if not body.get("stream") or not reply.stream:
            await asyncio.sleep(reply.first_delay)
            payload: Any = reply.body if reply.body is not None else _full_answer(model, reply, chat)
            await _send(writer, 200, payload)
            record.finished_at = time.monotonic()
            return True
        return await self._stream(model, reply, chat, record, reader, writer)

    async def _stream(
        self,
        model: str,
        reply: Reply,
        chat: bool,
        record: RecordedRequest,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        await writer.drain()

        async def watch_hangup() -> None:
            # Polling the EOF flag (set by the transport when the peer closes) rather than
            # reading: a read could swallow the next keep-alive request.
            while not reader.at_eof():
                await asyncio.sleep(0.002)
            record.disconnected_at = time.monotonic()

        watcher = asyncio.ensure_future(watch_hangup())
        try:
            events = _events(model, reply, chat)
            await asyncio.sleep(reply.first_delay)
            for index, event in enumerate(events):
                if watcher.done():
                    return False
                if reply.cut_after is not None and index >= reply.cut_after:
                    # Simulate a server that dies mid-stream: no terminating chunk.
                    writer.close()
                    record.finished_at = time.monotonic()
                    return False
                if index and reply.chunk_delay:
                    await asyncio.wait([watcher], timeout=reply.chunk_delay)
                    if watcher.done():
                        return False
                writer.write(_chunk(event.encode()))
                await writer.drain()
                record.events_sent += 1
            writer.write(_chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
            await writer.drain()
            record.finished_at = time.monotonic()
            return True
        except ConnectionError:
            record.disconnected_at = record.disconnected_at or time.monotonic()
            return False
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


def _events(model: str, reply: Reply, chat: bool) -> list[str]:
    if reply.body is not None:
        return [reply.body]
    created = int(time.time())
    pieces = [reply.text[i : i + reply.chunk_size] for i in range(0, len(reply.text), reply.chunk_size)]
    events = []
    for n, piece in enumerate(pieces):
        if chat:
            delta: dict[str, Any] = {"content": piece}
            if n == 0:
                delta["role"] = "assistant"
            choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": None}
        else:
            choice = {"index": 0, "text": piece, "finish_reason": None}
        events.append(_event(model, chat, created, choice))
    last: dict[str, Any] = {"index": 0, "finish_reason": reply.finish_reason}
    last.update({"delta": {}} if chat else {"text": ""})
    events.append(_event(model, chat, created, last))
    return events


def _event(model: str, chat: bool, created: int, choice: dict[str, Any]) -> str:
    obj = "chat.completion.chunk" if chat else "text_completion"
    payload = {"id": "cmpl-scripted", "object": obj, "created": created, "model": model, "choices": [choice]}
    return f"data: {json.dumps(payload)}\n\n"


def _full_answer(model: str, reply: Reply, chat: bool) -> dict[str, Any]:
    if chat:
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": reply.text},
            "finish_reason": reply.finish_reason,
        }
    else:
        choice = {"index": 0, "text": reply.text, "finish_reason": reply.finish_reason}
    return {
        "id": "cmpl-scripted",
        "object": "chat.completion" if chat else "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": {"prompt_tokens": 0, "completion_tokens": len(reply.text) // 4, "total_tokens": 0},
    }


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


async def _send(writer: asyncio.StreamWriter, status: int, payload: Any) -> None:
    data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}.get(status, "Error")
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(data)}\r\n\r\n".encode()
        + data
    )
    await writer.drain()


def main(argv: list[str] | None = None) -> int:
    """Run the scripted server in the foreground."""
    parser = argparse.ArgumentParser(prog="python -m hermes_lsp.scripted_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--model", action="append", help="model id to advertise (repeatable)")
    parser.add_argument("--script", help="JSON file: {'replies': [...], 'default': {...}}")
    args = parser.parse_args(argv)
    server = ScriptedServer(args.host, args.port, tuple(args.model or ["hermes-4-14b"]))
    if args.script:
        with open(args.script, encoding="utf-8") as fh:
            data = json.load(fh)
        server.script(
            *[Reply(**r) for r in data.get("replies", [])], default=Reply(**data.get("default", {}))
        )

    async def serve() -> None:
        task = asyncio.ensure_future(server.serve_forever())
        while server._server is None or not server._server.sockets:
            await asyncio.sleep(0.01)
        print(server.url, flush=True)
        await task

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

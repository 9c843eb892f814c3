"""The HTTP client for an OpenAI-compatible model server (trtllm-serve, vLLM, llama.cpp...).

One :class:`ModelClient` per language server holds one ``httpx.AsyncClient``, so that
keep-alive connections are reused across keystrokes. Streams are consumed with ``async
for``; cancelling the consuming task closes the HTTP response, which closes the
connection, which is how trtllm-serve learns to stop generating. Every failure becomes a
:class:`ModelError` whose message tells the user what to do.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

import attrs
import httpx

from hermes_lsp import __version__
from hermes_lsp.config import Settings
from hermes_lsp.text import utf8

log = logging.getLogger(__name__)


class ModelError(Exception):
    """A failure talking to the model server; ``str()`` is meant for the user."""


class ModelUnreachable(ModelError):
    """No connection could be made."""


class ModelTimeout(ModelError):
    """The server accepted the request but did not answer in time."""


class ModelAuthError(ModelError):
    """The server refused the API key."""


class ModelNotFound(ModelError):
    """The configured model is not served there."""


class ModelHTTPError(ModelError):
    """The server answered with an error status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ModelContextExceeded(ModelHTTPError):
    """The prompt and the answer do not fit the model's context window."""

    def __init__(self, message: str, status: int, limit: int | None, requested: int | None) -> None:
        super().__init__(message, status)
        self.limit = limit
        """The context length the server reported, when it said."""
        self.requested = requested
        """Prompt tokens the server counted, when it said."""


class ModelProtocolError(ModelError):
    """The server answered something that is not the OpenAI protocol (garbage, a cut stream)."""


@attrs.frozen
class ModelConfig:
    """The part of the settings the client needs; a change rebuilds the client."""

    endpoint: str
    model: str
    api_key: str = attrs.field(repr=False)
    connect_timeout: float
    read_timeout: float
    retries: int
    context_length: int = 0
    """Tokens the model accepts, from the settings; 0 means learn it."""

    @classmethod
    def from_settings(cls, settings: Settings, job: Job | None = None) -> ModelConfig:
        """The client configuration for a job: its own endpoint and model, else the top-level ones."""
        own = settings.completion if job == "completion" else settings.actions if job == "actions" else None
        return cls(
            endpoint=((own.endpoint if own else "") or settings.endpoint).rstrip("/"),
            model=(own.model if own else "") or settings.model,
            api_key=settings.api_key,
            connect_timeout=settings.connect_timeout_ms / 1000,
            read_timeout=settings.read_timeout_ms / 1000,
            retries=settings.retries,
            context_length=own.context_length if own else 0,
        )


Job = Literal["completion", "actions"]

# Where servers say how long a context they serve, in a model entry of ``GET /models``
# (vLLM: max_model_len; others: context_length, n_ctx) or in llama.cpp's ``GET /props``.
_CONTEXT_KEYS = ("max_model_len", "context_length", "max_context_length", "n_ctx", "max_seq_len")

# How servers word a prompt that does not fit: the limit, and the prompt tokens counted.
_LIMIT_PATTERNS = (
    re.compile(r"maximum context length is (\d+)"),  # OpenAI, vLLM
    re.compile(r"context window of (\d+)"),  # llama-cpp-python
    re.compile(r"\bn_ctx\W{0,3}(\d+)"),  # llama.cpp
    re.compile(r"max_seq_len\W{0,3}(\d+)"),  # TensorRT-LLM
    re.compile(r"max_num_tokens\W{0,3}(\d+)"),
)
_REQUESTED_PATTERNS = (
    re.compile(r"\((\d+) in the messages"),
    re.compile(r"Requested tokens \((\d+)\)"),
    re.compile(r"n_prompt_tokens\W{0,3}(\d+)"),
    re.compile(r"has (\d+) input tokens"),
    re.compile(r"[Pp]rompt length \((\d+)\)"),
)
_EXCEEDED = re.compile(r"context (length|window|size)|max_seq_len|too long|exceed", re.IGNORECASE)


def context_exceeded(detail: str, status: int) -> ModelContextExceeded | None:
    """The error for a server answer that says the prompt is too long, else None."""
    if status not in (400, 413, 422, 500) or not _EXCEEDED.search(detail):
        return None

    def first(patterns: tuple[re.Pattern[str], ...]) -> int | None:
        for pattern in patterns:
            match = pattern.search(detail)
            if match:
                return int(match.group(1))
        return None

    limit, requested = first(_LIMIT_PATTERNS), first(_REQUESTED_PATTERNS)
    if limit is None and requested is None and "context" not in detail.lower():
        return None
    return ModelContextExceeded(
        f"The prompt does not fit the model's context window: {detail}", status, limit, requested
    )


def _context_in(entry: Any) -> int | None:
    """A context length named in a JSON object (or one level below it)."""
    if not isinstance(entry, dict):
        return None
    for key in _CONTEXT_KEYS:
        value = entry.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    for value in entry.values():
        if isinstance(value, dict) and (found := _context_in(value)):
            return found
    return None


# A server that could not be asked for its context length is asked again after this long.
_CONTEXT_RETRY_S = 30.0
# Backoff between connection attempts, in seconds; short because a user is waiting.
_BACKOFF = (0.1, 0.3, 0.9, 2.0)


class ModelClient:
    """Talks to one OpenAI-compatible endpoint."""

    def __init__(self, config: ModelConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        headers = {"user-agent": f"hermes-lsp/{__version__}"}
        if config.api_key:
            headers["authorization"] = f"Bearer {config.api_key}"
        self._http = httpx.AsyncClient(
            base_url=config.endpoint,
            headers=headers,
            timeout=httpx.Timeout(config.read_timeout, connect=config.connect_timeout),
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
            transport=transport,
        )
        self._model: str | None = config.model or None
        self._model_lock = asyncio.Lock()
        self._entries: list[Any] = []
        self._context_length: int | None = config.context_length or None
        self._context_settled = bool(config.context_length)
        self._context_asked_at: float | None = None
        self.chars_per_token = 4.0
        """Characters per token of this model's tokenizer, as far as its answers have shown."""

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- discovery -----------------------------------------------------------------------

    async def list_models(self) -> list[str]:
        """Model ids the server serves (``GET /models``)."""
        response = await self._send("GET", "/models")
        try:
            data = response.json()
            ids = [str(m["id"]) for m in data["data"]]
            self._entries = list(data["data"])
            return ids
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelProtocolError(
                f"{self.config.endpoint}/models did not return an OpenAI model list; "
                "is the endpoint an OpenAI-compatible /v1 URL?"
            ) from exc

    async def model(self) -> str:
        """The configured model, or the first one the server lists."""
        if self._model:
            return self._model
        async with self._model_lock:
            if not self._model:
                models = await self.list_models()
                if not models:
                    raise ModelNotFound(f"The model server at {self.config.endpoint} serves no model.")
                self._model = models[0]
                log.info("using model %s (first listed by the server)", self._model)
        return self._model

    async def context_length(self) -> int | None:
        """Tokens the served model accepts: the setting, else what the server says, else None.

        Asked once per client: ``GET /models`` (vLLM lists ``max_model_len``), then
        llama.cpp's ``GET /props``. A server that says nothing leaves it to the first
        "context exceeded" answer (:meth:`learn_from`); one that cannot be reached is
        asked again after a while, never at every keystroke.
        """
        now = time.monotonic()
        if self._context_settled or (
            self._context_asked_at is not None and now - self._context_asked_at < _CONTEXT_RETRY_S
        ):
            return self._context_length
        self._context_asked_at = now
        try:
            model = await self.model()
            if not self._entries:
                await self.list_models()
        except ModelError as exc:
            log.info("could not ask %s for its context length: %s", self.config.endpoint, exc)
            return self._context_length
        self._context_settled = True  # the server answered: what it says (or not) stands
        entry = next((e for e in self._entries if isinstance(e, dict) and e.get("id") == model), None)
        found = _context_in(entry)
        if found is None:
            try:
                response = await self._http.get(f"{self.config.endpoint.removesuffix('/v1')}/props")
                found = _context_in(response.json()) if response.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                found = None
        if found:
            log.info("the model at %s accepts %d tokens", self.config.endpoint, found)
            self._context_length = found
        return self._context_length

    def learn_from(self, error: ModelContextExceeded, prompt_chars: int) -> None:
        """Take the limit and the tokenizer's density from a "context exceeded" answer."""
        if error.limit:
            self._context_length = error.limit  # the server knows better than a setting
        if error.requested:
            self.chars_per_token = max(0.5, min(8.0, prompt_chars / error.requested))

    # -- generation ----------------------------------------------------------------------

    def stream_chat(
        self,
        messages: list[dict[str, Any]],
        *,
        max_tokens: int,
        temperature: float,
        stop: list[str] | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> AsyncIterator[str]:
        """Stream the text deltas of a chat completion."""
        payload = {"messages": messages}
        return self._stream("/chat/completions", payload, max_tokens, temperature, stop, extra_body)

    def stream_completion(
        self,
        prompt: str,
        *,
        max_tokens: int,
        temperature: float,
        stop: list[str] | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> AsyncIterator[str]:
        """Stream the text deltas of a plain completion."""
        return self._stream("/completions", {"prompt": prompt}, max_tokens, temperature, stop, extra_body)

    async def chat(
        self,
        messages: list[dict[str, Any]],
        *,
        max_tokens: int,
        temperature: float,
        stop: list[str] | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> str:
        """A whole chat answer (streamed underneath, so cancellation still closes it)."""
        parts = [
            delta
            async for delta in self.stream_chat(
                messages, max_tokens=max_tokens, temperature=temperature, stop=stop, extra_body=extra_body
            )
        ]
        return "".join(parts)

    async def _stream(
        self,
        path: str,
        payload: dict[str, Any],
        max_tokens: int,
        temperature: float,
        stop: list[str] | None,
        extra_body: dict[str, Any] | None,
    ) -> AsyncIterator[str]:
        chat = "messages" in payload
        body = {**payload, "max_tokens": max_tokens, "temperature": temperature}
        if stop:
            body["stop"] = stop
        body.update(extra_body or {})
        body.update(model=await self.model(), stream=True)
        # Encoded here rather than by httpx: text from the editor may hold a lone surrogate.
        content = utf8(json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False))
        request = self._http.build_request(
            "POST", path, content=content, headers={"Content-Type": "application/json"}
        )
        response = await self._send_request(request, stream=True)
        finished = False
        events = 0
        stray = ""  # the first line that is not part of an event stream, to name in an error
        lines = _lines(response, self.config.endpoint)
        try:
            if _is_json(response):
                raise await self._json_instead_of_stream(response)
            async for line in lines:
                if not line.startswith("data:"):
                    if not stray and line.strip() and not line.startswith((":", "event:", "id:", "retry:")):
                        stray = line.strip()
                    continue  # comments, event names, blank separators
                events += 1
                data = line[5:].strip()
                if data == "[DONE]":
                    finished = True
                    break
                delta, done = _parse_event(data, chat, self.config.endpoint)
                if delta:
                    yield delta
                if done:
                    finished = True
        except httpx.ReadTimeout as exc:
            raise ModelTimeout(
                f"The model server stopped sending for {self.config.read_timeout:g} s; "
                "it may be overloaded (raise hermes.readTimeoutMs if it is just slow)."
            ) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise ModelProtocolError("The model server cut the answer off mid-stream.") from exc
        finally:
            if finished:
                # The answer is complete: read the few bytes that end the body so the
                # connection goes back to the pool (a new TCP connection per keystroke
                # costs a millisecond or more).
                await _drain(lines)
            # Closing the response closes its connection when the body was not fully read:
            # that is what tells the server to stop generating.
            await response.aclose()
        if not finished and not events and stray:
            raise ModelProtocolError(
                f"The model server at {self.config.endpoint} answered with something that is not "
                f"an OpenAI event stream: {stray[:80]!r}; is hermes.endpoint an OpenAI-compatible "
                "server's /v1 URL?"
            )
        if not finished and not events:
            await self._explain_empty_stream(path, body)
            raise ModelProtocolError(
                "The model server closed the stream without answering; the prompt may be longer "
                "than the model's context window (its log says why)."
            )
        if not finished:
            raise ModelProtocolError("The model server ended the stream without finishing the answer.")

    async def _json_instead_of_stream(self, response: httpx.Response) -> ModelError:
        """The error for a server that answered a streaming request with one JSON body."""
        body = b""
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > _MAX_ERROR_BODY:
                break
        detail = body[:300].decode("utf-8", "replace")
        return ModelProtocolError(
            f"The model server at {self.config.endpoint} answered a streaming request with plain "
            f"JSON instead of an event stream (it does not stream, or put an error in a normal "
            f"answer): {detail[:200]}"
        )

    async def _explain_empty_stream(self, path: str, body: dict[str, Any]) -> None:
        """Ask once more without streaming, to hear why a stream ended before its first event.

        Some servers (llama-cpp-python) refuse a prompt longer than their context by
        closing the stream; the same request unstreamed gets the error that says so, with
        the limit and the prompt's length in tokens. Raises that error when it comes.
        """
        # Twice: the server may have dropped the connection the empty stream came on,
        # and the first attempt can pick that one from the pool.
        for _ in range(2):
            request = self._http.build_request("POST", path, json={**body, "stream": False})
            try:
                response = await self._send_request(request, stream=False)
            except ModelContextExceeded:
                raise
            except ModelError as exc:
                log.info("asking again without streaming did not say why the stream was empty: %s", exc)
                continue
            await response.aclose()
            return

    # -- plumbing ------------------------------------------------------------------------

    async def _send(self, method: str, path: str) -> httpx.Response:
        response = await self._send_request(self._http.build_request(method, path), stream=False)
        return response

    async def _send_request(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = await self._http.send(request, stream=stream)
                break
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # Only connection failures are retried: once the server has the request,
                # retrying could start a second generation.
                if attempt >= self.config.retries:
                    raise ModelUnreachable(
                        f"Cannot reach the model server at {self.config.endpoint}: start it "
                        "(see `hermes-serve run`) or set hermes.endpoint / HERMES_LSP_ENDPOINT."
                    ) from exc
                await asyncio.sleep(_BACKOFF[min(attempt, len(_BACKOFF) - 1)])
                attempt += 1
            except httpx.TimeoutException as exc:
                raise ModelTimeout(
                    f"The model server at {self.config.endpoint} did not answer within "
                    f"{self.config.read_timeout:g} s."
                ) from exc
            except httpx.HTTPError as exc:
                raise ModelProtocolError(f"HTTP error talking to {self.config.endpoint}: {exc}") from exc
        if response.status_code >= 400:
            if stream:
                await response.aread()
                await response.aclose()
            raise self._status_error(response)
        return response

    def _status_error(self, response: httpx.Response) -> ModelError:
        detail = _error_detail(response)
        status = response.status_code
        if status in (401, 403):
            return ModelAuthError(
                f"The model server refused the API key ({status}); set hermes.apiKey or HERMES_LSP_API_KEY."
            )
        listing = response.request.url.path.endswith("/models")
        if status == 404 and not listing and self._model and "model" in detail.lower():
            return ModelNotFound(
                f"The model server does not serve {self._model!r}: {detail}. Set hermes.model to one "
                "of the ids `hermes-lsp doctor` lists, or leave it empty to use the first."
            )
        if status == 404 and self.config.endpoint.endswith("/v1"):
            return ModelHTTPError(
                f"{response.request.url} is not found (404): the server at {self.config.endpoint} "
                "does not serve the OpenAI API there; is hermes.endpoint the model server's address?",
                status,
            )
        if status == 404:
            return ModelHTTPError(
                f"{response.request.url} is not found (404); hermes.endpoint usually ends in /v1 "
                f"(it is {self.config.endpoint}).",
                status,
            )
        exceeded = context_exceeded(detail, status)
        if exceeded is not None:
            return exceeded
        return ModelHTTPError(f"The model server answered {status}: {detail}", status)


# Most bytes of an unexpected answer read to explain it.
_MAX_ERROR_BODY = 4096
# Most bytes of one line of an event stream. A token delta is a few hundred bytes; a
# server that sends megabytes without a line break is not streaming tokens.
MAX_LINE_BYTES = 1024 * 1024


async def _lines(response: httpx.Response, endpoint: str) -> AsyncIterator[str]:
    """The lines of an event stream, refusing a line longer than ``MAX_LINE_BYTES``.

    httpx's own line reader would hold an endless line in memory until it ends.
    """
    pending = bytearray()
    async for chunk in response.aiter_bytes():
        if b"\n" in chunk:
            *lines, rest = (pending + chunk).split(b"\n")
            pending = bytearray(rest)
            for line in lines:
                yield line.rstrip(b"\r").decode("utf-8", "replace")
        else:
            pending += chunk  # only the new bytes are searched: linear in the stream
        if len(pending) > MAX_LINE_BYTES:
            raise ModelProtocolError(
                f"The model server at {endpoint} sent more than {MAX_LINE_BYTES // 1024} KiB "
                "without a line break; that is not an event stream of tokens."
            )
    if pending:
        yield pending.rstrip(b"\r").decode("utf-8", "replace")


def _is_json(response: httpx.Response) -> bool:
    content_type = response.headers.get("content-type", "")
    return "json" in content_type and "event-stream" not in content_type


async def _drain(lines: AsyncIterator[str], limit: int = 16) -> None:
    """Read what is left of a finished answer (usually nothing but the end of the body)."""
    try:
        async for _ in lines:
            limit -= 1
            if limit <= 0:
                break  # more than an epilogue: let aclose() drop the connection
    except (httpx.HTTPError, httpx.StreamError):
        pass


def _error_detail(response: httpx.Response) -> str:
    try:
        data = response.json()
        error = data.get("error", data)
        message = error.get("message") if isinstance(error, dict) else error
        return str(message or data)[:300]
    except ValueError:
        return response.text[:300] or response.reason_phrase


def _parse_event(data: str, chat: bool, endpoint: str) -> tuple[str, bool]:
    """One SSE ``data:`` payload -> (text delta, finished)."""
    try:
        event = json.loads(data)
        if "error" in event:
            error = event["error"]
            message = error.get("message") if isinstance(error, dict) else error
            exceeded = context_exceeded(str(message), 400)
            if exceeded is not None:
                raise exceeded
            raise ModelHTTPError(f"The model server reported an error mid-stream: {message}", 500)
        choices = event.get("choices") or []
        if not choices:
            return "", False  # e.g. a usage-only event
        choice = choices[0]
        text = (choice.get("delta") or {}).get("content") if chat else choice.get("text")
        return (text or ""), choice.get("finish_reason") is not None
    except (ValueError, AttributeError, TypeError) as exc:
        raise ModelProtocolError(
            f"The model server at {endpoint} sent a malformed stream event: {data[:80]!r}"
        ) from exc

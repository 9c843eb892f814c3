"""A raw LSP client over the server's stdio pipes, for traffic no real client would send.

It writes bytes exactly as given (malformed frames included) and reads the server's
messages on a thread, so a test can wait for one answer without blocking on the pipe.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

# Waiting this long for an answer means the server is deaf or hung (not slow): fail.
ANSWER_WAIT = 30.0
# A request that any initialized server answers with a result (no document is open).
PROBE = "textDocument/codeAction"
PROBE_PARAMS = {
    "textDocument": {"uri": "file:///nowhere/probe.py"},
    "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
    "context": {"diagnostics": []},
}


def frame(body: bytes | str | dict[str, Any]) -> bytes:
    """A well-formed LSP frame around ``body``."""
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def request(request_id: int, method: str, params: Any = None) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return message


def notification(method: str, params: Any = None) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    return message


class RawServer:
    """``hermes-lsp --stdio`` as a subprocess, fed raw bytes."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hermes_lsp", "--stdio", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        self.received: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self._ids = itertools.count(1000)
        self._stderr: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            assert length is not None, "the server sent a frame without Content-Length"
            message = json.loads(stream.read(length))
            with self._changed:
                self.received.append(message)
                self._changed.notify_all()

    def _drain_stderr(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        for line in stream:
            self._stderr.append(line)

    @property
    def log(self) -> str:
        """What the server logged: on stderr, and to the client as window/logMessage
        (where its log goes once the connection is up)."""
        sent = [str(m.get("params", {}).get("message", "")) for m in self.notifications("window/logMessage")]
        return b"".join(self._stderr).decode("utf-8", "replace") + "".join(line + "\n" for line in sent)

    def send(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def next_id(self) -> int:
        return next(self._ids)

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        with self._changed:
            found = self._changed.wait_for(
                lambda: next((m for m in self.received if predicate(m)), None), timeout=ANSWER_WAIT
            )
        assert found, f"no such message from the server; its log:\n{self.log[-3000:]}"
        return found

    def response(self, request_id: int) -> dict[str, Any]:
        return self.wait_for(lambda m: m.get("id") == request_id and "method" not in m)

    def ask(self, method: str, params: Any = None) -> dict[str, Any]:
        """Send a well-formed request and wait for its answer."""
        request_id = self.next_id()
        self.send(frame(request(request_id, method, params)))
        return self.response(request_id)

    def initialize(self, options: dict[str, Any] | None = None, root_uri: str | None = None) -> None:
        answer = self.ask(
            "initialize",
            {"processId": None, "capabilities": {}, "initializationOptions": options, "rootUri": root_uri},
        )
        assert "result" in answer, answer
        self.send(frame(notification("initialized", {})))

    def notifications(self, method: str) -> list[dict[str, Any]]:
        with self._changed:
            return [m for m in self.received if m.get("method") == method and "id" not in m]

    def close(self) -> int:
        """Stop the server (if it still runs) and return its exit status."""
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.close()
            except OSError:
                pass
            try:
                self.process.wait(timeout=ANSWER_WAIT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

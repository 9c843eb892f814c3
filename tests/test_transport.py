"""The server's transports and its resilience to malformed LSP traffic."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"capabilities": {}, "processId": None},
}


def frame(payload: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(payload) + payload


def read_message(stream) -> dict:
    headers = {}
    while True:
        line = stream.readline()
        assert line, "server closed the stream"
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    return json.loads(stream.read(int(headers["content-length"])))


def read_response(stream, request_id: int) -> dict:
    while True:
        message = read_message(stream)
        if message.get("id") == request_id and "method" not in message:
            return message


def test_malformed_messages_do_not_kill_the_server():
    server = subprocess.Popen(
        [sys.executable, "-m", "hermes_lsp", "--stdio"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        server.stdin.write(frame(b"{this is not json"))
        server.stdin.write(frame(json.dumps({"jsonrpc": "2.0", "id": 7, "method": "no/such"}).encode()))
        server.stdin.write(frame(json.dumps(INITIALIZE).encode()))
        server.stdin.flush()
        unknown = read_response(server.stdout, 7)
        assert unknown["error"]["code"] == -32601  # method not found, and the server lives on
        initialized = read_response(server.stdout, 1)
        capabilities = initialized["result"]["capabilities"]
        assert "inlineCompletionProvider" in capabilities and "completionProvider" in capabilities
        assert initialized["result"]["serverInfo"]["name"] == "hermes-lsp"
    finally:
        server.kill()
        server.wait(10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_tcp_transport_answers_initialize():
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "hermes_lsp", "--tcp", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                connection = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "server never listened"
                time.sleep(0.1)
        with connection, connection.makefile("rwb") as stream:
            stream.write(frame(json.dumps(INITIALIZE).encode()))
            stream.flush()
            response = read_response(stream, 1)
        assert "inlineCompletionProvider" in response["result"]["capabilities"]
    finally:
        server.kill()
        server.wait(10)


def test_bad_tcp_address_is_a_clear_error():
    result = subprocess.run(
        [sys.executable, "-m", "hermes_lsp", "--tcp", "nonsense"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode != 0 and "--tcp expects HOST:PORT" in result.stderr

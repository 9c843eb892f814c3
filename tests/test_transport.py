"""The server's transports and its resilience to malformed LSP traffic."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

from tests.support.raw import frame

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"capabilities": {}, "processId": None},
}


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


def _connect(port: int, deadline_s: float = 30) -> socket.socket:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            assert time.monotonic() < deadline, "server never listened"
            time.sleep(0.1)


def _tcp_server(host: str, log_file) -> tuple[subprocess.Popen, int]:
    port = free_port()
    command = [sys.executable, "-m", "hermes_lsp", "--tcp", f"{host}:{port}", "--log-file", str(log_file)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), port


def test_a_second_tcp_client_is_refused_and_the_first_keeps_its_replies(tmp_path):
    log_file = tmp_path / "server.log"
    server, port = _tcp_server("127.0.0.1", log_file)
    try:
        with _connect(port) as first, first.makefile("rwb") as a:
            a.write(frame(json.dumps(INITIALIZE).encode()))
            a.flush()
            assert "result" in read_response(a, 1)
            with _connect(port) as second, second.makefile("rwb") as b:
                try:
                    b.write(frame(json.dumps({**INITIALIZE, "id": 2}).encode()))
                    b.flush()
                except OSError:
                    pass  # already closed by the server: as good
                try:
                    answer = b.read()  # a timeout here (nothing, but still open) fails the test
                except ConnectionResetError:
                    answer = b""  # closed with unread data on the server's side: a reset
                assert answer == b""
            # The first client is still the one the server answers.
            a.write(frame(json.dumps({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}).encode()))
            a.flush()
            assert read_response(a, 3).get("error") is None
            a.write(frame(json.dumps({"jsonrpc": "2.0", "method": "exit"}).encode()))
            a.flush()
        # One session per server, as on stdio: it ends with its client.
        assert server.wait(30) == 0
        stderr = server.stderr.read().decode()
    finally:
        server.kill()
        server.wait(10)
    assert "refused a connection" in log_file.read_text()
    assert "WARNING" not in stderr  # loopback: nothing to warn about


def test_listening_on_every_interface_is_warned_about_loudly(tmp_path):
    log_file = tmp_path / "server.log"
    server, port = _tcp_server("0.0.0.0", log_file)
    try:
        _connect(port).close()  # the warning comes before the server listens
        _, stderr = server.communicate(timeout=30)
    finally:
        server.kill()
        server.wait(10)
    for text in (stderr.decode(), log_file.read_text()):
        assert "WARNING" in text and "0.0.0.0" in text and "no authentication" in text


def test_only_loopback_addresses_count_as_private():
    from hermes_lsp.tcp import is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.9.10", "::1", "localhost", "LOCALHOST"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.20", "10.0.0.1", "203.0.113.5"))

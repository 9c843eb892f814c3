"""The LSP life cycle over real stdio: before ``initialize``, after ``shutdown``, ``exit``."""

from __future__ import annotations

from tests.support.raw import PROBE, PROBE_PARAMS, RawServer, frame, notification

SERVER_NOT_INITIALIZED = -32002
INVALID_REQUEST = -32600


def test_shutdown_before_initialize_is_refused_and_the_server_still_serves():
    server = RawServer()
    try:
        refused = server.ask("shutdown")
        assert refused["error"]["code"] == SERVER_NOT_INITIALIZED
        early = server.ask(PROBE, PROBE_PARAMS)
        assert early["error"]["code"] == SERVER_NOT_INITIALIZED
        server.initialize()
        assert "result" in server.ask(PROBE, PROBE_PARAMS)
        assert "error" not in server.ask("shutdown")
        server.send(frame(notification("exit")))
        assert server.process.wait(timeout=30) == 0
    finally:
        server.close()


def test_requests_after_shutdown_get_invalid_request_and_exit_ends_with_0():
    server = RawServer()
    try:
        server.initialize()
        assert "error" not in server.ask("shutdown")
        late = server.ask(PROBE, PROBE_PARAMS)
        assert late["error"]["code"] == INVALID_REQUEST
        again = server.ask("shutdown")
        assert again["error"]["code"] == INVALID_REQUEST
        server.send(frame(notification("exit")))
        assert server.process.wait(timeout=30) == 0
    finally:
        server.close()


def test_exit_without_shutdown_ends_with_1():
    server = RawServer()
    try:
        server.initialize()
        server.send(frame(notification("exit")))
        assert server.process.wait(timeout=30) == 1
    finally:
        server.close()

"""API keys never reach the log file, from any source, at any log level."""

from __future__ import annotations

import json
import logging
import os
import string
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from hermes_lsp.log_redaction import MARKER, RedactingFilter, SecretRegistry
from hermes_lsp.scripted_server import Reply, ScriptedServer
from tests.test_transport import frame, read_message

INIT_KEY = "sk-init-5f2b9c1d7e"
CONFIG_KEY = "sk-config-8a4e6f0b3c"
ENV_KEY = "sk-env-1d9c7b5a2f"


def send(stream, message: dict) -> None:
    stream.write(frame(json.dumps(message).encode()))
    stream.flush()


def test_keys_from_every_source_are_absent_from_a_verbose_log(tmp_path: Path):
    log_file = tmp_path / "server.log"
    document = tmp_path / "app.py"
    document.write_text("def main():\n    return \n")
    with ScriptedServer(api_key=CONFIG_KEY) as model:
        model.script(Reply(text="42"))
        server = subprocess.Popen(
            [sys.executable, "-m", "hermes_lsp", "--stdio", "--log-file", str(log_file), "-v"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "HERMES_LSP_API_KEY": ENV_KEY},
        )
        try:
            stdin, stdout = server.stdin, server.stdout
            options = {"endpoint": model.url, "apiKey": INIT_KEY, "completion": {"debounceMs": 0}}
            send(
                stdin,
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {
                        "processId": None,
                        "rootUri": tmp_path.as_uri(),
                        "capabilities": {"workspace": {"configuration": True}},
                        "initializationOptions": options,
                    },
                },
            )
            assert "result" in read_message(stdout)
            send(stdin, {"jsonrpc": "2.0", "method": "initialized", "params": {}})
            while True:  # the server asks for its settings: answer with another key
                message = read_message(stdout)
                if message.get("method") == "workspace/configuration":
                    send(stdin, {"jsonrpc": "2.0", "id": message["id"], "result": [{"apiKey": CONFIG_KEY}]})
                    break
            uri = document.as_uri()
            send(
                stdin,
                {
                    "jsonrpc": "2.0",
                    "method": "textDocument/didOpen",
                    "params": {
                        "textDocument": {
                            "uri": uri,
                            "languageId": "python",
                            "version": 1,
                            "text": document.read_text(),
                        }
                    },
                },
            )
            send(
                stdin,
                {
                    "jsonrpc": "2.0",
                    "id": 2,
                    "method": "textDocument/inlineCompletion",
                    "params": {
                        "textDocument": {"uri": uri},
                        "position": {"line": 1, "character": 11},
                        "context": {"triggerKind": 2},
                    },
                },
            )
            while (answer := read_message(stdout)).get("id") != 2:
                pass
            assert answer["result"]["items"][0]["insertText"] == "42"
            send(stdin, {"jsonrpc": "2.0", "id": 3, "method": "shutdown"})
            while read_message(stdout).get("id") != 3:
                pass
            send(stdin, {"jsonrpc": "2.0", "method": "exit"})
            server.wait(30)
        finally:
            server.kill()
            server.wait(10)
        # The completion was made with the configured key: the scripted server checks it.
        assert model.model_requests()[0].headers["authorization"] == f"Bearer {CONFIG_KEY}"
    log = log_file.read_text()
    assert "workspace/configuration" in log and "initialization_options" in log  # messages were logged
    for key in (INIT_KEY, CONFIG_KEY, ENV_KEY):
        assert key not in log
    assert MARKER in log


def _record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("test", logging.DEBUG, __file__, 1, message, args, exc_info)


def _formatted(registry: SecretRegistry, record: logging.LogRecord) -> str:
    RedactingFilter(registry).filter(record)
    return logging.Formatter("%(message)s").format(record)


# Real keys are long; quotes, backslashes and brackets are left out so that a generated
# "key" cannot be spelt by the marker and the text around it.
KEYS = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FFF, exclude_characters="\\\"'[]"),
    min_size=12,
    max_size=40,
)


@given(key=KEYS, other=KEYS)
def test_every_remembered_key_is_replaced_wherever_it_appears(key: str, other: str):
    registry = SecretRegistry()
    registry.remember(other)
    registry.remember(key)
    shapes = [
        _record("settings %s", {"hermes": {"apiKey": key}}),
        _record("raw %s", json.dumps({"apiKey": key})),
        _record("header Authorization: Bearer %s", key),
        _record("%s", f"prefix{key}suffix"),
        _record("failed", exc=ValueError(f"bad key {key}")),
    ]
    for record in shapes:
        assert key not in _formatted(registry, record)


# What API keys and bearer tokens are made of (RFC 6750's token68 characters).
TOKEN_CHARS = string.ascii_letters + string.digits + "-._~+/="


@given(value=st.text(alphabet=TOKEN_CHARS, min_size=1, max_size=30))
def test_key_looking_fields_are_hidden_even_when_never_remembered(value: str):
    registry = SecretRegistry()
    cases = {
        f'{{"apiKey": "{value}"}}': '{"apiKey": "[redacted]"}',
        f"{{'api_key': '{value}'}}": "{'api_key': '[redacted]'}",
        f"Authorization: Bearer {value}": "Authorization: [redacted]",
        f"[('authorization', 'Bearer {value}')]": "[('authorization', 'Bearer [redacted]')]",
    }
    for text, expected in cases.items():
        assert registry.redact(text) == expected


def test_ordinary_lines_are_left_alone():
    registry = SecretRegistry()
    registry.remember("sk-abcdef")
    line = "Sending data: completion for app.py at 3:4 (apiKeys are never sent here)"
    assert registry.redact(line) == line

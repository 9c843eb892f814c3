"""A seeded storm of mutated LSP messages over real stdio, then a health check.

The messages are real ones (the kinds an editor sends), mutated the ways a broken client
or a broken pipe would: cut short, values of the wrong type, nesting thousands deep, huge
numbers, unknown methods, bytes that are not UTF-8, and malformed frames. Afterwards the
server must answer, hold the exact text of a document edited during the storm (the model
prompt a completion sends shows it), and have shown only a few pop-ups.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hermes_lsp.messages import MessageGate
from hermes_lsp.scripted_server import Reply, ScriptedServer
from hermes_lsp.server import HermesLanguageServer
from tests.support.raw import PROBE, PROBE_PARAMS, RawServer, frame, notification, request

SEED = 20261130
MESSAGES = 2400
HEALTH_URI = "file:///fuzz/health_check.py"
OTHER_URI = "file:///fuzz/other.py"


def position(line: int, character: int) -> dict[str, int]:
    return {"line": line, "character": character}


def span(a: int, b: int, c: int, d: int) -> dict[str, Any]:
    return {"start": position(a, b), "end": position(c, d)}


# Real messages, as editors send them; none touches the health-check document.
CORPUS: list[dict[str, Any]] = [
    notification(
        "textDocument/didOpen",
        {"textDocument": {"uri": OTHER_URI, "languageId": "python", "version": 1, "text": "x = 1\n"}},
    ),
    notification(
        "textDocument/didChange",
        {
            "textDocument": {"uri": OTHER_URI, "version": 2},
            "contentChanges": [{"range": span(0, 4, 0, 5), "text": "2"}],
        },
    ),
    request(
        1,
        "textDocument/inlineCompletion",
        {"textDocument": {"uri": OTHER_URI}, "position": position(0, 4), "context": {"triggerKind": 2}},
    ),
    request(2, "textDocument/completion", {"textDocument": {"uri": OTHER_URI}, "position": position(0, 4)}),
    request(
        3,
        "textDocument/codeAction",
        {"textDocument": {"uri": OTHER_URI}, "range": span(0, 0, 0, 5), "context": {"diagnostics": []}},
    ),
    request(
        4, "codeAction/resolve", {"title": "Hermes: explain", "data": {"action": "explain", "uri": OTHER_URI}}
    ),
    request(5, "workspace/executeCommand", {"command": "hermes.explain", "arguments": [{"uri": OTHER_URI}]}),
    notification("$/cancelRequest", {"id": 3}),
    notification("textDocument/didSave", {"textDocument": {"uri": OTHER_URI}}),
    notification("workspace/didChangeWatchedFiles", {"changes": [{"uri": OTHER_URI, "type": 2}]}),
    notification(
        "workspace/didChangeConfiguration", {"settings": {"hermes": {"completion": {"maxLines": 8}}}}
    ),
    notification("textDocument/didClose", {"textDocument": {"uri": OTHER_URI}}),
]

WRONG_VALUES: list[Any] = [None, True, -1, 0, 2**64, 10**400, 1e308, "", "x" * 3000, [], {}, [[1]], {"a": {}}]
# Methods a fuzzer must not send: they end the session, which is not what is tested here.
ENDING = {"shutdown", "exit", "initialize"}


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON value, as a path of keys and indexes."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


def replace_at(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    value = copy.copy(value)
    value[path[0]] = new if len(path) == 1 else replace_at(value[path[0]], path[1:], new)
    return value


def nest(depth: int, inner: bytes, rng: random.Random) -> bytes:
    """``inner`` wrapped in ``depth`` arrays and objects (written out: json.dumps would recurse)."""
    opening = [rng.choice([b"[", b'{"a":']) for _ in range(depth)]
    closing = [b"]" if o == b"[" else b"}" for o in reversed(opening)]
    return b"".join(opening) + inner + b"".join(closing)


def encoded(message: Any) -> bytes:
    return json.dumps(message).encode()


def mutations(rng: random.Random) -> list[Callable[[dict[str, Any]], bytes]]:
    def wrong_type(m: dict[str, Any]) -> bytes:
        where = rng.choice([p for p in paths(m) if p and p[0] not in ("jsonrpc",)] or [()])
        return frame(encoded(replace_at(m, where, rng.choice(WRONG_VALUES))))

    def drop_field(m: dict[str, Any]) -> bytes:
        where = rng.choice([p for p in paths(m) if p and isinstance(p[-1], str)])
        _get(m, where[:-1]).pop(where[-1])  # m is the storm's own copy
        return frame(encoded(m))

    def truncate(m: dict[str, Any]) -> bytes:
        body = encoded(m)
        return frame(body[: rng.randrange(1, len(body))])

    def deep(m: dict[str, Any]) -> bytes:
        params = nest(rng.choice([50, 900, 5000, 20000]), encoded(m.get("params")), rng)
        return frame(encoded({**m, "params": None}).replace(b'"params": null', b'"params": ' + params))

    def huge_number(m: dict[str, Any]) -> bytes:
        numbers = [p for p in paths(m) if p and isinstance(_get(m, p), int)] or [("id",)]
        return frame(encoded(replace_at(m, rng.choice(numbers), rng.choice([10**400, -(2**70), 2**53 + 1]))))

    def unknown_method(m: dict[str, Any]) -> bytes:
        method = rng.choice(
            ["$/nothing", "textDocument/unknown", "hermes/" + "z" * rng.randrange(1, 300), ""]
        )
        return frame(encoded({**m, "method": method}))

    def not_utf8(m: dict[str, Any]) -> bytes:
        body = bytearray(encoded(m))
        for _ in range(rng.randrange(1, 4)):
            body.insert(rng.randrange(len(body)), rng.choice([0xFF, 0xC3, 0x80, 0xED]))
        return frame(bytes(body))

    def odd_id(m: dict[str, Any]) -> bytes:
        return frame(encoded({**m, "id": rng.choice([None, [1], {"n": 1}, 1.5, True, "x" * 200])}))

    def bad_frame(m: dict[str, Any]) -> bytes:
        body = encoded(m)
        return rng.choice(
            [
                b"Content-Length: %d\r\n\r\n" % (len(body) + rng.randrange(1, 80)) + body,
                b"Content-Length: %d\r\n\r\n" % max(1, len(body) - rng.randrange(1, 20)) + body,
                b"Content-Length: %d\r\n" % len(body) + body,
                b"Content-Type: x\r\n\r\n" + body,
                b"Content-Length: many\r\n\r\n" + body,
                bytes(rng.randrange(256) for _ in range(rng.randrange(1, 60))) + frame(body),
            ]
        )

    return [wrong_type, drop_field, truncate, deep, huge_number, unknown_method, not_utf8, odd_id, bad_frame]


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def storm(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    kinds = mutations(rng)
    out = []
    for _ in range(count):
        message = copy.deepcopy(rng.choice(CORPUS))
        data = rng.choice(kinds)(message)
        if any(f'"method": "{m}"'.encode() in data for m in ENDING):
            continue
        out.append(data)
    return out


@pytest.fixture
def server(scripted: ScriptedServer) -> Iterator[RawServer]:
    raw = RawServer()
    raw.initialize({"endpoint": scripted.url, "completion": {"debounceMs": 0, "adaptiveDebounce": False}})
    yield raw
    raw.close()


def test_the_storm_is_reproducible():
    assert storm(SEED, 50) == storm(SEED, 50)
    assert len(storm(SEED, MESSAGES)) >= 2000


def test_after_2000_mutated_messages_the_server_answers_and_holds_the_right_text(
    server: RawServer, scripted: ScriptedServer
):
    scripted.script(default=Reply(text="pass"))
    text = "def health():\n    value = 1\n    return \n"
    server.send(
        frame(
            notification(
                "textDocument/didOpen",
                {"textDocument": {"uri": HEALTH_URI, "languageId": "python", "version": 1, "text": text}},
            )
        )
    )
    messages = storm(SEED, MESSAGES)
    for index, data in enumerate(messages):
        server.send(data)
        if index % 500 == 250:
            # A real edit in the middle of the storm: the server must keep it.
            version = 2 + index // 500
            change = {"range": span(1, 12, 1, 13), "text": str(version)}
            server.send(
                frame(
                    notification(
                        "textDocument/didChange",
                        {"textDocument": {"uri": HEALTH_URI, "version": version}, "contentChanges": [change]},
                    )
                )
            )
            text = text.replace(text.split("\n")[1], f"    value = {version}")
    assert "result" in server.ask(PROBE, PROBE_PARAMS)
    # Settings the storm may have mutated, back to what the health check needs.
    server.send(
        frame(
            notification(
                "workspace/didChangeConfiguration", {"settings": {"hermes": {"completion": {"maxLines": 16}}}}
            )
        )
    )
    scripted.reset_log()
    answer = server.ask(
        "textDocument/inlineCompletion",
        {"textDocument": {"uri": HEALTH_URI}, "position": position(2, 11), "context": {"triggerKind": 2}},
    )
    assert answer["result"]["items"][0]["insertText"] == "pass", answer
    (asked,) = [r for r in scripted.model_requests() if "health" in r.prompt]
    before, after = text.split("    return ")
    assert before + "    return <CURSOR>" + after in asked.prompt
    # However long the storm, pop-ups stay within what the two gates allow in a minute.
    pop_ups = server.notifications("window/showMessage")
    bound = MessageGate().per_minute + HermesLanguageServer().reply_gate.per_minute
    assert len(pop_ups) <= bound, [p["params"]["message"] for p in pop_ups]
    assert not any("internal error" in p["params"]["message"] for p in pop_ups)

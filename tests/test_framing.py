"""Malformed LSP frames over real stdio: each is skipped, and the next good message is answered.

The frame reader is also checked on its own, byte by byte, for the rule that must hold for
any split of the input into reads.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hermes_lsp.framing import Fault, FrameReader, stream_reader
from tests.support.raw import PROBE, PROBE_PARAMS, RawServer, frame, request


def probe_body(request_id: int) -> bytes:
    return json.dumps(request(request_id, PROBE, PROBE_PARAMS)).encode()


def with_length(declared: str, body: bytes, *, blank: bytes = b"\r\n") -> bytes:
    return b"Content-Length: " + declared.encode() + b"\r\n" + blank + body


# Each fault: a name and the bytes for it, given the body of a request it may carry.
FAULTS: dict[str, object] = {
    "no Content-Length": lambda b: b"Content-Type: application/vscode-jsonrpc\r\n\r\n" + b,
    "length too short": lambda b: with_length(str(len(b) - 5), b),
    "length too long": lambda b: with_length(str(len(b) + 60), b),
    "length too long by a few bytes": lambda b: with_length(str(len(b) + 3), b),
    "no blank line after the header": lambda b: with_length(str(len(b)), b, blank=b""),
    "length not a number": lambda b: with_length("twelve", b),
    "negative length": lambda b: with_length("-5", b),
    "zero length": lambda b: with_length("0", b""),
    "enormous length": lambda b: with_length("99999999999999", b),
    "garbage before a header": lambda b: b"\x00garbage\xff\r\nmore garbage" + frame(b"{not json"),
    "body is not JSON": lambda b: frame(b"{'jsonrpc': 2.0, id: 3"),
    "body is not UTF-8": lambda b: frame(b'{"jsonrpc": "2.0", "id": 9, "method": "\xff\xfe"}'),
    "body is a JSON array": lambda b: frame(b"[1, 2, 3]"),
    "body nested 100,000 deep": lambda b: frame(b"[" * 100_000 + b"]" * 100_000),
    "header line that never ends": lambda b: b"X-Junk: " + b"j" * 20_000 + b"\r\n",
    "two header blocks without body": lambda b: b"Content-Length: 10\r\n\r\nContent-Length: 10\r\n\r\n",
}


@pytest.fixture(scope="module")
def server() -> Iterator[RawServer]:
    raw = RawServer()
    raw.initialize()
    yield raw
    raw.close()


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_malformed_frame_is_skipped_and_the_next_request_answered(server: RawServer, fault: str):
    bad_id = server.next_id()
    server.send(FAULTS[fault](probe_body(bad_id)))  # type: ignore[operator]
    good_id = server.next_id()
    server.send(frame(probe_body(good_id)))
    answer = server.response(good_id)
    assert "result" in answer and "error" not in answer, answer


@pytest.mark.parametrize(
    "spelling",
    [
        b"content-length: %d\r\n\r\n",
        b"CONTENT-LENGTH: %d\r\n\r\n",
        b"Content-Length:%d\r\n\r\n",
        b"Content-Length :  %d  \r\n\r\n",
        b"Content-Length: %d\n\n",
        b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-length: %d\r\n\r\n",
    ],
)
def test_headers_are_read_as_the_specification_allows(server: RawServer, spelling: bytes):
    request_id = server.next_id()
    body = probe_body(request_id)
    server.send(spelling % len(body) + body)
    assert "result" in server.response(request_id)


def test_a_header_split_across_reads_is_put_together(server: RawServer):
    request_id = server.next_id()
    data = frame(probe_body(request_id))
    for cut in (3, 11, 17, 19, len(data) - 4):
        data, rest = data[:cut], data[cut:]
        server.send(data)
        time.sleep(0.05)  # let the server read the first part on its own
        data = rest
    server.send(data)
    assert "result" in server.response(request_id)


def test_skipped_frames_are_logged_not_shown(server: RawServer):
    server.send(with_length("twelve", b"{}"))
    request_id = server.next_id()
    server.send(frame(probe_body(request_id)))
    server.response(request_id)
    assert "skipped a malformed LSP frame (Content-Length is not a number" in server.log
    assert server.notifications("window/showMessage") == []


# -- the reader alone ---------------------------------------------------------------------


def read_all(data: bytes, cuts: list[int]) -> tuple[list[bytes], list[Fault]]:
    """Every body the reader finds in ``data`` delivered in pieces cut at ``cuts``."""
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True) if data[a:b]]
    faults: list[Fault] = []

    async def run() -> list[bytes]:
        queue = [*pieces, b""]

        async def read_some() -> bytes:
            return queue.pop(0)

        reader = FrameReader(read_some, faults.append)
        bodies = []
        while (body := await reader.next_body()) is not None:
            bodies.append(body)
        return bodies

    return asyncio.run(run()), faults


messages = st.lists(
    st.dictionaries(st.sampled_from(["id", "method", "text"]), st.text(max_size=30), max_size=3),
    min_size=1,
    max_size=4,
)


@given(messages=messages, data=st.data())
@settings(max_examples=150, deadline=None)
def test_well_formed_frames_come_out_whole_however_the_reads_split_them(messages, data):
    bodies = [json.dumps(m).encode() for m in messages]
    stream = b"".join(frame(b) for b in bodies)
    cuts = sorted(set(data.draw(st.lists(st.integers(1, max(1, len(stream) - 1)), max_size=8))))
    found, faults = read_all(stream, cuts)
    assert found == bodies and faults == []


@given(garbage=st.binary(max_size=60), message=st.dictionaries(st.just("id"), st.integers(), min_size=1))
@settings(max_examples=150, deadline=None)
def test_a_good_frame_after_any_garbage_line_is_found(garbage, message):
    body = json.dumps(message).encode()
    found, _ = read_all(garbage.replace(b"\n", b" ") + b"\r\n" + frame(body), [])
    assert found[-1:] == [body]


def test_a_pipe_is_read_by_the_event_loop_as_bytes_arrive_and_ends_when_closed():
    read_end, write_end = os.pipe()

    async def scenario() -> list[bytes]:
        with os.fdopen(read_end, "rb", buffering=0) as stream:
            before = set(threading.enumerate())
            read_some = stream_reader(stream)
            assert not set(threading.enumerate()) - before  # no reading thread for a pipe
            loop = asyncio.get_running_loop()
            loop.call_later(0.05, os.write, write_end, b"Content-Length: 2\r\n")
            loop.call_later(0.10, os.write, write_end, b"\r\n{}")
            loop.call_later(0.15, os.close, write_end)
            got = [await read_some()]
            while got[-1]:
                got.append(await read_some())
            return got

    got = asyncio.run(asyncio.wait_for(scenario(), 5))
    assert b"".join(got) == b"Content-Length: 2\r\n\r\n{}" and got[-1] == b"" and len(got) >= 3


def test_a_file_given_as_stdin_is_read_whole_too(tmp_path):
    path = tmp_path / "input"
    path.write_bytes(b"Content-Length: 2\r\n\r\n{}")

    async def scenario() -> bytes:
        with open(path, "rb") as stream:
            read_some = stream_reader(stream)
            data = b""
            while chunk := await read_some():
                data += chunk
            return data

    assert asyncio.run(asyncio.wait_for(scenario(), 5)) == b"Content-Length: 2\r\n\r\n{}"


def test_one_socket_for_both_ways_is_read_on_a_thread_and_replies_stay_blocking():
    ours, theirs = socket.socketpair()

    async def scenario() -> bytes:
        with ours.makefile("rwb", buffering=0) as stream:
            before = set(threading.enumerate())
            read_some = stream_reader(stream, output=stream)
            assert [t.name for t in set(threading.enumerate()) - before] == ["lsp-stdin"]
            assert os.get_blocking(ours.fileno())  # writes of replies still block, never half-done
            theirs.sendall(b"Content-Length: 2\r\n\r\n{}")
            return await read_some()

    try:
        assert asyncio.run(asyncio.wait_for(scenario(), 5)) == b"Content-Length: 2\r\n\r\n{}"
    finally:
        theirs.close()
        ours.close()

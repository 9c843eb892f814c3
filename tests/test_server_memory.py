"""Per-message state the server keeps must go when the message is handled."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from hermes_lsp.server import create_server


class _Sink(io.BytesIO):
    def write(self, data: Any) -> int:  # replies are not read here
        return len(data)


def _send(server: Any, message: dict[str, Any]) -> None:
    protocol = server.protocol
    protocol.handle_message(protocol.structure_message({"jsonrpc": "2.0", **message}))


async def test_handled_notifications_leave_nothing_behind() -> None:
    """pygls files each notification's future and never drops it; the server does."""
    server = create_server()
    server.protocol.set_writer(_Sink())
    _send(server, {"id": 1, "method": "initialize", "params": {"capabilities": {}, "rootUri": None}})
    uri = "file:///tmp/soak.py"
    item = {"uri": uri, "languageId": "python", "version": 1, "text": "x = 1\n"}
    _send(server, {"method": "textDocument/didOpen", "params": {"textDocument": item}})
    for version in range(2, 1002):
        change = {"range": {"start": {"line": 0, "character": 4}, "end": {"line": 0, "character": 5}}}
        _send(
            server,
            {
                "method": "textDocument/didChange",
                "params": {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [{**change, "text": str(version % 10)}],
                },
            },
        )
    await asyncio.sleep(0)
    assert server.workspace.get_text_document(uri).source == "x = 1\n"
    assert len(server.protocol._request_futures) == 0

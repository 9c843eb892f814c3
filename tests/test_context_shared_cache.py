"""Two editor windows on one repository: two real servers over stdio sharing one index
cache. Neither may lose its index to the other ("database is locked") while one of them
writes, and both must put a definition from another file into the model's prompt."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from pytest_lsp import LanguageClient

from hermes_lsp.context.store import Store, database_path
from hermes_lsp.scripted_server import Reply, ScriptedServer
from tests.support.lsp import initialize, inline, insert, open_document, server_config, until

PRICING = '''def apply_discount(price: float, percent: float) -> float:
    """The price after a percentage discount."""
    return price * (1 - percent / 100)
'''
CART = "from shop.pricing import apply_discount\n\n\ndef checkout(total):\n    return \n"
SIGNATURE = "def apply_discount(price: float, percent: float) -> float:"
FILLER = 300
"""Enough files that the first server is still indexing when the second one starts."""
HELD_S = 6.0
"""A write by another window that lasts longer than a lock wait used to."""


def _workspace(root: Path) -> Path:
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "pricing.py").write_text(PRICING)
    (root / "shop" / "cart.py").write_text(CART)
    (root / "lib").mkdir()
    for i in range(FILLER):
        body = "".join(
            f"def helper_{i}_{j}(x):\n    return helper_{(i + 1) % FILLER}_{j}(x)\n\n" for j in range(8)
        )
        (root / "lib" / f"m{i}.py").write_text(body)
    return root


class Window:
    """One editor window: its client and the text of cart.py it has typed."""

    def __init__(self, client: LanguageClient, uri: str) -> None:
        self.client = client
        self.uri = uri
        self.version = 1
        self.column = 11

    async def context_reaches_model(self, scripted: ScriptedServer) -> list[str]:
        """Type on and ask for completions until a prompt holds the definition from
        pricing.py (each keystroke makes a new prompt: none is answered from the cache)."""
        for _ in range(100):
            scripted.reset()
            scripted.script(Reply(text="apply_discount(total, 10)"))
            self.version += 1
            insert(self.client, self.uri, self.version, 4, self.column, "t")
            self.column += 1
            await inline(self.client, self.uri, 4, self.column)
            found = [r.prompt for r in scripted.model_requests() if SIGNATURE in r.prompt]
            if found:
                return found
            await asyncio.sleep(0.1)
        return []


async def test_two_servers_share_one_workspace_and_cache(tmp_path: Path, scripted: ScriptedServer) -> None:
    root = _workspace(tmp_path / "workspace")
    config = server_config(HERMES_LSP_CACHE_DIR=str(tmp_path / "cache"))
    # Another window is in the middle of a long write when these two start.
    database = database_path(str(root), str(tmp_path / "cache"))
    Store(database, str(root)).close()
    writer = sqlite3.connect(database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO meta VALUES ('busy', '1')")
    first = await config.start()
    second = await config.start()
    clients = (first, second)
    try:
        for client in clients:
            client.set_configuration({"hermes": {}})
        await initialize(first, {"endpoint": scripted.url}, root.as_uri())
        await initialize(second, {"endpoint": scripted.url}, root.as_uri())
        # Both have started indexing (and so are waiting to write) before the write ends.
        for client in clients:
            assert await until(lambda c=client: _progress_begun(c), 30)
        await asyncio.sleep(HELD_S)
        writer.execute("COMMIT")
        writer.close()
        # Both finish indexing (progress ends): the second after reading the first's work.
        for client in clients:
            assert await until(lambda c=client: _progress_ended(c), 60)
        said = [m.message for client in clients for m in client.messages]
        assert not [m for m in said if "locked" in m or "in memory" in m or "failed" in m], said
        # Then each window's completions carry a definition from another file.
        uri = (root / "shop" / "cart.py").as_uri()
        windows = [Window(client, uri) for client in clients]
        for client in clients:
            open_document(client, uri, CART)
        for window in windows:
            found = await window.context_reaches_model(scripted)
            assert found, "no prompt held the definition from shop/pricing.py"
            assert "shop/pricing.py" in found[0]
    finally:
        for client in clients:
            await client.shutdown_session()


def _progress_begun(client: LanguageClient) -> bool:
    return any(getattr(r, "kind", "") == "begin" for rs in client.progress_reports.values() for r in rs)


def _progress_ended(client: LanguageClient) -> bool:
    reports = [r for rs in client.progress_reports.values() for r in rs]
    begun = sum(1 for r in reports if getattr(r, "kind", "") == "begin")
    ended = sum(1 for r in reports if getattr(r, "kind", "") == "end")
    return begun > 0 and begun == ended

"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hermes_lsp.scripted_server import ScriptedServer

pytest_plugins = ["tests.support.llama"]


@pytest.fixture(scope="session", autouse=True)
def _index_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Servers and engines started by the tests keep their index cache out of the user's."""
    patch = pytest.MonkeyPatch()
    patch.setenv("HERMES_LSP_CACHE_DIR", str(tmp_path_factory.mktemp("index-cache")))
    yield
    patch.undo()


@pytest.fixture(scope="session")
def scripted_session() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server


@pytest.fixture
def scripted(scripted_session: ScriptedServer) -> Iterator[ScriptedServer]:
    """The scripted model server, with an empty script and request log for each test."""
    scripted_session.reset()
    yield scripted_session
    scripted_session.reset()

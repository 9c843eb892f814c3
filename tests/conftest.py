"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hermes_lsp.scripted_server import ScriptedServer

pytest_plugins = ["tests.support.llama"]


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

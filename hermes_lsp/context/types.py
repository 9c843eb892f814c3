"""The seam between the language server and the context engine.

The server only talks to a :class:`ContextEngine`. :class:`NullContext` gives no
repository context at all; ``hermes-lsp complete`` uses it when no ``--root`` is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol

import attrs
from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from hermes_lsp.context.syntax import Syntax

Purpose = Literal["completion", "refactor", "debug"]

# A progress callback: (message, percentage or None); a message of None ends the report.
ProgressCallback = Callable[[str | None, int | None], None]


def estimate_tokens(text: str) -> int:
    """A cheap token estimate (about four characters a token for code)."""
    return (len(text) + 3) // 4


@attrs.frozen
class Piece:
    """One piece of context, as ``hermes-lsp context --json`` prints it."""

    kind: str
    """What it is: ``scope``, ``import``, ``definition``, ``snippet``, ``map``..."""
    path: str
    """Path relative to the workspace root (``/`` separators)."""
    start_line: int
    """First line, 1-based."""
    end_line: int
    """Last line, 1-based and inclusive."""
    text: str
    tokens: int


@attrs.frozen
class Symbol:
    """A definition found in the workspace."""

    name: str
    """Qualified name, ``Class.method`` for members."""
    kind: str
    path: str
    start_line: int
    end_line: int


class ContextEngine(Protocol):
    """What the server needs from the context engine."""

    syntax: Syntax
    """Trees and definitions of any text, open documents' live trees first."""

    async def start(self, root: str | None, progress: ProgressCallback) -> None:
        """Begin indexing ``root`` in the background; returns quickly."""

    async def stop(self) -> None:
        """Stop background work and close caches."""

    def open_document(self, uri: str, text: str, language_id: str, version: int) -> None: ...

    def change_document(
        self,
        uri: str,
        changes: Sequence[types.TextDocumentContentChangeEvent],
        version: int,
        codec: PositionCodec,
        text_after: str,
    ) -> None:
        """Apply edits (client ranges, decoded with ``codec``) and re-parse incrementally."""

    def close_document(self, uri: str) -> None: ...

    def files_changed(self, paths: Sequence[str]) -> None:
        """Files changed on disk (saved, or from ``workspace/didChangeWatchedFiles``)."""

    def context(self, uri: str, text: str, offset: int, budget: int, purpose: Purpose) -> list[Piece]:
        """Ordered pieces (stable first) under ``budget`` tokens, for a cursor at ``offset``."""

    def syntax_at(self, uri: str, text: str, offset: int) -> list[str]:
        """Syntax node types around ``offset``, innermost first (empty when unknown)."""

    def find_symbols(self, name: str, path: str | None = None) -> list[Symbol]: ...

    def find_references(self, name: str) -> list[Piece]: ...

    def list_symbols(self, path: str) -> list[Symbol]: ...


class NullContext:
    """No repository context: the prompt holds the current document only."""

    def __init__(self) -> None:
        self.syntax = Syntax()

    async def start(self, root: str | None, progress: ProgressCallback) -> None:
        return None

    async def stop(self) -> None:
        return None

    def open_document(self, uri: str, text: str, language_id: str, version: int) -> None:
        return None

    def change_document(
        self,
        uri: str,
        changes: Sequence[types.TextDocumentContentChangeEvent],
        version: int,
        codec: PositionCodec,
        text_after: str,
    ) -> None:
        return None

    def close_document(self, uri: str) -> None:
        return None

    def files_changed(self, paths: Sequence[str]) -> None:
        return None

    def context(self, uri: str, text: str, offset: int, budget: int, purpose: Purpose) -> list[Piece]:
        return []

    def syntax_at(self, uri: str, text: str, offset: int) -> list[str]:
        return []

    def find_symbols(self, name: str, path: str | None = None) -> list[Symbol]:
        return []

    def find_references(self, name: str) -> list[Piece]:
        return []

    def list_symbols(self, path: str) -> list[Symbol]:
        return []

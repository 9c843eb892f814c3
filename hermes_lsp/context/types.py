"""The seam between the language server and the context engine.

The server only talks to a :class:`ContextEngine`. :class:`NullContext` gives no
repository context at all; ``hermes-lsp complete`` uses it when no ``--root`` is given.
The value types both sides exchange live in :mod:`hermes_lsp.context.values` and are
re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from hermes_lsp.context.syntax import Syntax
from hermes_lsp.context.values import Piece, ProgressCallback, Purpose, Symbol, estimate_tokens
from hermes_lsp.text import Changed

__all__ = [
    "ContextEngine",
    "NullContext",
    "Piece",
    "ProgressCallback",
    "Purpose",
    "Symbol",
    "estimate_tokens",
]


class ContextEngine(Protocol):
    """What the server needs from the context engine."""

    syntax: Syntax
    """Trees and definitions of any text, open documents' live trees first."""

    async def start(self, root: str | None, progress: ProgressCallback) -> None:
        """Begin indexing ``root`` in the background; returns quickly."""

    async def stop(self) -> None:
        """Stop background work and close caches."""

    def open_document(self, uri: str, text: str, language_id: str, version: int) -> None: ...

    def change_document(self, uri: str, changed: Changed, version: int) -> None:
        """Take the document's text after a change (its splices move the tree's positions)."""

    def close_document(self, uri: str) -> None: ...

    def files_changed(self, paths: Sequence[str]) -> None:
        """Files changed on disk (saved, or from ``workspace/didChangeWatchedFiles``)."""

    def context(self, uri: str, text: str, offset: int, budget: int, purpose: Purpose) -> list[Piece]:
        """Ordered pieces (stable first) under ``budget`` tokens, for a cursor at ``offset``."""

    def syntax_at(self, uri: str, text: str, offset: int) -> list[str]:
        """Syntax node types around ``offset``, innermost first (empty when unknown)."""

    def exclusion(self, uri: str) -> str | None:
        """Why nothing of this document may reach the model (ignored), or None."""

    def shares(self, path: str) -> bool:
        """Whether a piece from ``path`` (as pieces name it) may still reach the model: a piece
        shown earlier is shown again only while the ignore rules and settings allow it."""

    def find_symbols(self, name: str, path: str | None = None) -> list[Symbol]: ...

    def find_references(self, name: str, limit: int = 200) -> list[Piece]:
        """Lines that use ``name`` across the workspace, at most ``limit``."""

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

    def change_document(self, uri: str, changed: Changed, version: int) -> None:
        return None

    def close_document(self, uri: str) -> None:
        return None

    def files_changed(self, paths: Sequence[str]) -> None:
        return None

    def context(self, uri: str, text: str, offset: int, budget: int, purpose: Purpose) -> list[Piece]:
        return []

    def defines(self, name: str) -> bool:
        return False

    def syntax_at(self, uri: str, text: str, offset: int) -> list[str]:
        return []

    def exclusion(self, uri: str) -> str | None:
        return None

    def shares(self, path: str) -> bool:
        return True

    def find_symbols(self, name: str, path: str | None = None) -> list[Symbol]:
        return []

    def find_references(self, name: str, limit: int = 200) -> list[Piece]:
        return []

    def list_symbols(self, path: str) -> list[Symbol]:
        return []

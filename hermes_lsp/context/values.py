"""Value types shared by the context engine and the code that builds prompts from it.

Nothing here imports the LSP stack: prompt code (``model/hermes.py``) and benchmarks use
these without pulling in lsprotocol or pygls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import attrs

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

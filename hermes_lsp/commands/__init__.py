"""Subcommands of ``hermes-lsp`` that are not the server itself."""

from __future__ import annotations

import sys


def read_buffer(path: str, from_stdin: bool) -> str | None:
    """The text of ``path`` (or the unsaved buffer on stdin); None after saying why not."""
    try:
        if from_stdin:
            return sys.stdin.read()
        # Undecodable bytes are replaced: a stray Latin-1 byte must not stop a completion.
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError as exc:
        print(f"hermes-lsp: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return None

"""Open documents: the text as the editor has it and one syntax tree, kept current by edits.

Every ``didChange`` event is applied to our own copy of the text and to the tree
(``Tree.edit``), then the tree is re-parsed incrementally, which costs a few
milliseconds even in a long file. If the result disagrees with the server's copy of the
document, that copy wins and the tree is parsed from scratch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import tree_sitter
from lsprotocol import types

from hermes_lsp.context.languages import LanguageSpec, parser
from hermes_lsp.context.tags import last_row
from hermes_lsp.text import offset_at

log = logging.getLogger(__name__)


def _skip_lines(text: str, start: int, count: int) -> int:
    """Offset of the line ``count`` lines below the line starting at ``start`` (clamped)."""
    for _ in range(count):
        newline = text.find("\n", start)
        if newline == -1:
            return len(text)
        start = newline + 1
    return start


def _locate(text: str, line_start: int, character: int, encoding: str) -> int:
    end = text.find("\n", line_start)
    line = text[line_start:] if end == -1 else text[line_start:end]
    return line_start + offset_at(line, 0, character, encoding).offset


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


class Document:
    """One open document and its tree (no tree for a language we cannot parse)."""

    def __init__(self, uri: str, path: str, text: str, language: LanguageSpec | None, version: int) -> None:
        self.uri = uri
        self.path = path
        """Path relative to the workspace root (or the absolute path outside it)."""
        self.language = language
        self.version = version
        self.text = text
        self._tree: tree_sitter.Tree | None = None
        self._stale = False
        """Edits were applied to ``_tree`` (positions shifted) but it was not re-parsed yet."""
        self.full_parses = 0
        self.edited = False
        """Changed since it was opened (the file on disk may differ)."""
        self._lines: tuple[int, list[str]] | None = None
        self._parse(None)

    def lines(self) -> list[str]:
        """The text split at newlines (cached for this version; do not modify)."""
        if self._lines is None or self._lines[0] != id(self.text):
            self._lines = (id(self.text), self.text.split("\n"))
        return self._lines[1]

    @property
    def tree(self) -> tree_sitter.Tree | None:
        """The syntax tree of the current text (re-parsed now if edits are pending)."""
        self.ensure_parsed()
        return self._tree

    def ensure_parsed(self) -> None:
        """Re-parse incrementally if edits arrived since the last parse."""
        if self._stale:
            self._stale = False
            self._parse(self._tree)

    def _parse(self, old: tree_sitter.Tree | None) -> None:
        if self.language is None:
            return
        if old is None:
            self.full_parses += 1
        source = self.text.encode("utf-8", "surrogatepass")
        ts_parser = parser(self.language.name)
        self._tree = ts_parser.parse(source) if old is None else ts_parser.parse(source, old)

    def replace(self, text: str, version: int) -> None:
        self.text, self.version = text, version
        self._stale = False
        self._parse(None)

    def apply(
        self,
        changes: Sequence[types.TextDocumentContentChangeEvent],
        version: int,
        encoding: str,
        text_after: str | None = None,
    ) -> None:
        """Apply LSP change events (positions in ``encoding`` units) and re-parse."""
        self.version = version
        self.edited = True
        tree = self._tree
        for change in changes:
            if not isinstance(change, types.TextDocumentContentChangePartial):
                self.text, tree = change.text, None  # the whole document: nothing to reuse
                continue
            # Lines come from the client, so rows need no counting; only the two line
            # starts are searched for (the end from the start: usually the same line).
            text, rng = self.text, change.range
            start_line = _skip_lines(text, 0, rng.start.line)
            end_line = _skip_lines(text, start_line, max(0, rng.end.line - rng.start.line))
            s = _locate(text, start_line, rng.start.character, encoding)
            e = max(s, _locate(text, end_line, rng.end.character, encoding))
            if tree is not None:
                start_row = text.count("\n", 0, start_line)
                end_row = start_row + text.count("\n", start_line, end_line)
                line_bytes = _utf8_len(text[:start_line])
                start_point = (start_row, _utf8_len(text[start_line:s]))
                start_byte = line_bytes + start_point[1]
                old_end_point = (end_row, _utf8_len(text[end_line:e]))
                old_end_byte = start_byte + _utf8_len(text[s:e])
                new_bytes = change.text.encode("utf-8", "surrogatepass")
                newlines = change.text.count("\n")
                if newlines:
                    tail = change.text[change.text.rfind("\n") + 1 :]
                    new_end_point = (start_row + newlines, _utf8_len(tail))
                else:
                    new_end_point = (start_row, start_point[1] + len(new_bytes))
                tree.edit(
                    start_byte,
                    old_end_byte,
                    start_byte + len(new_bytes),
                    start_point,
                    old_end_point,
                    new_end_point,
                )
            self.text = self.text[:s] + change.text + self.text[e:]
        if text_after is not None and text_after != self.text:
            log.debug("%s: edits disagree with the client's document; parsing it whole", self.uri)
            self.text, tree = text_after, None
        if tree is None:
            self._stale = False
            self._parse(None)
        else:
            # The re-parse waits until someone needs the tree's structure: keystrokes in a
            # burst share one parse, and the edited tree already has the right positions.
            self._tree, self._stale = tree, True

    def node_at(self, offset: int) -> tree_sitter.Node | None:
        """The node at ``offset``, from the tree as of the last parse with later edits applied.

        Positions are exact; the structure may lag a few keystrokes behind, which is all
        the completion path needs (and spares it a parse per keystroke).
        """
        if self._tree is None:
            return None
        # The character before the cursor says where the cursor is (at the end of a block,
        # the cursor's own position belongs to nothing but the root).
        before = self.text[:offset].rstrip()
        byte = len(before.encode("utf-8", "surrogatepass"))
        return self._tree.root_node.descendant_for_byte_range(max(0, byte - 1), byte)

    def import_spans(self) -> list[tuple[int, int]]:
        """1-based inclusive line spans of the top-level import statements."""
        # Rows only: the edited tree (see node_at) is good enough and costs no parse.
        if self._tree is None or self.language is None or not self.language.imports:
            return []
        kinds = self.language.imports
        return [
            (child.start_point.row + 1, last_row(child) + 1)
            for child in self._tree.root_node.named_children
            if child.type in kinds
        ]

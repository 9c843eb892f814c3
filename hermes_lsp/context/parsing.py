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


def _point(text: str, offset: int) -> tuple[int, tuple[int, int]]:
    """(byte offset, (row, byte column)) of a code-point offset."""
    line_start = text.rfind("\n", 0, offset) + 1
    row = text.count("\n", 0, line_start)
    column = len(text[line_start:offset].encode("utf-8", "surrogatepass"))
    prefix_bytes = len(text[:line_start].encode("utf-8", "surrogatepass")) + column
    return prefix_bytes, (row, column)


class Document:
    """One open document and its tree (no tree for a language we cannot parse)."""

    def __init__(self, uri: str, path: str, text: str, language: LanguageSpec | None, version: int) -> None:
        self.uri = uri
        self.path = path
        """Path relative to the workspace root (or the absolute path outside it)."""
        self.language = language
        self.version = version
        self.text = text
        self.tree: tree_sitter.Tree | None = None
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

    def _parse(self, old: tree_sitter.Tree | None) -> None:
        if self.language is None:
            return
        if old is None:
            self.full_parses += 1
        source = self.text.encode("utf-8", "surrogatepass")
        ts_parser = parser(self.language.name)
        self.tree = ts_parser.parse(source) if old is None else ts_parser.parse(source, old)

    def replace(self, text: str, version: int) -> None:
        self.text, self.version = text, version
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
        tree = self.tree
        for change in changes:
            if not isinstance(change, types.TextDocumentContentChangePartial):
                self.text, tree = change.text, None  # the whole document: nothing to reuse
                continue
            start = offset_at(self.text, change.range.start.line, change.range.start.character, encoding)
            end = offset_at(self.text, change.range.end.line, change.range.end.character, encoding)
            s, e = start.offset, max(start.offset, end.offset)
            if tree is not None:
                start_byte, start_point = _point(self.text, s)
                old_end_byte, old_end_point = _point(self.text, e)
                new_bytes = change.text.encode("utf-8", "surrogatepass")
                newlines = change.text.count("\n")
                if newlines:
                    tail = change.text[change.text.rfind("\n") + 1 :]
                    new_end_point = (start_point[0] + newlines, len(tail.encode("utf-8", "surrogatepass")))
                else:
                    new_end_point = (start_point[0], start_point[1] + len(new_bytes))
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
        self._parse(tree)

    def node_at(self, offset: int) -> tree_sitter.Node | None:
        if self.tree is None:
            return None
        # The character before the cursor says where the cursor is (at the end of a block,
        # the cursor's own position belongs to nothing but the root).
        before = self.text[:offset].rstrip()
        byte = len(before.encode("utf-8", "surrogatepass"))
        return self.tree.root_node.descendant_for_byte_range(max(0, byte - 1), byte)

    def import_spans(self) -> list[tuple[int, int]]:
        """1-based inclusive line spans of the top-level import statements."""
        if self.tree is None or self.language is None or not self.language.imports:
            return []
        kinds = self.language.imports
        return [
            (child.start_point.row + 1, last_row(child) + 1)
            for child in self.tree.root_node.named_children
            if child.type in kinds
        ]

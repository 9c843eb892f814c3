"""Open documents: the text as the editor has it and one syntax tree, kept current by edits.

The server applies each ``didChange`` notification once (:func:`hermes_lsp.text.apply_changes`)
and hands the result here: the text is the very same string the rest of the server reads,
and the splices move the tree's positions (``Tree.edit``) before an incremental re-parse,
which costs a few milliseconds even in a long file. Documents too large to parse on every
pause in typing are kept as plain text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import tree_sitter

from hermes_lsp.context.languages import LanguageSpec, parser
from hermes_lsp.context.tags import last_row
from hermes_lsp.text import Changed, Splice, apply_changes, lf_breaks, line_number, line_start

if TYPE_CHECKING:
    from lsprotocol import types


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


PARSE_SLICE_BYTES = 16384
"""A larger text is handed to tree-sitter a slice at a time (see :func:`parse`)."""


def parse(language: str, text: str, old: tree_sitter.Tree | None = None) -> tree_sitter.Tree:
    """The tree of ``text``, incrementally from ``old`` (already edited) when given.

    Tree-sitter counts rows at ``\n`` only; it is given :func:`lf_breaks`'s view of the
    text (same bytes, each lone ``\r`` a ``\n``), so that its rows are the protocol's lines
    and a file with classic-Mac line endings parses line by line.
    """
    source = lf_breaks(text).encode("utf-8", "surrogatepass")

    def read(offset: int, _point: tree_sitter.Point) -> bytes:
        return source[offset : offset + PARSE_SLICE_BYTES]

    # Tree-sitter holds the GIL through the whole parse of one bytes object (0.5 s for a
    # 1 MB file under load). Read in slices, it comes back to Python between them, where
    # a thread parsing a large text lets the event loop run.
    given: bytes | Callable[[int, tree_sitter.Point], bytes] = source
    if len(source) > PARSE_SLICE_BYTES:
        given = read
    ts_parser = parser(language)
    return ts_parser.parse(given) if old is None else ts_parser.parse(given, old)


def _point(text: str, offset: int) -> tuple[int, int]:
    """Tree-sitter's (row, byte column) of a code-point offset in :func:`parse`'s view of ``text``."""
    return line_number(text, offset), _utf8_len(text[line_start(text, offset) : offset])


def edit_tree(tree: tree_sitter.Tree, text: str, splice: Splice) -> None:
    """Tell ``tree`` about one splice of ``text`` (positions shift; no parse yet)."""
    start, inserted = splice.start, splice.text
    if start and text[start - 1] == "\r":
        # Whether this \r ends a line on its own depends on the character after it, which
        # the splice changes: it is part of the edit.
        start, inserted = start - 1, "\r" + inserted
    start_point = _point(text, start)
    start_byte = _utf8_len(text[:start])
    old_end_point = _point(text, splice.end)
    old_end_byte = start_byte + _utf8_len(text[start : splice.end])
    new_bytes = _utf8_len(inserted)
    # The inserted text's own line endings, a final \r judged by the character after it.
    seen = lf_breaks(inserted + text[splice.end : splice.end + 1])[: len(inserted)]
    newlines = seen.count("\n")
    if newlines:
        tail = seen[seen.rfind("\n") + 1 :]
        new_end_point = (start_point[0] + newlines, _utf8_len(tail))
    else:
        new_end_point = (start_point[0], start_point[1] + new_bytes)
    tree.edit(start_byte, old_end_byte, start_byte + new_bytes, start_point, old_end_point, new_end_point)


class Document:
    """One open document and its tree (none for a language we cannot parse or a huge text)."""

    def __init__(
        self,
        uri: str,
        path: str,
        text: str,
        language: LanguageSpec | None,
        version: int,
        *,
        oversized: bool = False,
        parse: bool = True,
    ) -> None:
        self.uri = uri
        self.path = path
        """Path relative to the workspace root (or the absolute path outside it)."""
        self.language = language
        self.version = version
        self._text = text
        self.oversized = oversized
        """Too large to parse or tag on every pause in typing: kept as plain text."""
        self._tree: tree_sitter.Tree | None = None
        self._stale = False
        """Edits were applied to ``_tree`` (positions shifted) but it was not re-parsed yet."""
        self.full_parses = 0
        self.edited = False
        """Changed since it was opened (the file on disk may differ)."""
        self._lines: list[str] | None = None
        if parse:
            self._parse(None)

    @property
    def text(self) -> str:
        return self._text

    @text.setter
    def text(self, text: str) -> None:
        # Everything derived from the text is dropped with it: nothing can outlive a change.
        self._text = text
        self._lines = None

    def lines(self) -> list[str]:
        """The text split into the protocol's lines, a ``\r\n``'s ``\r`` kept (computed once
        per text; do not modify)."""
        if self._lines is None:
            self._lines = lf_breaks(self._text).split("\n")
        return self._lines

    @property
    def tree(self) -> tree_sitter.Tree | None:
        """The syntax tree of the current text (re-parsed now if edits are pending)."""
        self.ensure_parsed()
        return self._tree

    def adopt(self, tree: tree_sitter.Tree, text: str) -> bool:
        """Take a tree parsed elsewhere from ``text``; False if the text has changed since."""
        if text is not self.text or self.oversized:
            return False
        self._tree, self._stale = tree, False
        self.full_parses += 1
        return True

    def snapshot(self) -> tuple[str, tree_sitter.Tree | None, bool]:
        """The text, a copy of the tree that another thread may use, and whether that tree
        still needs a re-parse to match the text (edits were applied since the last one)."""
        tree = self._tree.copy() if self._tree is not None else None
        return self.text, tree, self._stale

    def ensure_parsed(self) -> None:
        """Re-parse incrementally if edits arrived since the last parse."""
        if self._stale:
            self._stale = False
            self._parse(self._tree)

    def _parse(self, old: tree_sitter.Tree | None) -> None:
        if self.oversized or self.language is None:
            self._tree = None
            return
        if old is None:
            self.full_parses += 1
        self._tree = parse(self.language.name, self.text, old)

    def replace(self, text: str, version: int) -> None:
        self.text, self.version = text, version
        self._stale = False
        self._parse(None)

    def set_oversized(self, oversized: bool) -> None:
        """Drop the tree (the document grew too large) or build it again (it shrank)."""
        if oversized != self.oversized:
            self.oversized, self._stale = oversized, False
            self._parse(None)

    def apply(
        self, changes: Sequence[types.TextDocumentContentChangeEvent], version: int, encoding: str
    ) -> None:
        """Apply LSP change events (positions in ``encoding`` units); see :meth:`update`."""
        self.update(apply_changes(self.text, changes, encoding), version)

    def update(self, changed: Changed, version: int) -> None:
        """Take the text after a change, moving the tree's positions by its splices.

        The tree is re-parsed later, when someone needs its structure: keystrokes in a
        burst share one parse, and the edited tree already has the right positions.
        """
        self.version = version
        self.edited = True
        tree = self._tree
        if tree is not None:
            text = self.text
            for splice in changed.splices:
                edit_tree(tree, text, splice)
                if len(changed.splices) > 1:
                    text = text[: splice.start] + splice.text + text[splice.end :]
        self.text = changed.text
        if tree is not None:
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
        text = self.text
        while offset > 0 and text[offset - 1].isspace():
            offset -= 1
        byte = _utf8_len(text[:offset])
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

"""One syntax service for the whole server: the tree and the definitions of any text.

The text of an open document is served from the context engine's live tree, which
``didChange`` keeps current by incremental re-parses: looking up its definitions (to find
the function around the cursor, or the symbol an edit replaces) costs no parse. Any other
text (a file read from disk, a copy with the model's edits applied) is parsed once and
kept among the last few; a text derived from a known one by an edit is re-parsed
incrementally from the known tree.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import tree_sitter

from hermes_lsp.context import languages, tags
from hermes_lsp.context.parsing import Document, edit_tree, parse
from hermes_lsp.text import Splice, common_ends, lf_breaks

# Trees of texts that are not open documents (about 4 MB each for a 6,000-line file).
RECENT_TREES = 4

THREAD_CHARS = 64 * 1024
"""Definitions of a longer text are looked up in a worker thread (a parse and a tags query
over a 1 MB file take hundreds of milliseconds)."""


class _Recent:
    """The last few results of an expensive function of a text.

    Editors ask for code actions on every cursor move, and a resolve looks up the same
    text again. Keys compare by value; a string's hash is cached by Python, so a hit
    costs one comparison of equal texts. The event loop and the edit tools' worker thread
    share it: the lock guards the entries, never a computation.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self.entries:
                self.entries.move_to_end(key)
                return self.entries[key]
        value = compute()
        self.put(key, value)
        return value

    def put(self, key: tuple[str, str], value: Any) -> None:
        with self._lock:
            self.entries[key] = value
            self.entries.move_to_end(key)
            if len(self.entries) > self.size:
                self.entries.popitem(last=False)


class Syntax:
    """Trees and definitions, from open documents first."""

    def __init__(self, documents: Mapping[str, Document] | None = None, size: int = RECENT_TREES) -> None:
        self._documents: Mapping[str, Document] = documents if documents is not None else {}
        """The open documents by URI (the context engine's, shared, never modified here)."""
        self._trees = _Recent(size)
        self._definitions = _Recent(size)

    def detached(self) -> Syntax:
        """The same recent trees and definitions, without the open documents: what a worker
        thread may use (a live tree is edited in place by the next keystroke)."""
        view = Syntax({}, self._trees.size)
        view._trees, view._definitions = self._trees, self._definitions
        return view

    def pin(self, language: str, text: str) -> None:
        """Put a copy of the live tree of ``text`` (an open document's) among the recent
        trees, where :meth:`detached` views find it; call it on the event loop."""
        document = self._live(language, text)
        if document is not None and document.tree is not None:
            self._trees.put((language, text), document.tree.copy())

    async def definitions_off_loop(self, rel: str, text: str) -> list[tags.Definition]:
        """:meth:`definitions`, in a worker thread when ``text`` is long; call it on the
        event loop (an open document's live tree goes along as a copy)."""
        spec = languages.language_for_path(rel)
        if spec is None or len(text) <= THREAD_CHARS:
            return self.definitions(rel, text)
        self.pin(spec.name, text)
        import asyncio  # here: the command line's index never comes this way

        return await asyncio.to_thread(self.detached().definitions, rel, text)

    def _live(self, language: str, text: str) -> Document | None:
        """The open document whose current text is ``text``, if any."""
        for document in self._documents.values():
            if document.language is None or document.language.name != language:
                continue
            if document.text is text or (len(document.text) == len(text) and document.text == text):
                return document
        return None

    def tree(self, language: str, text: str) -> tree_sitter.Tree:
        """The syntax tree of ``text`` (shared with other callers: do not edit it)."""
        document = self._live(language, text)
        if document is not None and document.tree is not None:
            return document.tree
        return self._trees.get((language, text), lambda: parse(language, text))

    def reparse(self, language: str, old: str, new: str) -> tree_sitter.Tree:
        """The tree of ``new``, re-parsed incrementally from the tree of ``old``.

        An edit touches one region of a file: telling tree-sitter which one lets it reuse
        the rest of the old tree (about 3 ms instead of 29 ms on a 6,000-line file).
        """

        def compute() -> tree_sitter.Tree:
            prefix, suffix = common_ends(old, new)
            tree = self.tree(language, old).copy()  # the shared tree stays as it was
            edit_tree(tree, old, Splice(prefix, len(old) - suffix, new[prefix : len(new) - suffix]))
            return parse(language, new, tree)

        return self._trees.get((language, new), compute)

    def definitions(self, rel: str, text: str) -> list[tags.Definition]:
        """The definitions in ``text`` of the file at ``rel`` (empty for unknown languages)."""
        spec = languages.language_for_path(rel)
        if spec is None:
            return []
        name = spec.name
        return self._definitions.get(
            (name, text), lambda: tags.extract(name, self.tree(name, text), lf_breaks(text)).definitions
        )

"""The repository context engine the language server talks to (:class:`WorkspaceContext`).

It keeps one incrementally parsed tree per open document, an :class:`~.index.Index` of
the workspace built in the background (worker processes, ``$/progress``), and answers
:meth:`WorkspaceContext.context` on the event loop in a few milliseconds from the index's
database and its cache of recent lookups. A cache from an earlier run is usable at once;
a new one fills nearest the open files first (they and what they import are scanned
before anything else), so context is there within a second while the rest indexes.
Index writes happen on one background thread, in order; the event loop only reads.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import attrs
import tree_sitter

from hermes_lsp.config import IndexSettings, LimitSettings
from hermes_lsp.context import retrieve, tags
from hermes_lsp.context.index import Index, IndexReport
from hermes_lsp.context.languages import language_for, language_for_path
from hermes_lsp.context.lookup import get_many
from hermes_lsp.context.modules import import_tokens
from hermes_lsp.context.neighbourhood import FileGraph
from hermes_lsp.context.parsing import Document, parse
from hermes_lsp.context.store import Store, database_path
from hermes_lsp.context.syntax import Syntax
from hermes_lsp.context.types import Piece, ProgressCallback, Purpose, Symbol, estimate_tokens
from hermes_lsp.context.walk import IGNORE_FILES, Scanned, contained, is_ignored
from hermes_lsp.text import Changed, lf_breaks
from hermes_lsp.uris import document_key, relative, to_path

if TYPE_CHECKING:
    import asyncio

log = logging.getLogger(__name__)

WARM_CHARS = 200_000
"""How much of an opened document is read for the names to look up ahead of time."""
WARM_FILES = 4
"""Files (the document and what it imports first) whose edges in the reference graph are
read when a document opens."""
RECENT_DOCUMENTS = 8
"""How many recently used documents feed snippets."""
PARSE_AFTER_S = 0.04
"""A pause this long in typing brings an edited document's tree up to date."""
IDLE_REFRESH_S = 1.5
"""After this long without typing, an edited document's definitions go into the index."""
MAX_REFERENCES = 200
INLINE_CHARS = 65536
"""Documents up to this size are cut into windows and tagged on the event loop (a few ms);
larger ones in a background thread, so that no one document stalls the loop."""

# Node types that open a scope worth showing as a header (the root is never one).
SCOPE_TYPES = frozenset(
    {
        "class_definition",
        "function_definition",
        "decorated_definition",
        "function_declaration",
        "method_definition",
        "class_declaration",
        "method_declaration",
        "interface_declaration",
        "function_item",
        "impl_item",
        "trait_item",
        "mod_item",
        "class_specifier",
        "struct_specifier",
        "namespace_definition",
        "constructor_declaration",
        "namespace_declaration",
        "method",
        "singleton_method",
        "class",
        "module",
        "generator_function_declaration",
        "internal_module",
        "struct_item",
        "enum_item",
        "record_declaration",
        "struct_declaration",
        "trait_declaration",
    }
)


@attrs.frozen
class Admission:
    """What of one document may reach the model."""

    shareable: bool
    """Its content may be context for other documents (snippets, definitions, references)."""
    excluded: str | None = None
    """Why nothing of it may reach the model, not even a completion in it (None: it may)."""


class WorkspaceContext:
    """Tree-sitter context engine: open documents, workspace index, retrieval."""

    def __init__(
        self,
        settings: IndexSettings | Callable[[], IndexSettings] | None = None,
        cache_dir: str | None = None,
        *,
        workers: int | None = None,
        on_problem: Callable[[str], None] | None = None,
        limits: Callable[[], LimitSettings] | None = None,
        lookups_while_building: bool = True,
    ) -> None:
        # A callable reads the server's live settings (they change after initialize).
        self._settings = settings or IndexSettings()
        self._limits = limits or LimitSettings
        self.cache_dir = cache_dir
        self.workers = workers
        self.lookups_while_building = lookups_while_building
        """False for a command that builds the index and only then asks it (see :class:`Index`)."""
        self.on_problem = on_problem
        """Told (once per problem) what the user should know: a rebuilt cache, unreadable folders."""
        self.root: str | None = None
        self.index: Index | None = None
        self.report: IndexReport | None = None
        self.documents: OrderedDict[str, Document] = OrderedDict()
        self.syntax = Syntax(self.documents)
        """Trees and definitions for everyone, from these documents' live trees first."""
        self._windows: dict[str, tuple[int, list[retrieve.Window]]] = {}
        self._said: set[str] = set()
        self._writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="hermes-index")
        self._documents_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="hermes-documents")
        """Windows and tags of large open documents (the index writer may be busy indexing)."""
        # Lookups ahead of the first completion in a newly opened file (reads only).
        self._warmer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="hermes-warm")
        self._cancelled = threading.Event()
        self._build: concurrent.futures.Future[IndexReport | None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # set by start()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._parse_timers: dict[str, asyncio.TimerHandle] = {}
        self._scratch: Document | None = None
        self._graph: FileGraph | None = None
        self._looking_ahead: concurrent.futures.Future[None] | None = None
        self._admissions: dict[str, tuple[tuple[object, ...], Admission]] = {}
        self._ignore_generation = 0
        """Bumped when an ignore file changes: cached admissions are decided again."""
        self._shared: tuple[tuple[object, ...], dict[str, bool]] = ((), {})
        self._hot: tuple[tuple[str, ...], frozenset[str]] = ((), frozenset())
        """Open files and the module tokens of their imports: indexed first (read by the
        index thread, replaced whole by the event loop)."""

    @property
    def settings(self) -> IndexSettings:
        return self._settings() if callable(self._settings) else self._settings

    # -- life cycle ------------------------------------------------------------------------

    async def start(self, root: str | None, progress: ProgressCallback) -> None:
        """Start indexing ``root`` in the background and return at once."""
        import asyncio  # here: `hermes-lsp index` has no event loop, and asyncio costs 25 ms to load

        self._loop = asyncio.get_running_loop()
        if root is not None:
            self.root = os.path.abspath(root)  # ignore rules apply even without an index
        if self.root is None or not self.settings.enable:
            return  # open documents only: snippets and their own definitions
        self._build = self._writer.submit(self._open_and_refresh, progress)

    def start_sync(self, root: str, progress: ProgressCallback | None = None) -> IndexReport | None:
        """Index ``root`` now, in this thread (the command line and benchmarks)."""
        self.root = os.path.abspath(root)
        return self._open_and_refresh(progress or (lambda message, percent: None))

    def _open_and_refresh(self, progress: ProgressCallback) -> IndexReport | None:
        assert self.root is not None
        if not os.path.isdir(self.root):
            self._problem(f"the workspace folder {self.root} does not exist; indexing only open files")
            return None
        try:
            store = Store(database_path(self.root, self.cache_dir), self.root)
            if store.problem:
                self._problem(store.problem)
            index = Index(
                self.root,
                store,
                self.settings.max_file_kb * 1024,
                self.settings.exclude,
                self.workers,
                self.lookups_while_building,
            )
            self.index = index
            report = index.refresh(progress, self._cancelled, lambda: self._hot)
        except Exception:
            log.exception("indexing %s failed", self.root)
            self._problem(f"indexing {self.root} failed; see the log. Context comes from open files only")
            return None
        finally:
            progress(None, None)
        self.report = report
        if report.unreadable_dirs:
            shown = ", ".join(report.unreadable_dirs[:3])
            self._problem(
                f"{len(report.unreadable_dirs)} folder(s) could not be read and are not indexed: {shown}"
            )
        log.info(
            "indexed %s: %d files (%d scanned), %d definitions in %.1f s",
            self.root,
            report.files,
            report.indexed,
            report.definitions,
            report.seconds,
        )
        return report

    async def wait_ready(self) -> None:
        """Wait for the background build (tests, commands)."""
        if self._build is not None:
            import asyncio

            await asyncio.wrap_future(self._build)

    async def stop(self) -> None:
        self._cancelled.set()
        for timer in self._timers.values():
            timer.cancel()
        if self._build is not None:
            import asyncio

            try:
                await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(self._build)), 5)
            except (TimeoutError, Exception):
                log.debug("index build did not finish before shutdown", exc_info=True)
        self.close()

    def close(self) -> None:
        self._documents_pool.shutdown(wait=True, cancel_futures=True)
        self._warmer.shutdown(wait=True, cancel_futures=True)
        self._writer.shutdown(wait=True, cancel_futures=True)
        if self.index is not None:
            self.index.store.close()

    def _problem(self, message: str) -> None:
        if message in self._said:
            return
        self._said.add(message)
        log.warning("%s", message)
        if self.on_problem is None:
            return
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self.on_problem, message)
        else:
            self.on_problem(message)

    # -- documents -------------------------------------------------------------------------

    def relative(self, uri_or_path: str) -> str:
        """Path relative to the root (``/``-separated), or the absolute path outside it."""
        return relative(uri_or_path, self.root)

    def oversized(self, text: str) -> bool:
        """Whether a document this long is kept as plain text (``limits.maxDocumentKb``)."""
        return len(text) > self._limits().max_document_kb * 1024

    def admission(self, uri: str) -> Admission:
        """What of a document may reach the model (decided once per document and settings).

        Editors send a keystroke at a time: the ignore files are read when the document
        opens, when ``index.exclude`` changes and when an ignore file changes, not per key.
        """
        key = (tuple(self.settings.exclude), self._ignore_generation, self.root)
        document = document_key(uri)
        cached = self._admissions.get(document)
        if cached is not None and cached[0] == key:
            return cached[1]
        decided = self._decide(uri)
        if document in self.documents:
            self._admissions[document] = (key, decided)
        return decided

    def exclusion(self, uri: str) -> str | None:
        """Why nothing of this document may reach the model (None: it may)."""
        return self.admission(uri).excluded

    def shares(self, path: str) -> bool:
        """Whether a piece from ``path`` may still reach the model (decided once per path
        and settings: the completion path asks for every piece it shows again)."""
        key = (tuple(self.settings.exclude), self._ignore_generation, self.root)
        if self._shared[0] != key:
            self._shared = (key, {})
        decided = self._shared[1]
        if path not in decided:
            absolute = path if self.root is None or os.path.isabs(path) else os.path.join(self.root, path)
            decided[path] = self._decide(absolute).shareable
        return decided[path]

    def _decide(self, uri: str) -> Admission:
        path = to_path(uri)
        if self.root is None or not os.path.isabs(path):
            # No workspace (the open files are all there is), or a buffer with no file.
            return Admission(shareable=True)
        rel = contained(self.root, path)
        if rel is None or rel == ".":
            # Outside the workspace, or a link inside it that leads out: the user may
            # complete in it, but its content is never context for other files.
            return Admission(shareable=False)
        if rel.split("/")[0] == ".git" or is_ignored(self.root, rel, self.settings.exclude):
            return Admission(
                shareable=False,
                excluded=f"{rel} is excluded by the workspace's ignore rules (.gitignore, "
                ".hermesignore or hermes.index.exclude): nothing from it is sent to the model, "
                "so Hermes offers no completions or actions in it",
            )
        return Admission(shareable=True)

    def open_document(self, uri: str, text: str, language_id: str, version: int) -> None:
        key = document_key(uri)
        path = self.relative(uri)
        language = language_for(path, language_id)
        # A large document is parsed in the background; until then it is plain text.
        inline = self._loop is None or len(text) <= INLINE_CHARS
        document = Document(key, path, text, language, version, oversized=self.oversized(text), parse=inline)
        self.documents[key] = document
        self.documents.move_to_end(key)
        self._windows.pop(key, None)
        self._admissions.pop(key, None)
        self.admission(uri)
        if not inline and language is not None and not document.oversized:
            self._parse_in_background(document)
        self._derive(document, tag=False)
        self._note_hot()
        self._warm(document)

    def _warm(self, document: Document) -> None:
        index = self.index
        if index is None or document.language is None or document.oversized or os.path.isabs(document.path):
            return
        text, path = document.text, document.path
        graph = self._graph_of(index)
        tokens = _import_tokens(document)

        def warm() -> None:
            # The first completions' lookups, and the edges their walk starts from.
            names = sorted(set(retrieve.IDENTIFIER.findall(text, 0, WARM_CHARS)) - retrieve.KEYWORDS)
            graph.sync()  # a view the index swapped in since: forget first, then fill
            files = index.warm(path, tokens)
            found = get_many(index.by_name, names)  # one query for the lot
            graph.prefetch(files[:WARM_FILES])
            retrieve.prepare(path, tokens, found, graph, files[1:])  # its seeds learn the definers

        try:
            self._looking_ahead = self._warmer.submit(warm)
        except RuntimeError:
            pass  # shutting down

    def looked_ahead(self, timeout: float = 10.0) -> bool:
        """Wait until the look-ahead of the last opened document is done (benchmarks: an
        editor's first completion comes when the user types, after it)."""
        future = self._looking_ahead
        if future is None:
            return True
        try:
            future.result(timeout)
        except concurrent.futures.TimeoutError:
            return False
        except Exception:
            log.debug("look-ahead failed", exc_info=True)
        return True

    def _graph_of(self, index: Index) -> FileGraph:
        graph = self._graph
        if graph is None or graph.index is not index:
            graph = self._graph = FileGraph(index)
        return graph

    def _note_hot(self) -> None:
        paths = tuple(d.path for d in self.documents.values() if not os.path.isabs(d.path))
        tokens: set[str] = set()
        for document in self.documents.values():
            if document.language is None or os.path.isabs(document.path):
                continue
            tokens |= _import_tokens(document)
        self._hot = (paths, frozenset(tokens))

    def _parse_in_background(self, document: Document) -> None:
        loop, text = self._loop, document.text
        assert loop is not None and document.language is not None
        language = document.language.name

        def run() -> None:
            try:
                tree = parse(language, text)
            except Exception:
                log.exception("parsing %s failed", document.path)
                return
            loop.call_soon_threadsafe(self._adopt, document, tree, text)

        try:
            self._documents_pool.submit(run)
        except RuntimeError:
            pass  # shutting down

    def _adopt(self, document: Document, tree: tree_sitter.Tree, text: str) -> None:
        if self.documents.get(document.uri) is not document:
            return  # closed or reopened meanwhile
        if document.adopt(tree, text):
            if document.edited:  # its edits could not reach the index without a tree
                self._refresh_when_idle(document.uri, document.version)
        elif not document.oversized:
            self._parse_in_background(document)  # typed meanwhile: parse the new text

    def change_document(self, uri: str, changed: Changed, version: int) -> None:
        key = document_key(uri)
        document = self.documents.get(key)
        if document is None:
            self.open_document(uri, changed.text, "", version)
            return
        document.set_oversized(self.oversized(changed.text))
        document.update(changed, version)
        self.documents.move_to_end(key)
        self._parse_when_typing_pauses(document)
        self._refresh_when_idle(key, version)

    def _parse_when_typing_pauses(self, document: Document) -> None:
        # Keystrokes in a burst share one re-parse, done before a debounced completion runs.
        if self._loop is None:
            document.ensure_parsed()
            return
        old = self._parse_timers.pop(document.uri, None)
        if old is not None:
            old.cancel()
        self._parse_timers[document.uri] = self._loop.call_later(PARSE_AFTER_S, document.ensure_parsed)

    def close_document(self, uri: str) -> None:
        key = document_key(uri)
        document = self.documents.pop(key, None)
        self._windows.pop(key, None)
        self._admissions.pop(key, None)
        if self._scratch is not None and self._scratch.uri == key:
            self._scratch = None
        self._note_hot()
        for timers in (self._timers, self._parse_timers):
            timer = timers.pop(key, None)
            if timer is not None:
                timer.cancel()
        if document is not None and document.edited and self.index is not None:
            # The buffer may close unsaved: the file on disk is the truth again.
            self._submit(self.index.update_file, document.path)

    def files_changed(self, paths: Sequence[str]) -> None:
        if any(os.path.basename(to_path(p)) in IGNORE_FILES for p in paths):
            self._ignore_generation += 1  # open documents are judged again on next use
            if self.index is not None:
                index = self.index
                self._submit(lambda: index.refresh(None, self._cancelled))
        if self.index is None:
            return
        for path in paths:
            rel = self.relative(path)
            if os.path.isabs(rel) or language_for_path(rel) is None:
                continue
            self._submit(self.index.update_file, rel)

    def _submit(self, fn: Callable[..., object], *args: object) -> None:
        def run() -> None:
            try:
                fn(*args)
            except Exception:
                log.exception("index update failed")
            finally:
                if self._graph is not None:
                    self._graph.forget()  # the file's edges and ranks may have changed
                self._look_ahead_again()

        try:
            self._writer.submit(run)
        except RuntimeError:
            pass  # shutting down

    def _look_ahead_again(self) -> None:
        """After the index changed (and forgot what it had in memory), look ahead again for
        the document in use, so that the next keystroke after a pause in typing does not
        pay for reading it all back. Called from the writer thread: the look-ahead is
        started on the event loop, which owns the documents."""
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self._look_ahead_at_current)
        except RuntimeError:
            pass  # the loop is closed: shutting down

    def _look_ahead_at_current(self) -> None:
        if not self.documents:
            return
        key = next(reversed(self.documents))  # the one most recently opened or edited
        if self.admission(key).shareable:
            self._warm(self.documents[key])

    def _refresh_when_idle(self, uri: str, version: int) -> None:
        if self._loop is None:
            self._windows.pop(uri, None)  # no loop to wait on: cut them again when needed
            return
        old = self._timers.pop(uri, None)
        if old is not None:
            old.cancel()
        self._timers[uri] = self._loop.call_later(IDLE_REFRESH_S, self._refresh_document, uri, version)

    def _refresh_document(self, uri: str, version: int) -> None:
        self._timers.pop(uri, None)
        document = self.documents.get(uri)
        if document is None or document.version != version:
            return
        self._derive(document, tag=True)

    def _derive(self, document: Document, *, tag: bool) -> None:
        """Cut a document's snippet windows and, with ``tag``, put its definitions in the index.

        A small document is done here; a large one from a snapshot (its text and a copy of
        its tree) in a background thread: parsing and windows let the loop run meanwhile,
        and tags are queried a slice at a time.
        """
        index = self.index
        language = document.language.name if document.language is not None else None
        if (
            not tag
            or index is None
            or language is None
            or document.oversized
            or os.path.isabs(document.path)
            or not self.admission(document.uri).shareable
        ):
            language = None  # windows only
        if self._loop is None or len(document.text) <= INLINE_CHARS:
            self._cut_windows(document)
            if language is not None and index is not None and document.tree is not None:
                self._index_tags(index, document.path, language, document.text, document.tree)
            return
        loop, uri, version, path = self._loop, document.uri, document.version, document.path
        text, tree, stale = document.snapshot()
        oversized = document.oversized

        def work() -> None:
            windows = retrieve.windows_of(path, [] if oversized else lf_breaks(text).split("\n"))
            loop.call_soon_threadsafe(self._store_windows, uri, version, windows)
            if language is None or index is None or tree is None:
                return
            current = parse(language, text, tree) if stale else tree
            self._index_tags(index, path, language, text, current)

        def run() -> None:
            try:
                work()
            except Exception:
                log.exception("updating %s in the background failed", path)

        try:
            self._documents_pool.submit(run)
        except RuntimeError:
            pass  # shutting down

    def _index_tags(self, index: Index, path: str, language: str, text: str, tree: tree_sitter.Tree) -> None:
        file_tags = tags.extract(language, tree, lf_breaks(text))
        size = len(text.encode("utf-8", "surrogatepass"))
        self._submit(index.update_file, path, Scanned(path, size, 0, "", language, tags=file_tags), True)

    def _store_windows(self, uri: str, version: int, windows: list[retrieve.Window]) -> None:
        document = self.documents.get(uri)
        if document is not None and document.version == version:
            self._windows[uri] = (version, windows)

    # -- retrieval ---------------------------------------------------------------------------

    def syntax_at(self, uri: str, text: str, offset: int) -> list[str]:
        """Syntax node types around ``offset``, innermost first (empty for plain text)."""
        node = self._document_for(uri, text).node_at(offset)
        found: list[str] = []
        while node is not None and len(found) < 8:
            found.append(node.type)
            node = node.parent
        return found

    def _document_for(self, uri: str, text: str) -> Document:
        key = document_key(uri)
        document = self.documents.get(key)
        if document is not None and (document.text is text or document.text == text):
            return document
        # Not open, or the caller's text differs from ours: parse it (once per text).
        scratch = self._scratch
        if scratch is not None and scratch.uri == key and (scratch.text is text or scratch.text == text):
            return scratch
        path = self.relative(uri)
        language = document.language if document is not None else language_for(path)
        self._scratch = Document(key, path, text, language, 0, oversized=self.oversized(text))
        return self._scratch

    def _windows_for(self, exclude: str) -> list[retrieve.Window]:
        # Windows are cut when a document opens and again when its edits pause, never
        # on the completion path: a slightly stale snippet is fine, a slow keystroke is not.
        out: list[retrieve.Window] = []
        exclude = document_key(exclude)
        for uri in list(reversed(self.documents))[: RECENT_DOCUMENTS + 1]:
            if uri == exclude or not self.admission(uri).shareable:
                continue
            cached = self._windows.get(uri)
            if cached is None:
                document = self.documents.get(uri)
                if document is None or (self._loop is not None and len(document.text) > INLINE_CHARS):
                    continue  # a large one is being cut in the background
                cached = self._cut_windows(document)
            out.extend(cached[1])
        return out

    def _cut_windows(self, document: Document) -> tuple[int, list[retrieve.Window]]:
        # A huge document would give thousands of windows (and its lines): none are taken.
        lines = [] if document.oversized else document.lines()
        cached = (document.version, retrieve.windows_of(document.path, lines))
        self._windows[document.uri] = cached
        return cached

    def request(self, uri: str, text: str, offset: int, budget: int) -> retrieve.Request:
        document = self._document_for(uri, text)
        offset = max(0, min(offset, len(text)))
        if document.oversized:
            return _plain_request(document, text, offset, budget)
        lines = document.lines()
        return retrieve.Request(
            path=document.path,
            text=text,
            offset=offset,
            budget=budget,
            lines=lines,
            language=document.language.name if document.language else None,
            imports=document.import_spans(),
            scopes=self._scopes(document, lines, offset),
        )

    @staticmethod
    def _scopes(document: Document, lines: Sequence[str], offset: int) -> list[tuple[int, int]]:
        node = document.node_at(min(offset, len(document.text)))
        scopes = []
        while node is not None and node.parent is not None:
            if node.type in SCOPE_TYPES and node.start_point.row < len(lines):
                start = node.start_point.row
                head = list(lines[start : min(node.end_point.row, start + 5) + 1])
                scopes.append((start + 1, start + tags.header_end(head, 0, len(head) - 1) + 1))
            node = node.parent
        return scopes[::-1]

    def defines(self, name: str) -> bool:
        """Whether the index has a definition named ``name`` (a word that could change
        what retrieval finds)."""
        index = self.index
        return index is not None and bool(index.by_name.get(name))

    def context(self, uri: str, text: str, offset: int, budget: int, purpose: Purpose) -> list[Piece]:
        """Ordered pieces (stable first) under ``budget`` tokens for a cursor at ``offset``."""
        request = self.request(uri, text, offset, budget)
        index = self._current_index()
        by_name = index.by_name if index is not None else {}
        by_path = index.by_path if index is not None else {}
        by_module = index.by_module if index is not None else {}
        graph = self._graph_of(index) if index is not None else self._graph
        windows = self._windows_for(uri)
        pieces = retrieve.retrieve(purpose, request, by_name, by_path, windows, by_module, graph)
        # The index drops files newly excluded only when its refresh gets to them; until
        # then, what it still holds of them is held back here.
        return [p for p in pieces if p.path == request.path or self.shares(p.path)]

    def _current_index(self) -> Index | None:
        """The index, brought in line with ``index.exclude`` when the setting has changed:
        files it now excludes leave the index (a refresh on the writer thread)."""
        index = self.index
        if index is not None and index.exclude != list(self.settings.exclude):
            index.exclude = list(self.settings.exclude)
            self._submit(lambda: index.refresh(None, self._cancelled))
        return index

    # -- read-only lookups (tools) -------------------------------------------------------------

    def find_symbols(self, name: str, path: str | None = None) -> list[Symbol]:
        """Definitions named ``name`` (``Class.method`` matches the qualified name), in files
        the ignore rules let through (the index may not have caught up with them yet)."""
        index = self._current_index()
        if index is None:
            return []
        last = name.rsplit(".", 1)[-1]
        found = [
            d
            for d in index.by_name.get(last, ())
            # ``Class.method`` also finds ``Namespace.Class.method`` (C#, C++, Ruby modules).
            if (name == last or d.qualname == name or d.qualname.endswith("." + name))
            and (path is None or d.path == self.relative(path))
            and self.shares(d.path)
        ]
        return [Symbol(d.qualname, d.kind, d.path, d.start_line, d.end_line) for d in found]

    def find_references(self, name: str, limit: int = MAX_REFERENCES) -> list[Piece]:
        """Lines that use ``name`` (its last component), across the indexed files; at most
        ``limit`` of them, so that at most ``limit`` files are read."""
        index = self._current_index()
        if index is None:
            return []
        pieces: list[Piece] = []
        for path, rows in index.references(name.rsplit(".", 1)[-1]):
            if len(pieces) >= limit:
                return pieces
            if not self.shares(path):
                continue  # excluded since it was indexed: not read, not shown
            lines = self._file_lines(path)
            for row in rows:
                if len(pieces) >= limit:
                    return pieces
                text = lines[row - 1] if 0 < row <= len(lines) else ""
                pieces.append(Piece("reference", path, row, row, text, estimate_tokens(text)))
        return pieces

    def list_symbols(self, path: str) -> list[Symbol]:
        rel = self.relative(path)
        if not self.shares(rel):
            return []
        for document in self.documents.values():
            if document.path == rel and document.tree is not None and document.language is not None:
                text = lf_breaks(document.text)
                found = tags.extract(document.language.name, document.tree, text).definitions
                return [Symbol(d.qualname, d.kind, rel, d.start_line, d.end_line) for d in found]
        if self.index is None:
            return []
        return [
            Symbol(d.qualname, d.kind, d.path, d.start_line, d.end_line)
            for d in self.index.by_path.get(rel, ())
        ]

    def read_file(self, path: str, start_line: int = 1, end_line: int | None = None) -> Piece | None:
        """Lines of a workspace file (the open buffer if there is one); None outside the root."""
        rel = self.relative(path)
        if os.path.isabs(rel) or rel.startswith(".."):
            return None
        if self.root is not None and is_ignored(self.root, rel, self.settings.exclude):
            return None
        lines = self._file_lines(rel)
        if not lines:
            return None
        start = max(1, start_line)
        end = min(len(lines), end_line if end_line is not None else len(lines))
        text = "\n".join(lines[start - 1 : end])
        return Piece("file", rel, start, end, text, estimate_tokens(text))

    def _file_lines(self, rel: str) -> list[str]:
        for document in self.documents.values():
            if document.path == rel and self.admission(document.uri).shareable:
                return list(document.lines())
        if self.root is None or contained(self.root, rel) is None:
            return []  # a link out of the workspace: its target is not ours to show
        try:
            with open(os.path.join(self.root, rel), encoding="utf-8", errors="replace") as fh:
                return fh.read().split("\n")
        except OSError:
            return []


def _import_tokens(document: Document) -> frozenset[str]:
    """The module names a document's import statements mention."""
    lines = document.lines()
    return import_tokens("\n".join("\n".join(lines[s - 1 : e]) for s, e in document.import_spans()))


# How much text either side of the cursor stands for a document too large to look at whole.
PLAIN_WINDOW_CHARS = 16000


def _plain_request(document: Document, text: str, offset: int, budget: int) -> retrieve.Request:
    """A request for a huge document: the lines around the cursor only, no structure."""
    start = text.rfind("\n", 0, max(0, offset - PLAIN_WINDOW_CHARS)) + 1
    end = text.find("\n", offset + PLAIN_WINDOW_CHARS)
    window = text[start : len(text) if end == -1 else end]
    return retrieve.Request(
        path=document.path,
        text=window,
        offset=offset - start,
        budget=budget,
        lines=window.split("\n"),
        language=document.language.name if document.language else None,
    )


def wait_for(engine: WorkspaceContext, timeout: float = 60.0) -> bool:
    """Block until the background build is done (for synchronous callers)."""
    deadline = time.monotonic() + timeout
    while engine._build is not None and not engine._build.done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True

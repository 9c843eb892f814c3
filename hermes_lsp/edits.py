"""Edit tool calls -> a checked ``WorkspaceEdit``.

The model edits by naming things (a definition, a unique piece of text), never by line
number. Each call is applied to an in-memory copy of the file, so several calls compose
and a failed call changes nothing; the error goes back to the model. Before anything is
offered to the editor, every changed file is re-parsed with tree-sitter: an edit that adds
syntax errors is not offered. The result is one ``TextDocumentEdit`` per file, carrying the
document version it was computed against, so the editor refuses it if the file has moved
on since.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import re
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import tree_sitter
from lsprotocol import types

from hermes_lsp.context import languages, walk
from hermes_lsp.context.syntax import Syntax
from hermes_lsp.indentation import leading, reindent, step_of, unit_of, width
from hermes_lsp.model.tools import ToolCall
from hermes_lsp.text import common_ends, lf_breaks, line_offset, position_at, split_lines
from hermes_lsp.uris import document_key, from_path


class EditError(Exception):
    """An edit that cannot be applied; the message is written for the model (and the user)."""


class FileTooLarge(EditError):
    """A file above ``index.maxFileKb``: nothing loads it whole (``read_file`` reads a range)."""


@attrs.define
class FileState:
    """A file touched by the edits: what it was, and what it is becoming."""

    rel: str
    uri: str
    original: str
    version: int | None
    """Version of the open document the edit is computed against (None: read from disk)."""
    text: str
    created: bool = False


@attrs.frozen
class OpenText:
    """An open document as the editor has it."""

    uri: str
    """The URI the editor opened it with: edits to it must name the document by this one."""
    text: str
    version: int


# The open document behind a URI (however it is spelled), or None when it is not open.
DocumentReader = Callable[[str], OpenText | None]


class EditSet:
    """Edits in progress across the workspace."""

    def __init__(
        self,
        root: str,
        open_document: DocumentReader,
        baseline: dict[str, int] | None = None,
        *,
        can_create: bool = True,
        exclude: Iterable[str] | Callable[[], Iterable[str]] = (),
        syntax: Syntax | None = None,
        max_file_bytes: int | None = None,
    ) -> None:
        self.root = os.path.realpath(root)
        self._exclude = exclude
        self._open_document = open_document
        self._baseline = baseline or {}
        """Versions of the open documents (by :func:`document_key`) when the action started."""
        self.max_file_bytes = max_file_bytes
        """Files larger than this (``index.maxFileKb``) are never loaded whole (None: no limit)."""
        self.can_create = can_create
        """Whether the editor applies ``CreateFile`` operations (``resourceOperations``)."""
        self.files: dict[str, FileState] = {}
        self.syntax = syntax or Syntax()
        """Where trees come from: the open documents' live ones first (on the event loop)."""
        self._trees = self.syntax.detached()
        """The same recent trees, without the live ones: what the tools use, in any thread."""

    @property
    def exclude(self) -> list[str]:
        """The user's extra ignore patterns (``index.exclude``), on top of the ignore files:
        as the settings are now when given as a function of them (an action runs for a while)."""
        return list(self._exclude() if callable(self._exclude) else self._exclude)

    # -- paths ---------------------------------------------------------------------------

    def resolve(self, path: str) -> str:
        """A workspace-relative path, or EditError if it leaves the workspace or is ignored."""
        if not isinstance(path, str) or not path.strip():
            raise EditError("path must be a non-empty string relative to the workspace root")
        if "\0" in path:
            raise EditError("path contains a NUL character; give a file path relative to the workspace root")
        # Symlinks are resolved: a link inside the workspace to a file outside it is outside.
        rel = walk.contained(self.root, path)
        if rel is None:
            raise EditError(f"{path} is outside the workspace; only files inside it can be used")
        if rel == ".":
            raise EditError(f"{path} is the workspace folder, not a file")
        if rel.split("/")[0] == ".git" or walk.is_ignored(self.root, rel, self.exclude):
            raise EditError(f"{rel} is excluded by the workspace's ignore rules and cannot be edited")
        return rel

    def state(self, path: str, *, create: bool = False) -> FileState:
        rel = self.resolve(path)
        if rel in self.files:
            return self.files[rel]
        absolute = os.path.join(self.root, rel)
        uri = from_path(absolute)
        opened = self._open_document(uri)
        if opened is not None:
            self._check_size(rel, len(opened.text))
            # Edits are computed on today's text but stamped with the version the model
            # saw: if the user typed meanwhile, stale() notices and nothing is offered.
            version = self._baseline.get(document_key(opened.uri), opened.version)
            state = FileState(rel, opened.uri, opened.text, version, opened.text)
        elif os.path.isfile(absolute):
            try:
                self._check_size(rel, os.stat(absolute).st_size)
                with open(absolute, encoding="utf-8", newline="") as fh:
                    text = fh.read()
            except UnicodeDecodeError as exc:
                raise EditError(f"{rel} is not UTF-8 text; it cannot be edited safely") from exc
            except OSError as exc:
                raise EditError(f"{rel} cannot be read ({exc.strerror})") from exc
            state = FileState(rel, uri, text, None, text)
        elif create:
            state = FileState(rel, uri, "", None, "", created=True)
        else:
            raise EditError(f"{rel} does not exist; use create_file for a new file")
        self.files[rel] = state
        return state

    def _check_size(self, rel: str, size: int) -> None:
        # Loading, parsing and re-parsing a file this size would stall the server.
        if self.max_file_bytes is not None and size > self.max_file_bytes:
            raise FileTooLarge(
                f"{rel} is {size // 1024} KB, above index.maxFileKb ({self.max_file_bytes // 1024} KB): "
                "it is not loaded whole, so it cannot be edited or searched by symbol here; read "
                "the lines you need with read_file(path, start_line, end_line)"
            )

    # -- tools ---------------------------------------------------------------------------

    async def run(self, call: ToolCall) -> str:
        """:meth:`apply` in a worker thread: parsing and searching a file of up to
        ``index.maxFileKb`` would stall the event loop. What only the loop may touch (the
        open documents, their live trees) is taken here first."""
        path = call.arguments.get("path")
        if call.name in _NAMED_EDITS and isinstance(path, str):
            try:
                state = self.state(path)
            except EditError:
                pass  # apply() says why, in the words it uses for every call
            else:
                spec = languages.language_for_path(state.rel)
                if spec is not None:
                    self.syntax.pin(spec.name, state.text)
        return await asyncio.to_thread(self.apply, call)

    async def check_syntax(self) -> list[str]:
        """:meth:`syntax_problems` in a worker thread (it parses and walks whole trees)."""
        return await asyncio.to_thread(self.syntax_problems)

    def apply(self, call: ToolCall) -> str:
        """Apply one edit tool call to the in-memory files; returns a note for the model."""
        handler = _HANDLERS.get(call.name)
        if handler is None:
            raise EditError(f"unknown edit tool {call.name!r}")
        try:
            inspect.signature(handler).bind(self, **call.arguments)
        except TypeError as exc:
            raise EditError(f"bad arguments for {call.name}: {exc}") from exc
        wrong = [k for k, v in call.arguments.items() if not isinstance(v, str)]
        if wrong:
            raise EditError(f"bad arguments for {call.name}: {', '.join(wrong)} must be strings")
        return handler(self, **call.arguments)

    def replace_symbol(self, path: str, symbol: str, code: str) -> str:
        state = self.state(path)
        start, end = _definition_span(self._trees, state, symbol, with_decorators=True)
        eol = _eol(state.text)
        new = _reindent(code, _indent_of(state.text, start), _unit(state.text), eol)
        # The definition's own line break stays; a last line without one gets none.
        ending = eol if lf_breaks(state.text)[start:end].endswith("\n") else ""
        state.text = state.text[:start] + new + ending + state.text[end:]
        return f"replaced {symbol} in {state.rel}"

    def search_replace(self, path: str, search: str, replace: str) -> str:
        state = self.state(path)
        if not search:
            raise EditError("search must not be empty")
        eol = _eol(state.text)
        start, end, fit = _find_unique(state.text, _with_eol(search, eol), state.rel)
        state.text = state.text[:start] + fit(_with_eol(replace, eol)) + state.text[end:]
        return f"edited {state.rel}"

    def insert_code(self, path: str, anchor: str, where: str, code: str) -> str:
        state = self.state(path)
        if where not in ("before", "after"):
            raise EditError("where must be 'before' or 'after'")
        start, end = _definition_span(self._trees, state, anchor, with_decorators=True)
        eol = _eol(state.text)
        block = _reindent(code, _indent_of(state.text, start), _unit(state.text), eol)
        # Separate the new code the way the file separates the anchor from what precedes it.
        before = lf_breaks(state.text)[:start].split("\n")[:-1]
        blank = 0
        while blank < len(before) and not before[-1 - blank].strip():
            blank += 1
        gap = eol * max(1, blank)
        if where == "before":
            state.text = state.text[:start] + block + eol + gap + state.text[start:]
        elif lf_breaks(state.text)[end - 1 : end] == "\n":
            state.text = state.text[:end] + gap + block + eol + state.text[end:]
        else:
            # The anchor ends the file without a line break: so does the new code.
            state.text = state.text[:end] + eol + gap + block + state.text[end:]
        return f"inserted code {where} {anchor} in {state.rel}"

    def create_file(self, path: str, content: str) -> str:
        rel = self.resolve(path)
        if not self.can_create:
            raise EditError(
                "this editor cannot create files through an edit; put the code in an existing file"
            )
        if rel in self.files or os.path.exists(os.path.join(self.root, rel)):
            raise EditError(f"{rel} already exists; edit it with search_replace or replace_symbol")
        state = self.state(path, create=True)
        state.text = content if content.endswith("\n") or not content else content + "\n"
        return f"created {rel}"

    # -- checks and output ---------------------------------------------------------------

    def changed(self) -> list[FileState]:
        return [f for f in self.files.values() if f.text != f.original or f.created]

    def syntax_problems(self) -> list[str]:
        """Syntax errors the edits introduced, one sentence per file."""
        problems = []
        for state in self.changed():
            spec = languages.language_for_path(state.rel)
            if spec is None:
                continue
            if state.created:
                found = _errors(self._trees.tree(spec.name, state.text).root_node)
            else:
                found = _errors(self._trees.reparse(spec.name, state.original, state.text).root_node)
            if not found:
                continue
            # A file that was already broken is judged by whether the edit made it worse.
            if not state.created and len(found) <= len(
                _errors(self._trees.tree(spec.name, state.original).root_node)
            ):
                continue
            row = found[0].start_point.row
            snippet = split_lines(state.text)[row].strip()[:120]
            problems.append(f"{state.rel} would have a syntax error at line {row + 1}: {snippet!r}")
        return problems

    def stale(self) -> list[str]:
        """Files that changed, in the editor or on disk, since the edits were computed."""
        moved = []
        for state in self.files.values():
            opened = self._open_document(state.uri)
            if state.version is not None:
                changed = opened is None or opened.version != state.version
            elif opened is not None:
                changed = opened.text != state.original
            else:
                # Not open: its edit carries no version, so compare with the disk instead.
                changed = _disk_text(os.path.join(self.root, state.rel)) != (
                    None if state.created else state.original
                )
            if changed:
                moved.append(state.rel)
        return moved

    def workspace_edit(
        self, encoding: str, label: str, annotate: bool, *, document_changes: bool = True
    ) -> types.WorkspaceEdit:
        """One minimal edit per changed file, versioned, optionally annotated for preview.

        Editors that do not announce ``documentChanges`` get the plain ``changes`` map
        (no versions: the staleness check just before sending is all that guards them).
        """
        annotation_id = "hermes" if annotate and document_changes else None
        changed = sorted(self.changed(), key=lambda s: s.rel)
        if not document_changes:
            return types.WorkspaceEdit(
                changes={
                    state.uri: [_minimal_edit(state.original, state.text, encoding, None)]
                    for state in changed
                }
            )
        changes: list[Any] = []
        for state in changed:
            identifier = types.OptionalVersionedTextDocumentIdentifier(uri=state.uri, version=state.version)
            if state.created:
                changes.append(types.CreateFile(uri=state.uri, annotation_id=annotation_id))
                edit = _text_edit(
                    state.text, types.Range(types.Position(0, 0), types.Position(0, 0)), annotation_id
                )
            else:
                edit = _minimal_edit(state.original, state.text, encoding, annotation_id)
            changes.append(types.TextDocumentEdit(text_document=identifier, edits=[edit]))
        annotations = (
            {"hermes": types.ChangeAnnotation(label=label, needs_confirmation=False, description="Hermes")}
            if annotation_id
            else None
        )
        return types.WorkspaceEdit(document_changes=changes, change_annotations=annotations)


def _disk_text(path: str) -> str | None:
    """A file's text now (None when it is gone or unreadable)."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return None


def _text_edit(
    new: str, range_: types.Range, annotation_id: str | None
) -> types.TextEdit | types.AnnotatedTextEdit:
    if annotation_id:
        return types.AnnotatedTextEdit(range=range_, new_text=new, annotation_id=annotation_id)
    return types.TextEdit(range=range_, new_text=new)


def _minimal_edit(
    old: str, new: str, encoding: str, annotation_id: str | None
) -> types.TextEdit | types.AnnotatedTextEdit:
    """The smallest single replacement that turns ``old`` into ``new``."""
    prefix, suffix = common_ends(old, new)
    # Never split a \r\n pair or a line in a way that leaves a lone \r: the edit starts
    # before a \r and does not end between a \r and its \n.
    if prefix and old[prefix - 1] == "\r":
        prefix -= 1
    end = len(old) - suffix
    if suffix and end and old[end - 1 : end + 1] == "\r\n":
        suffix -= 1
    start = types.Position(*position_at(old, prefix, encoding))
    end = types.Position(*position_at(old, len(old) - suffix, encoding))
    return _text_edit(new[prefix : len(new) - suffix], types.Range(start, end), annotation_id)


# -- finding things ----------------------------------------------------------------------


def _line_start(text: str, line: int) -> int:
    """Offset of 1-based ``line``."""
    start = line_offset(text, line - 1)
    if start is None:
        raise ValueError(f"line {line} is past the end of the text")
    return start


def _line_end(text: str, line: int) -> int:
    """Offset just past 1-based ``line`` (including its line ending)."""
    start = _line_start(text, line)
    end = lf_breaks(text).find("\n", start)
    return len(text) if end == -1 else end + 1


def _definition_span(
    syntax: Syntax, state: FileState, symbol: str, *, with_decorators: bool
) -> tuple[int, int]:
    if not isinstance(symbol, str) or not symbol:
        raise EditError("symbol must be a definition name")
    found = syntax.definitions(state.rel, state.text)
    if not found and languages.language_for_path(state.rel) is None:
        raise EditError(f"{state.rel} is not in a language with symbols; use search_replace")
    exact = [d for d in found if d.qualname == symbol]
    matches = exact or [d for d in found if d.name == symbol.rsplit(".", 1)[-1]]
    if not matches:
        known = ", ".join(sorted({d.qualname for d in found})[:30]) or "none"
        raise EditError(f"no definition named {symbol} in {state.rel}; definitions there: {known}")
    if len(matches) > 1:
        where = ", ".join(f"{d.qualname} (line {d.start_line})" for d in matches)
        raise EditError(f"{symbol} is ambiguous in {state.rel}: {where}; use the qualified name")
    definition = matches[0]
    first = definition.start_line
    if with_decorators:
        lines = split_lines(state.text)
        while first > 1 and lines[first - 2].lstrip().startswith("@"):
            first -= 1
    return _line_start(state.text, first), _line_end(state.text, definition.end_line)


def _indent_of(text: str, offset: int) -> str:
    line_end = lf_breaks(text).find("\n", offset)
    return leading(text[offset : len(text) if line_end == -1 else line_end])


def _eol(text: str) -> str:
    """The line ending a file uses (its first one decides)."""
    first = lf_breaks(text).find("\n")
    if first == -1:
        return "\n"
    if text[first] == "\r":
        return "\r"
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def _lf(code: str) -> str:
    """``code`` (the model's) with every line ending ``\n``."""
    return code.replace("\r\n", "\n").replace("\r", "\n")


def _with_eol(code: str, eol: str) -> str:
    """``code`` with the file's line endings (models write ``\n``)."""
    code = _lf(code)
    return code if eol == "\n" else code.replace("\n", eol)


def _unit(text: str) -> str:
    """One level of the file's indentation (from its first lines)."""
    return unit_of(lf_breaks(text).split("\n", 2000)[:2000])


def _reindent(code: str, indent: str, unit: str, eol: str, base: str | None = None) -> str:
    """``code`` moved from ``base`` (its first line's indentation) to ``indent``, in the
    file's indentation unit and line endings, without blank lines around it or trailing
    spaces."""
    lines = _lf(code).strip("\n").split("\n")
    moved = reindent(lines, leading(lines[0]) if base is None else base, indent, unit)
    return eol.join(line.rstrip() for line in moved)


_SPACE = re.compile(r"[ \t]+")


def _find_unique(text: str, search: str, rel: str) -> tuple[int, int, Callable[[str], str]]:
    """(start, end, fit) for the one place ``search`` matches; ``fit`` adapts the replacement.

    Tried in order: exact; whole lines ignoring spacing, indentation and trailing
    whitespace (``fit`` then moves the replacement by the same indentation offset that
    separates the search from the file); one line's words with any spacing between them.
    """
    unchanged: Callable[[str], str] = lambda replace: replace  # noqa: E731
    count = text.count(search)
    if count == 1:
        start = text.index(search)
        line_start = lf_breaks(text).rfind("\n", 0, start) + 1
        if start == line_start or text[line_start:start].strip():
            return start, start + len(search), unchanged
        # The search begins after some of the line's indentation: it is indented less than
        # the file, and the lines of the replacement need the same offset.
        found = _line_insensitive(text, search)
        if len(found) == 1:
            return found[0]
        return start, start + len(search), unchanged
    if count > 1:
        raise EditError(f"search text occurs {count} times in {rel}; include more surrounding lines")
    for tolerant in (_line_insensitive, _within_line):
        found = tolerant(text, search)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise EditError(f"search text matches {len(found)} places in {rel} (ignoring spacing)")
    raise EditError(f"search text not found in {rel}; copy it exactly from the file (use read_file)")


def _line_insensitive(text: str, search: str) -> list[tuple[int, int, Callable[[str], str]]]:
    """Whole-line places matching ``search`` with any spacing, indentation and line ending."""
    searched = _lf(search.strip("\r\n")).split("\n")
    wanted = [_SPACE.sub(" ", line.strip()) for line in searched]
    if not any(wanted):
        return []
    lines = lf_breaks(text).split("\n")
    normal = [_SPACE.sub(" ", line.strip()) for line in lines]
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    eol, unit = _eol(text), _unit(text)
    found = []
    for index in range(len(lines) - len(wanted) + 1):
        if normal[index] != wanted[0] or normal[index : index + len(wanted)] != wanted:
            continue
        after = index + len(wanted)
        # The span is whole lines, with their final line break when there is one: the
        # replacement gets one back unless it is empty (the lines are deleted).
        end = offsets[after] if after < len(lines) else len(text)
        fit = _fit_lines(searched, lines[index:after], unit, eol)
        found.append((offsets[index], end, _ending(fit, eol) if after < len(lines) else fit))
    return found


def _ending(fit: Callable[[str], str], eol: str) -> Callable[[str], str]:
    def with_break(replace: str) -> str:
        fitted = fit(replace)
        return fitted + eol if fitted.strip() else ""

    return with_break


def _fit_lines(searched: list[str], matched: list[str], unit: str, eol: str) -> Callable[[str], str]:
    """Re-indent a replacement written against ``searched`` so that it fits the file's ``matched`` lines.

    When the search keeps the file's relative indentation, the replacement moves by the
    same offset as a whole (whatever its number of lines). A search that lost it (every
    line flush left) gives no offset: line i then takes the indentation of matched line i.
    """
    pairs = [(leading(s), leading(m)) for s, m in zip(searched, matched, strict=True) if s.strip()]
    first_searched, first_matched = pairs[0]
    consistent = all(width(m) - width(first_matched) == width(s) - width(first_searched) for s, m in pairs)
    if consistent:
        return lambda replace: _reindent(replace, first_matched, unit, eol, base=first_searched)

    def per_line(replace: str) -> str:
        rows = _lf(replace).strip("\n").split("\n")
        step = step_of([*rows, *searched], width(unit))
        out = []
        for i, row in enumerate(rows):
            j = min(i, len(searched) - 1)
            (moved,) = reindent([row], leading(searched[j]), leading(matched[j]), unit, step)
            out.append(moved.rstrip())
        return eol.join(out)

    return per_line


def _within_line(text: str, search: str) -> list[tuple[int, int, Callable[[str], str]]]:
    """Places inside a line matching a one-line ``search`` with any run of spaces where it has one."""
    if "\n" in _lf(search.strip()):
        return []
    words = [re.escape(w) for w in search.split() if w]
    if not words:
        return []
    pattern = re.compile(r"[ \t]+".join(words))
    # The span holds no surrounding whitespace, so neither may the replacement.
    return [(m.start(), m.end(), str.strip) for m in pattern.finditer(text)]


# -- syntax ------------------------------------------------------------------------------


def _errors(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    """The outermost error and missing nodes under ``node``, in document order. Walked with
    a list, not recursion: code nested thousands deep (a model's runaway brackets) is checked
    like any other."""
    out: list[tree_sitter.Node] = []
    pending = [node]
    while pending:
        here = pending.pop()
        if not here.has_error:
            continue
        if here.is_error or here.is_missing:
            out.append(here)
            continue
        pending.extend(reversed(here.children))
    return out


# The edit tools that name an existing file (create_file names a new one).
_NAMED_EDITS = frozenset({"replace_symbol", "search_replace", "insert_code"})

_HANDLERS: dict[str, Callable[..., str]] = {
    "replace_symbol": EditSet.replace_symbol,
    "search_replace": EditSet.search_replace,
    "insert_code": EditSet.insert_code,
    "create_file": EditSet.create_file,
}

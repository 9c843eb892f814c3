"""Definitions, references and imports of one file, read from its syntax tree.

:func:`extract` runs a language's tags query over a tree and turns the captures into
plain records: a definition knows its qualified name (``Class.method``), its span and a
short summary (signature plus docstring or the first lines of the body; for a class, its
members' signatures), which is what the model is shown. It runs in index worker processes,
so everything it returns pickles cheaply.

The index tags whole files with :func:`extract_bytes`, which hands them to the same pass
written in C (``_tagscan.c``, built with the package where a C compiler is found): it
parses, queries and extracts without making a Python object per captured node, and gives
exactly what :func:`extract` gives (tests compare them on every language). Documents open
in the editor already have a tree, and keep to :func:`extract`.
"""

from __future__ import annotations

import bisect
import logging
import os
import threading
from typing import NamedTuple, Protocol

import attrs
import tree_sitter

from hermes_lsp.context.languages import language_capsule, parser, scan_query, scan_query_source

try:
    from hermes_lsp.context import _tagscan
except ImportError:  # built without a C compiler: the Python pass below serves alone
    _tagscan = None

log = logging.getLogger(__name__)

# Kinds whose members are named ``Owner.member``.
CONTAINERS = frozenset({"class", "interface", "module", "impl", "enum"})
_HEADER_ENDS = (":", "{", "=>", "->", " do", " then", "=")
SHORT_BODY_LINES = 10
"""A definition this short is shown whole."""
MAX_LINE_CHARS = 160
MAX_MEMBERS = 12


class Definition(NamedTuple):
    """A tuple: the C pass (:mod:`hermes_lsp.context._tagscan`) builds them directly, and
    the index holds hundreds of thousands."""

    name: str
    qualname: str
    kind: str
    start_line: int
    """1-based, the first line of the definition."""
    end_line: int
    """1-based, inclusive."""
    summary: str


if _tagscan is not None:
    _tagscan.set_definition_type(Definition)


@attrs.frozen
class FileTags:
    definitions: list[Definition]
    references: dict[str, str]
    """Name -> the 1-based lines where it is used, ascending and comma-separated
    (``"3,17,20"``): the form the index stores, made once where the lines are found."""
    imports: list[tuple[int, int]]
    """Spans (1-based, inclusive) of import statements."""


def _clip(line: str) -> str:
    return line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 3] + "..."


def _clip_all(lines: list[str]) -> list[str]:
    # Lines are nearly always short: one pass in C finds out, and the list serves as it is.
    if max(map(len, lines), default=0) <= MAX_LINE_CHARS:
        return lines
    return [_clip(line) for line in lines]


def header_end(lines: list[str], start: int, end: int) -> int:
    """Index of the last line of a definition's signature (0-based), at most 6 lines in."""
    for row in range(start, min(end, start + 5) + 1):
        if lines[row].rstrip().endswith(_HEADER_ENDS):
            return row
    return start


def summarize(lines: list[str], start: int, end: int, member_rows: list[int], container: bool) -> str:
    """The text shown for a definition spanning rows ``start..end`` (0-based, inclusive)."""
    if end - start + 1 <= SHORT_BODY_LINES:
        return "\n".join(_clip_all(lines[start : end + 1]))
    head = header_end(lines, start, end)
    out = _clip_all(lines[start : head + 1])
    body = lines[head + 1 : end + 1]
    indent = next((ln[: len(ln) - len(ln.lstrip())] for ln in body if ln.strip()), "    ")
    if container and member_rows:
        first = next((i for i, ln in enumerate(body) if ln.strip()), 0)
        if body and body[first].lstrip()[:3] in ('"""', "'''", "///", "/**"):
            out.append(_clip(body[first]))  # the docstring's first line says what the class is
        for row in member_rows[:MAX_MEMBERS]:
            out.extend(_clip_all(lines[row : header_end(lines, row, end) + 1]))
        if len(member_rows) > MAX_MEMBERS:
            out.append(f"{indent}...")
        return "\n".join(out)
    taken = 0
    for line in body:
        if taken >= 3:
            break
        out.append(_clip(line))
        taken += bool(line.strip())
    out.append(f"{indent}...")
    return "\n".join(out)


def last_row(node: tree_sitter.Node) -> int:
    """The node's last row (0-based), not counting a trailing newline it swallowed (#include)."""
    end = node.end_point
    return end.row - 1 if end.column == 0 and end.row > node.start_point.row else end.row


# When one node is captured as two kinds, the more specific wins (a const holding an arrow
# function is a function).
_WEAK_KINDS = ("constant", "variable")


CAPTURE_SLICE_BYTES = 65536
"""A larger tree is queried a slice at a time: one ``captures()`` call holds the GIL, and a
thread tagging a large open document has to let the event loop run between slices."""


def _captures(language: str, tree: tree_sitter.Tree) -> dict[str, list[tree_sitter.Node]]:
    root = tree.root_node
    cursor = tree_sitter.QueryCursor(scan_query(language))
    if root.end_byte <= CAPTURE_SLICE_BYTES:
        return cursor.captures(root)
    # Slices end where top-level nodes end. A node captured in two slices is harmless:
    # everything below reads captures as sets (by position), so none are removed here.
    bounds, start = [], 0
    for child in root.children:
        if child.end_byte - start >= CAPTURE_SLICE_BYTES:
            bounds.append((start, child.end_byte))
            start = child.end_byte
    bounds.append((start, root.end_byte))
    merged: dict[str, list[tree_sitter.Node]] = {}
    for lo, hi in bounds:
        cursor.set_byte_range(lo, hi)
        for name, nodes in cursor.captures(root).items():
            merged.setdefault(name, []).extend(nodes)
    return merged


NATIVE_ENV = "HERMES_LSP_NATIVE_TAGS"
"""Set to ``0`` to tag files in Python even where the C pass is built (to compare them)."""

_scanners = threading.local()


class Scanner(Protocol):
    """The C pass for one language (``_tagscan.Scanner``)."""

    def tags(self, data: bytes) -> tuple[list[Definition], dict[str, str], list[tuple[int, int]]]: ...


def native_scanner(language: str) -> Scanner | None:
    """This thread's C tags pass for ``language``, or None where it is not built, turned
    off, or cannot run the language's query (then :func:`extract` serves)."""
    cache: dict[str, Scanner | None] | None = getattr(_scanners, "by_language", None)
    if cache is None:
        cache = _scanners.by_language = {}
    if language in cache:
        return cache[language]
    scanner: Scanner | None = None
    if _tagscan is not None and os.environ.get(NATIVE_ENV, "1") != "0":
        try:
            scanner = _tagscan.Scanner(language_capsule(language), scan_query_source(language))
        except (ValueError, RuntimeError) as error:
            log.info("%s files are tagged in Python: %s", language, error)
    cache[language] = scanner
    return scanner


def extract_bytes(language: str, data: bytes) -> FileTags:
    """The tags of a file's bytes (every line break already a line feed): parsed and read
    by the C pass where it is built, else by :func:`extract`. Both give the same result; the C
    pass makes no object per captured node (a file has thousands)."""
    scanner = native_scanner(language)
    if scanner is not None:
        definitions, references, imports = scanner.tags(data)
        return FileTags(definitions, references, imports)
    tree = parser(language).parse(data)
    return extract(language, tree, data.decode("utf-8", "replace"), data)


def extract(language: str, tree: tree_sitter.Tree, text: str, source: bytes | None = None) -> FileTags:
    """Run ``language``'s tags query over ``tree``, parsed from ``source`` (by default
    ``text`` as UTF-8, the way documents are parsed)."""
    data = text.encode("utf-8", "surrogatepass") if source is None else source
    captures = _captures(language, tree)
    imports = sorted({(n.start_point.row + 1, last_row(n) + 1) for n in captures.get("import", ())})
    found = _named(captures, data)
    definitions = _definitions(found, text.split("\n")) if found else []
    return FileTags(definitions, _uses(captures.get("name", ()), found, data), imports)


Named = dict[int, tuple[int, int, str, tree_sitter.Node, str, str | None]]
"""Start byte of a definition's name -> (start byte, end byte, kind, definition node, name,
owner's name), outer definitions before the ones they hold."""


def _named(captures: dict[str, list[tree_sitter.Node]], data: bytes) -> Named:
    """Pairs each captured definition with its name (and the owner a pattern names)."""
    spans: dict[tuple[int, int], tuple[str, tree_sitter.Node]] = {}  # (start, -end): outer first
    for capture, captured in captures.items():
        if not capture.startswith("definition."):
            continue
        kind = capture[11:]
        for node in captured:
            key = (node.start_byte, -node.end_byte)
            held = spans.get(key)
            if held is None or held[0] in _WEAK_KINDS:
                spans[key] = (kind, node)
    found: Named = {}
    if not spans:
        return found
    names = sorted({n.start_byte: n for n in captures.get("definition_name", ())}.items())
    name_starts = [start for start, _ in names]
    scopes = sorted(((n.start_byte, n.end_byte) for n in captures.get("scope", ())), key=lambda item: item[0])
    scope_starts = [start for start, _ in scopes]
    # Outer definitions first: a definition's name is the first unclaimed name inside it.
    for (start, negative_end), (kind, node) in sorted(spans.items()):
        index = bisect.bisect_left(name_starts, start)
        while index < len(names) and name_starts[index] in found:
            index += 1
        if index == len(names):
            continue
        name_start, name_node = names[index]
        name_end = name_node.end_byte
        if name_end > -negative_end:
            continue
        scope = None
        at = bisect.bisect_left(scope_starts, start)
        while at < len(scopes) and scopes[at][0] < name_start:
            if scopes[at][1] <= name_start:
                scope = data[scopes[at][0] : scopes[at][1]].decode("utf-8", "replace")
                break
            at += 1
        name = data[name_start:name_end].decode("utf-8", "replace")
        found[name_start] = (start, -negative_end, kind, node, name, scope)
    return found


def _uses(names: list[tree_sitter.Node], found: Named, data: bytes) -> dict[str, str]:
    """Name -> the 1-based lines that use it (``"3,17"``). This runs for every identifier of every
    file: each node's positions are read in one pass per field (a comprehension calls the
    getters without a Python loop around them), words stay bytes and rows stay unsorted
    (captures come in no particular order) until the end, once per name."""
    starts = [node.start_byte for node in names]
    ends = [node.end_byte for node in names]
    rows = [node.start_point[0] for node in names]
    seen: dict[bytes, list[int]] = {}
    known = seen.get
    for start, end, row in zip(starts, ends, rows, strict=True):
        if start in found:
            continue  # a definition's own name is not a use of it
        word = data[start:end]
        lines = known(word)
        if lines is None:
            seen[word] = [row]
        else:
            lines.append(row)
    return {
        word.decode("utf-8", "replace"): str(lines[0] + 1)
        if len(lines) == 1
        else ",".join([str(r + 1) for r in sorted(set(lines))])
        for word, lines in seen.items()
    }


def _definitions(found: Named, lines: list[str]) -> list[Definition]:
    # Qualified names and members come from nesting: a stack of open definitions.
    stack: list[tuple[int, str, str, list[int]]] = []  # (end_byte, qualname, kind, member rows)
    raw: list[tuple[str, str, str, int, int, list[int]]] = []
    for start, end, kind, node, name, scope in found.values():
        while stack and stack[-1][0] <= start:
            stack.pop()
        owner = stack[-1] if stack else None
        row = node.start_point.row
        if scope:
            qualname = f"{scope}.{name}"
        elif owner is not None and owner[2] in CONTAINERS:
            qualname = f"{owner[1]}.{name}"
        else:
            qualname = name
        if owner is not None and owner[2] in CONTAINERS:
            owner[3].append(row)
            if kind == "function":
                kind = "method"
        members: list[int] = []
        raw.append((name, qualname, kind, row, last_row(node), members))
        stack.append((end, qualname, kind, members))
    return [
        Definition(
            name,
            qualname,
            kind,
            start + 1,
            end + 1,
            summarize(lines, start, end, members, kind in CONTAINERS),
        )
        for name, qualname, kind, start, end, members in raw
    ]

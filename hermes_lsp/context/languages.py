"""The languages the context engine understands: grammars, file extensions and tags queries.

Each language pairs an official tree-sitter grammar from PyPI with our own tags query
(``queries/<name>.scm``). The query marks definitions (``@definition.<kind>`` on the whole
node, ``@name`` on its name, optionally ``@scope`` naming the owner of a member),
references (``@reference.<kind>`` with ``@name``) and import statements (``@import``).
Grammars and queries are loaded on first use: starting the server must not pay for
thirteen grammars it may never need.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import threading
from importlib import resources

import attrs
import tree_sitter


@attrs.frozen
class LanguageSpec:
    """One language: where its grammar lives and which files and editor ids it covers."""

    name: str
    module: str
    function: str
    extensions: tuple[str, ...]
    lsp_ids: tuple[str, ...]
    imports: frozenset[str] = frozenset()
    """Top-level node types that are import statements (read from a live tree at the cursor)."""
    family: str = ""
    """Languages of one family share code without a binding (TypeScript imports JavaScript, C++
    includes C headers); empty: a family of its own. See :func:`family_of`."""


LANGUAGES: tuple[LanguageSpec, ...] = (
    LanguageSpec(
        "python",
        "tree_sitter_python",
        "language",
        (".py", ".pyi", ".pyw"),
        ("python",),
        frozenset({"import_statement", "import_from_statement", "future_import_statement"}),
    ),
    LanguageSpec(
        "javascript",
        "tree_sitter_javascript",
        "language",
        (".js", ".mjs", ".cjs", ".jsx"),
        ("javascript", "javascriptreact"),
        frozenset({"import_statement"}),
        family="ecmascript",
    ),
    LanguageSpec(
        "typescript",
        "tree_sitter_typescript",
        "language_typescript",
        (".ts", ".mts", ".cts"),
        ("typescript",),
        frozenset({"import_statement"}),
        family="ecmascript",
    ),
    LanguageSpec(
        "tsx",
        "tree_sitter_typescript",
        "language_tsx",
        (".tsx",),
        ("typescriptreact",),
        frozenset({"import_statement"}),
        family="ecmascript",
    ),
    LanguageSpec("go", "tree_sitter_go", "language", (".go",), ("go",), frozenset({"import_declaration"})),
    LanguageSpec("rust", "tree_sitter_rust", "language", (".rs",), ("rust",), frozenset({"use_declaration"})),
    LanguageSpec(
        "java", "tree_sitter_java", "language", (".java",), ("java",), frozenset({"import_declaration"})
    ),
    LanguageSpec(
        "c", "tree_sitter_c", "language", (".c", ".h"), ("c",), frozenset({"preproc_include"}), family="c"
    ),
    LanguageSpec(
        "cpp",
        "tree_sitter_cpp",
        "language",
        (".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx", ".ipp"),
        ("cpp", "cuda-cpp"),
        frozenset({"preproc_include", "using_declaration"}),
        family="c",
    ),
    LanguageSpec(
        "c_sharp", "tree_sitter_c_sharp", "language", (".cs",), ("csharp",), frozenset({"using_directive"})
    ),
    LanguageSpec("ruby", "tree_sitter_ruby", "language", (".rb", ".rake", ".gemspec"), ("ruby",)),
    LanguageSpec(
        "php",
        "tree_sitter_php",
        "language_php",
        (".php",),
        ("php",),
        frozenset({"namespace_use_declaration"}),
    ),
    LanguageSpec("lua", "tree_sitter_lua", "language", (".lua",), ("lua",)),
    LanguageSpec("bash", "tree_sitter_bash", "language", (".sh", ".bash"), ("shellscript", "bash", "sh")),
)

_BY_NAME = {spec.name: spec for spec in LANGUAGES}
_BY_EXTENSION = {ext: spec for spec in LANGUAGES for ext in spec.extensions}
_BY_LSP_ID = {lsp_id: spec for spec in LANGUAGES for lsp_id in spec.lsp_ids}


def language_for_path(path: str) -> LanguageSpec | None:
    """The language of a file from its extension (``None``: plain text)."""
    return _BY_EXTENSION.get(os.path.splitext(path)[1].lower())


def language_for(path: str, lsp_id: str | None = None) -> LanguageSpec | None:
    """The editor's language id wins over the extension; ``None`` means plain text."""
    if lsp_id and lsp_id in _BY_LSP_ID:
        return _BY_LSP_ID[lsp_id]
    return language_for_path(path)


BINDING_FAMILIES = frozenset({"c", "rust"})
"""Families whose code other languages call through bindings: an extension module or a
foreign-function library that an import names by its file."""


@functools.lru_cache(maxsize=65536)
def family_of(path: str) -> str | None:
    """The language family of a file (``None``: plain text, no family)."""
    spec = language_for_path(path)
    return (spec.family or spec.name) if spec is not None else None


def same_family(path: str, other: str) -> bool:
    """Whether two files can use each other's code without a binding between languages.

    Plain text belongs to no family and is never told apart from anything.
    """
    mine, theirs = family_of(path), family_of(other)
    return mine is None or theirs is None or mine == theirs


def may_use(user: str, definer: str) -> bool:
    """Whether code in ``user`` can mean a definition in ``definer`` by its name alone: one
    language family, or a family other languages bind to (Python calling into C)."""
    return same_family(user, definer) or family_of(definer) in BINDING_FAMILIES


def by_name(name: str) -> LanguageSpec | None:
    return _BY_NAME.get(name)


def language_capsule(name: str) -> object:
    """The grammar package's handle on its language (a capsule holding the C pointer)."""
    spec = _BY_NAME[name]
    return getattr(importlib.import_module(spec.module), spec.function)()


@functools.cache
def grammar(name: str) -> tree_sitter.Language:
    """The compiled tree-sitter language (loaded once per process)."""
    return tree_sitter.Language(language_capsule(name))


def query_source(name: str) -> str:
    """Our tags query for ``name``, read from package data."""
    # TSX is TypeScript plus JSX: one query serves both grammars.
    file = "typescript" if name == "tsx" else name
    queries = resources.files("hermes_lsp.context").joinpath("queries")
    own = queries.joinpath(f"{file}.scm").read_text("utf-8")
    base = _BASE_QUERY.get(file)
    return queries.joinpath(f"{base}.scm").read_text("utf-8") + own if base else own


# Queries that start with the patterns of a grammar they extend (C++ is C and more;
# JavaScript and TypeScript share most of theirs).
_BASE_QUERY = {"javascript": "ecmascript", "typescript": "ecmascript", "cpp": "c"}


@functools.cache
def query_patterns(name: str) -> tuple[str, ...]:
    """The top-level patterns of our tags query for ``name``, in order, each with its
    captures and without comments. Read from the text: compiling the whole query just to
    learn where its patterns lie costs as much as compiling the one used (0.1 s for C++,
    in every process that meets the language)."""
    return tuple(split_patterns(query_source(name)))


def split_patterns(source: str) -> list[str]:
    """A tree-sitter query's top-level patterns: each starts with a bracket or a string at
    depth 0 and runs to the next one (its captures and quantifiers included)."""
    patterns: list[list[str]] = []
    depth, at, end = 0, 0, len(source)
    while at < end:
        char = source[at]
        if char == ";":  # a comment runs to the end of its line
            newline = source.find("\n", at)
            at = end if newline < 0 else newline
            continue
        if depth == 0 and char in '(["':
            patterns.append([])
        if char == '"':
            close = at + 1
            while close < end and source[close] != '"':
                close += 2 if source[close] == "\\" else 1
            if patterns:
                patterns[-1].append(source[at : close + 1])
            at = close + 1
            continue
        depth += char in "(["
        depth -= char in ")]"
        if patterns:
            patterns[-1].append(char)
        at += 1
    return [" ".join("".join(chars).split()) for chars in patterns]


_REFERENCE_CAPTURE = re.compile(r"\s*@reference\.[\w.]+")


@functools.cache
def scan_query(name: str) -> tree_sitter.Query:
    """:func:`scan_query_source`, compiled."""
    return tree_sitter.Query(grammar(name), scan_query_source(name))


@functools.cache
def scan_query_source(name: str) -> str:
    """The tags query rewritten for one ``captures()`` pass over the tree.

    ``matches()`` would pair each name with its definition but builds a dictionary per
    match, and references are most matches; one ``captures()`` walk costs half as much.
    Definition names are renamed ``@definition_name`` so that they can be told from
    references; :func:`hermes_lsp.context.tags.extract` pairs them with their nodes. A
    reference's outer node (``@reference.call``...) is matched but not captured: only its
    ``@name`` is read, and every captured node costs an object.
    """
    patterns = []
    for pattern in query_patterns(name):
        if "@definition." in pattern:
            pattern = re.sub(r"@name\b", "@definition_name", pattern)
        patterns.append(_REFERENCE_CAPTURE.sub("", pattern))
    return "\n".join(without_subsumed(patterns))


def _only_a_name(pattern: str) -> bool:
    return pattern.count("@") == 1 and "@name" in pattern and "#" not in pattern


def without_subsumed(patterns: list[str]) -> list[str]:
    """``patterns`` less those that capture a name another one already captures: once a
    reference's outer capture is gone, ``(call function: (attribute attribute: (identifier)
    @name))`` holds ``(attribute attribute: (identifier) @name)`` whole, and every node
    the longer one captures the shorter one captures too. Each pattern costs the query
    a check at every node of every tree."""
    names = [p for p in patterns if _only_a_name(p)]
    return [p for p in patterns if not (_only_a_name(p) and any(q != p and q in p for q in names))]


# Parsers carry per-parse state: one per language per thread.
_local = threading.local()


def parser(name: str) -> tree_sitter.Parser:
    cache: dict[str, tree_sitter.Parser] | None = getattr(_local, "parsers", None)
    if cache is None:
        cache = _local.parsers = {}
    found = cache.get(name)
    if found is None:
        found = cache[name] = tree_sitter.Parser(grammar(name))
    return found

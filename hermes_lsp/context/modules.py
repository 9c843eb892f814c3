"""Module naming: how an import statement may name a file of the workspace.

Both the index (which maps every way of naming a file to the files it may mean) and
retrieval (which resolves the current file's imports) use these; keeping them here lets
neither import the other.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable


@functools.lru_cache(maxsize=65536)
def module_forms(path: str) -> tuple[str, ...]:
    """How an import may name the module at ``path``: ``a/b/c.py`` gives ``a.b.c``, ``b.c``, ``c``..."""
    stem = path.rsplit(".", 1)[0] if "." in path.rsplit("/", 1)[-1] else path
    parts = stem.split("/")
    if len(parts) > 1 and parts[-1] in ("__init__", "index", "mod", "lib"):
        parts = parts[:-1]
    forms = []
    for size in range(len(parts), 0, -1):
        tail = parts[-size:]
        forms.append(".".join(tail))
        if size > 1:
            forms.append("/".join(tail))
    return tuple(forms)


@functools.lru_cache(maxsize=65536)
def packages(path: str) -> tuple[str, ...]:
    """The packages holding ``path`` (``a/b/c.py``: ``a.b``, ``a/b``, ``a``): importing one names it."""
    parts = path.split("/")[:-1]
    out = []
    for size in range(len(parts), 0, -1):
        out.append(".".join(parts[:size]))
        if size > 1:
            out.append("/".join(parts[:size]))
    return tuple(out)


_MODULE_TOKEN = re.compile(r"[\w.$/@-]+")
_SOURCE_SUFFIX = re.compile(r"\.(js|jsx|ts|tsx|mjs|h|hpp|rb|php|lua)$")


def import_tokens(imports_text: str) -> frozenset[str]:
    """Every module-ish token of the import statements, without relative prefixes or extensions."""
    tokens = set()
    for token in _MODULE_TOKEN.findall(imports_text):
        token = _SOURCE_SUFFIX.sub("", token.lstrip("./@").rstrip("."))
        if token:
            tokens.add(token)
    return frozenset(tokens)


def module_map(paths: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Every way of naming a file -> the files it may mean (sorted)."""
    found: dict[str, list[str]] = {}
    for path in sorted(paths):
        for form in module_forms(path):
            found.setdefault(form, []).append(path)
    return {form: tuple(paths) for form, paths in found.items()}

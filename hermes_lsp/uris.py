"""Document URIs and workspace paths: the one place that converts between them.

Editors spell the same file's URI in several ways (``my%20file.py`` or ``my file.py``,
``caf%C3%A9.py`` or ``caf%c3%a9.py`` or ``café.py``). pygls keys its open documents by the
percent-decoded URI; :func:`document_key` gives that same key, so that every lookup in
the server (open documents, completion state, the context engine) finds the document
however the URI was spelled. Edits go back under the URI the editor opened the document
with, which the caller takes from the open document rather than building one.
"""

from __future__ import annotations

import os
from urllib.parse import unquote

from pygls import uris


def document_key(uri: str) -> str:
    """The key an open document is stored under: the URI with percent-escapes decoded."""
    return unquote(uri)


def to_path(uri_or_path: str) -> str:
    """A filesystem path for a ``file:`` URI; a plain path (or another scheme) is returned as is."""
    if uris.uri_scheme(uri_or_path) != "file":
        return uri_or_path
    return uris.to_fs_path(uri_or_path) or uri_or_path


def from_path(path: str) -> str:
    """The ``file:`` URI of an absolute path, percent-encoded the usual way."""
    return uris.from_fs_path(path) or ("file://" + path)


def relative(uri_or_path: str, root: str | None) -> str:
    """Path relative to ``root`` (``/``-separated), or the absolute path when it lies outside.

    Both sides are resolved through symbolic links first, so a document reached through a
    link and the index's view of the same file agree, and a link that leads out of the
    workspace is outside it.
    """
    path = to_path(uri_or_path)
    if not os.path.isabs(path):
        return path.replace(os.sep, "/")
    try:
        real = os.path.realpath(path)
        real_root = os.path.realpath(root) if root else None
    except (OSError, ValueError):  # a NUL byte in the name: no such file can exist
        return path
    if real_root and (real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)):
        return os.path.relpath(real, real_root).replace(os.sep, "/")
    return real

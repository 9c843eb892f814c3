"""Reading pasted stack traces: Python, JavaScript/TypeScript, Go, Rust and Java.

A trace is turned into frames (file, line, function), and each frame is located in the
workspace: absolute paths inside it, paths relative to it, or, for traces from another
machine or a Java class path, the workspace file whose path ends the same way.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlparse

import attrs


@attrs.frozen
class Frame:
    path: str
    """The file as the trace names it."""
    line: int
    function: str = ""


@attrs.frozen
class Located:
    rel: str
    """Path relative to the workspace root."""
    line: int
    function: str


_PYTHON = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>\S+))?')
_JS = re.compile(r"^\s*at (?:(?P<func>[^(]+?) \()?(?P<path>[^()\s]+?):(?P<line>\d+):\d+\)?\s*$")
_GO_FILE = re.compile(r"^\s+(?P<path>\S+\.go):(?P<line>\d+)(?: \+0x[0-9a-f]+)?\s*$")
_GO_FUNC = re.compile(r"^(?P<func>[\w./*()-]+)\(.*\)\s*$")
_RUST = re.compile(r"(?:^\s*at |panicked at )(?P<path>[^\s:]+\.rs):(?P<line>\d+)(?::\d+)?")
_JAVA = re.compile(r"^\s*at (?P<func>[\w$.<>]+)\((?P<file>[\w$]+\.(?:java|kt|scala)):(?P<line>\d+)\)")


def parse_trace(text: str) -> list[Frame]:
    """Frames in the order the trace lists them."""
    frames: list[Frame] = []
    go_function = ""
    for line in text.splitlines():
        if m := _PYTHON.search(line):
            frames.append(Frame(m["path"], int(m["line"]), m["func"] or ""))
        elif m := _JAVA.search(line):
            qualified = m["func"]
            package = qualified.rsplit(".", 2)[0].replace(".", "/") if qualified.count(".") >= 2 else ""
            path = f"{package}/{m['file']}" if package else m["file"]
            frames.append(Frame(path, int(m["line"]), qualified))
        elif m := _JS.search(line):
            path = m["path"]
            if path.startswith("file://"):
                path = unquote(urlparse(path).path)
            if not path.startswith(("node:", "internal/")):
                frames.append(Frame(path, int(m["line"]), (m["func"] or "").strip()))
        elif m := _RUST.search(line):
            frames.append(Frame(m["path"], int(m["line"])))
        elif m := _GO_FILE.search(line):
            frames.append(Frame(m["path"], int(m["line"]), go_function))
        elif m := _GO_FUNC.search(line):
            go_function = m["func"]
    return frames


def locate(frames: Iterable[Frame], root: str, files: list[str], prefer: str | None = None) -> list[Located]:
    """Frames that point into the workspace, with workspace-relative paths (no duplicates).

    ``prefer`` (the file the user is looking at) settles a path tail that several
    workspace files share; other ambiguous frames are left out rather than guessed.
    """
    root = os.path.realpath(root)
    located: list[Located] = []
    seen: set[tuple[str, int]] = set()
    for frame in frames:
        rel = _resolve(frame.path, root, files, prefer)
        if rel is None or (rel, frame.line) in seen:
            continue
        seen.add((rel, frame.line))
        located.append(Located(rel, frame.line, frame.function))
    return located


def _resolve(path: str, root: str, files: list[str], prefer: str | None) -> str | None:
    candidate = path if os.path.isabs(path) else os.path.join(root, path)
    real = os.path.realpath(candidate)
    if real.startswith(root + os.sep) and os.path.isfile(real):
        return os.path.relpath(real, root).replace(os.sep, "/")
    # A path from another machine, a container, or a Java package: match the longest tail.
    parts = path.replace("\\", "/").strip("/").split("/")
    for start in range(len(parts)):
        tail = "/".join(parts[start:])
        matches = [f for f in files if f == tail or f.endswith("/" + tail)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            # Ambiguous: the file in front of the user, or no frame rather than the wrong file.
            return prefer if prefer in matches else None
    return None

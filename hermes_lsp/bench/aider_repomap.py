"""Definition recall of aider's RepoMap, for ``hermes-lsp bench context --aider-python``.

Run by an interpreter that has ``aider-chat`` installed (not hermes-lsp's): it reads the
hidden-line samples the bench wrote, asks RepoMap for a map under the same token budget
with the current file as the chat file (its hidden line blanked) and the identifiers of
the lines around the cursor as mentioned identifiers, and counts the targets whose
definition line appears in the map. Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SHOWN_PREFIX = 80
"""aider cuts long lines in its map: compare their beginnings."""


def main(path: str) -> int:
    from aider.io import InputOutput
    from aider.models import Model
    from aider.repomap import RepoMap

    with open(path) as fh:
        job = json.load(fh)
    # aider keeps its tags cache in the root; keep it out of the measured tree.
    RepoMap.TAGS_CACHE_DIR = tempfile.mkdtemp(prefix="aider-tags-")
    root, budget, samples = job["root"], job["budget"], job["samples"]
    hidden: dict[str, str] = {}

    class Reader(InputOutput):
        def read_text(self, filename: str, silent: bool = False) -> str | None:  # type: ignore[override]
            return hidden.get(os.path.abspath(filename)) or super().read_text(filename, silent)

    files = sorted(
        os.path.join(folder, name)
        for folder, _, names in os.walk(root)
        for name in names
        if name.endswith((".py", ".js", ".ts", ".go", ".rs", ".java"))
    )
    held = total = 0
    started = time.perf_counter()
    for number, sample in enumerate(samples):
        current = os.path.join(root, sample["path"])
        hidden.clear()
        hidden[os.path.abspath(current)] = sample["text"]
        repo_map = RepoMap(map_tokens=budget, root=root, main_model=Model("gpt-4o"), io=Reader(yes=True))
        # The blanked file must not come from aider's tags cache of the real one.
        repo_map.get_mtime = _mtime(repo_map.get_mtime, current, -1.0 - number)
        lines = sample["text"].split("\n")
        row = sample["row"]
        around = "\n".join(lines[max(0, row - 10) : row + 10])
        text = (
            repo_map.get_repo_map(
                [current], [f for f in files if f != current], set(), set(IDENTIFIER.findall(around))
            )
            or ""
        )
        sections = _sections(text)
        for _, definitions in sample["targets"]:
            total += 1
            held += any(_shown(sections, root, p, line) for p, line in definitions)
    elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {
                "recall": held / total if total else float("nan"),
                "identifiers": total,
                "lines": len(samples),
                "seconds_per_line": elapsed / max(1, len(samples)),
            }
        )
    )
    return 0


def _mtime(real: Callable[[str], float | None], current: str, fake: float) -> Callable[[str], float | None]:
    def mtime(name: str) -> float | None:
        return fake if os.path.abspath(name) == current else real(name)

    return mtime


def _sections(text: str) -> dict[str, set[str]]:
    """Map file -> the code lines the map shows for it."""
    out: dict[str, set[str]] = {}
    current: set[str] | None = None
    for line in text.split("\n"):
        if line.startswith("│"):
            if current is not None:
                current.add(line[1:].strip()[:SHOWN_PREFIX])
        elif line.endswith(":") and not line.startswith(("⋮", " ")):
            current = out.setdefault(line[:-1].strip(), set())
    return out


_lines_cache: dict[str, list[str]] = {}


def _shown(sections: dict[str, set[str]], root: str, rel: str, line: int) -> bool:
    shown = sections.get(rel)
    if not shown:
        return False
    if rel not in _lines_cache:
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as fh:
            _lines_cache[rel] = fh.read().split("\n")
    lines = _lines_cache[rel]
    return 0 < line <= len(lines) and lines[line - 1].strip()[:SHOWN_PREFIX] in shown


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

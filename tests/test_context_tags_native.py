"""The C tags pass gives exactly what the Python one gives, for every language and any bytes.

The index tags files with :mod:`hermes_lsp.context._tagscan` (parse, query and extraction
in C); documents open in the editor, and machines without a C compiler, use the Python
pass of :mod:`hermes_lsp.context.tags`. A file must be indexed the same either way.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import threading
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hermes_lsp.context import tags
from hermes_lsp.context.languages import LANGUAGES, language_for_path, parser
from hermes_lsp.text import lf_breaks_bytes

SNIPPETS = Path(__file__).parent / "data" / "context" / "snippets"
FILES = sorted(SNIPPETS.iterdir())


def python_tags(language: str, data: bytes) -> tags.FileTags:
    return tags.extract(language, parser(language).parse(data), data.decode("utf-8", "replace"), data)


def native_tags(language: str, data: bytes) -> tags.FileTags:
    scanner = tags.native_scanner(language)
    assert scanner is not None, f"no C tags pass for {language}"
    definitions, references, imports = scanner.tags(data)
    return tags.FileTags(definitions, references, imports)


def same(language: str, data: bytes) -> None:
    data = lf_breaks_bytes(data)
    expected, got = python_tags(language, data), native_tags(language, data)
    assert got.definitions == expected.definitions
    assert got.references == expected.references
    assert got.imports == expected.imports
    assert all(type(d) is tags.Definition for d in got.definitions)


def test_the_c_pass_is_built_and_serves_every_language() -> None:
    # install.sh builds it; without it the index is tagged in Python, about a tenth slower.
    assert tags._tagscan is not None, "hermes_lsp.context._tagscan is not built"
    for spec in LANGUAGES:
        assert tags.native_scanner(spec.name) is not None, spec.name


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_language_snippet_is_tagged_the_same(path: Path) -> None:
    spec = language_for_path(path.name)
    assert spec is not None
    same(spec.name, path.read_bytes())


def _stdlib_sample() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.glob("*.py") if p.stat().st_size < 200_000)
    return files[::6]


def test_the_standard_library_is_tagged_the_same() -> None:
    """Real code: a sample of the interpreter's own modules, large and small."""
    sample = _stdlib_sample()
    assert len(sample) > 20
    for path in sample:
        same("python", path.read_bytes())


# Pieces that exercise every rule: nesting, owners, decorators, long bodies and lines,
# docstrings, odd whitespace, non-ASCII names, broken UTF-8, lone and paired \r.
_PIECES = [
    b"class A:\n",
    b"class B(A):\n    '''Doc.'''\n",
    b"    def m(self):\n",
    b"        return self.x.y(z)\n",
    b"def f(a, b):\n",
    b"    pass\n",
    b"@dec\n",
    b"x = g(h)\n",
    b"import os\n",
    b"from a import b\n",
    b"\n",
    b"    \n",
    b"  # comment\n",
    "\u00e9t\u00e9 = 1\n".encode(),
    "def \u00e7a():\n".encode(),
    b"\xff\xfe bad bytes \xc3\n",
    b"y = 1\r",
    b"z = 2\r\n",
    b"\x0c\x1c\n",
    "    \u3000x = 1\u00a0\n".encode(),
    b"    " + b"w" * 200 + b"\n",
    b"    '" + "\u00e9".encode() * 120 + b"'\n",
    b"def long(:\n",
    b"):\n",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), max_size=60), st.binary(max_size=40))
def test_any_python_source_is_tagged_the_same(pieces: list[bytes], noise: bytes) -> None:
    same("python", b"".join(pieces) + noise)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(FILES),
    st.lists(st.tuples(st.integers(0, 10_000), st.binary(min_size=1, max_size=12)), max_size=6),
)
def test_damaged_files_of_every_language_are_tagged_the_same(
    path: Path, edits: list[tuple[int, bytes]]
) -> None:
    """Each snippet with bytes cut in or out here and there: broken syntax, broken UTF-8."""
    spec = language_for_path(path.name)
    assert spec is not None
    data = bytearray(path.read_bytes())
    for at, chunk in edits:
        at %= len(data) + 1
        if chunk[0] % 2:
            data[at:at] = chunk
        else:
            del data[at : at + len(chunk)]
    same(spec.name, bytes(data))


def test_tagging_leaks_nothing() -> None:
    """Memory after many passes is what it was after a few (Python objects and the runtime's
    own allocations both go through Python's allocator, which tracemalloc sees)."""
    data = (SNIPPETS / "python.py").read_bytes() * 20
    scanner = tags.native_scanner("python")
    assert scanner is not None
    for _ in range(20):
        scanner.tags(data)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(300):
            scanner.tags(data)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024, grown


def test_each_thread_has_its_own_scanner() -> None:
    """A scanner holds a parser (state per parse): threads never share one."""
    found: dict[str, object] = {}

    def take(name: str) -> None:
        found[name] = tags.native_scanner("python")

    workers = [threading.Thread(target=take, args=(str(i),)) for i in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert found["0"] is not None and found["0"] is not found["1"]
    assert tags.native_scanner("python") not in found.values()


def test_the_python_pass_can_be_chosen() -> None:
    """HERMES_LSP_NATIVE_TAGS=0 tags in Python (to compare the two, or if the C pass misbehaves)."""
    code = (
        "from hermes_lsp.context import tags\n"
        "from hermes_lsp.context.walk import tag_bytes\n"
        "assert tags.native_scanner('python') is None\n"
        "print(tag_bytes('python', b'def f():\\n    return g()\\n').definitions[0].qualname)\n"
    )
    env = {**os.environ, tags.NATIVE_ENV: "0"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "f"

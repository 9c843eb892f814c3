"""Builds the index's C tags pass, ``hermes_lsp.context._tagscan`` (everything else is in
pyproject.toml).

The pass links its own copy of the tree-sitter runtime, the release the ``tree-sitter``
dependency pins, compiled from that release's source distribution: the runtime is C with
no symbols exported from the Python binding, and the grammars' language pointers must be
read by the same code that the binding runs. The source comes from
``$HERMES_LSP_TREE_SITTER_SDIST`` (a path to ``tree_sitter-<version>.tar.gz``, for
offline builds) or is downloaded with pip, and is checked against its known SHA-256.

The extension is optional: without a C compiler or the source, the build says why and
goes on, and the index tags files in Python (the same result, more slowly).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CompileError, LinkError

HERE = Path(__file__).resolve().parent
SDIST_SHA256 = {
    "0.26.1": "9919cbaf02d17fa9a4cd0e6da496aecf901b758e6eacf122eee393e3ef08aacd",
}
"""The source distributions this build trusts, by version."""


def pinned_version() -> str:
    text = (HERE / "pyproject.toml").read_text("utf-8")
    found = re.search(r'"tree-sitter==([^"]+)"', text)
    if found is None:
        raise RuntimeError("pyproject.toml pins no tree-sitter version")
    return found.group(1)


def _sdist(version: str, into: Path) -> Path:
    given = os.environ.get("HERMES_LSP_TREE_SITTER_SDIST")
    if given:
        return Path(given)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--dest",
            str(into),
            f"tree-sitter=={version}",
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"pip download tree-sitter=={version}: {done.stderr.strip()[-500:]}")
    return next(into.glob("tree_sitter-*.tar.gz"))


def runtime_source(version: str) -> Path:
    """The runtime's ``lib`` folder (``src/lib.c``, ``include/``), unpacked once under build/."""
    target = HERE / "build" / f"tree-sitter-{version}"
    lib = target / "lib"
    if (lib / "src" / "lib.c").is_file():
        return lib
    expected = SDIST_SHA256.get(version)
    if expected is None:
        raise RuntimeError(f"no known SHA-256 for tree-sitter {version}: add it to setup.py")
    with tempfile.TemporaryDirectory() as scratch:
        archive = _sdist(version, Path(scratch))
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        if digest != expected:
            raise RuntimeError(f"{archive.name}: SHA-256 {digest}, expected {expected}")
        prefix = f"tree_sitter-{version}/tree_sitter/core/lib/"
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith(prefix) and (m.isfile() or m.isdir())]
            for member in members:
                member.name = member.name[len(prefix) :]
            # Unpacked beside, then moved in whole: an interrupted build leaves no half tree.
            partial = Path(scratch) / "lib"
            tar.extractall(partial, members=members, filter="data")
        target.mkdir(parents=True, exist_ok=True)
        os.replace(partial, lib)
    return lib


class BuildTagscan(build_ext):
    """Fetches the runtime's source first; builds nothing (and says why) when it cannot."""

    def run(self) -> None:
        try:
            lib = runtime_source(pinned_version())
        except Exception as error:  # any failure leaves the Python pass in charge
            print(f"hermes-lsp: not building the C tags pass ({error}); files are tagged in Python")
            return
        for ext in self.extensions:
            ext.sources.append(str(lib / "src" / "lib.c"))
            ext.include_dirs += [str(lib / "include"), str(lib / "src")]
        super().run()

    def build_extension(self, ext: Extension) -> None:
        if self.compiler.compiler_type == "msvc":
            super().build_extension(ext)
            return
        ext.extra_compile_args = ["-std=c11", "-fvisibility=hidden", "-O3"]
        # Link-time optimisation lets the compiler inline the runtime's small functions into
        # the pass and specialise the parser's: the pass runs about 6% faster. A compiler
        # without it builds the plain way.
        ext.extra_compile_args.append("-flto=auto")
        ext.extra_link_args = ["-O3", "-flto=auto"]
        try:
            super().build_extension(ext)
        except (CompileError, LinkError) as error:
            print(f"hermes-lsp: building the C tags pass without link-time optimisation ({error})")
            ext.extra_compile_args.remove("-flto=auto")
            ext.extra_link_args = []
            super().build_extension(ext)


setup(
    cmdclass={"build_ext": BuildTagscan},
    ext_modules=[
        Extension(
            "hermes_lsp.context._tagscan",
            sources=["hermes_lsp/context/_tagscan.c"],
            define_macros=[
                # The runtime's functions stay private to this module (and calls between
                # them direct: the query runs a fifth faster than through the PLT).
                ("TREE_SITTER_HIDE_SYMBOLS", None),
                ("_DEFAULT_SOURCE", None),
                ("NDEBUG", None),
            ],
            optional=True,
        )
    ],
)

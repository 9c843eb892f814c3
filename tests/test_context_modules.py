"""Module naming, and the import structure it lets the context package keep."""

from __future__ import annotations

import subprocess
import sys

from hermes_lsp.context.modules import import_tokens, module_forms, module_map, packages


def _loaded_after(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_prompt_code_does_not_load_the_lsp_stack() -> None:
    loaded = _loaded_after("hermes_lsp.model.hermes")
    assert not {name for name in loaded if name.split(".")[0] in ("lsprotocol", "pygls")}


def test_index_does_not_load_retrieval() -> None:
    assert "hermes_lsp.context.retrieve" not in _loaded_after("hermes_lsp.context.index")


def test_forms_packages_and_tokens() -> None:
    assert module_forms("a/b/c.py") == ("a.b.c", "a/b/c", "b.c", "b/c", "c")
    assert module_forms("pkg/__init__.py") == ("pkg",)
    assert packages("a/b/c.py") == ("a.b", "a/b", "a")
    assert import_tokens("from ..a.b import c\nimport x from './d/e.js'") >= {"a.b", "c", "d/e"}
    assert module_map(["a/b.py", "c/b.py"])["b"] == ("a/b.py", "c/b.py")

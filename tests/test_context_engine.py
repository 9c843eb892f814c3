"""The context engine end to end: indexing a small project, retrieval, live documents, lookups."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import pytest
from lsprotocol import types

from hermes_lsp.config import IndexSettings
from hermes_lsp.context import engine as engine_module
from hermes_lsp.context.engine import WorkspaceContext
from hermes_lsp.context.types import ContextEngine, Piece
from hermes_lsp.text import apply_changes

PRICING = '''"""Prices and taxes."""


def apply_discount(price: float, percent: float) -> float:
    """The price after a percentage discount."""
    return price * (1 - percent / 100)


class TaxTable:
    """Tax rates by region."""

    def rate(self, region: str) -> float:
        return 0.2 if region == "eu" else 0.1
'''

CART = """from shop.pricing import TaxTable, apply_discount


class Cart:
    def __init__(self, items):
        self.items = items

    def total(self, region):
        subtotal = sum(item.price for item in self.items)
        discounted = apply_discount(subtotal, 10)
        return discounted * (1 + TaxTable().rate(region))
"""

DECOY = """def apply_discount(value):
    return value
"""


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERMES_LSP_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    for rel, text in {
        "shop/__init__.py": "",
        "shop/pricing.py": PRICING,
        "shop/cart.py": CART,
        "legacy/discounts.py": DECOY,
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@pytest.fixture
def engine(project: Path) -> WorkspaceContext:
    ctx = WorkspaceContext(IndexSettings())
    ctx.start_sync(str(project))
    yield ctx
    ctx.close()


def _uri(root: Path, rel: str) -> str:
    return (root / rel).as_uri()


def _definitions(pieces: list[Piece]) -> set[tuple[str, int]]:
    return {(p.path, p.start_line) for p in pieces if p.kind == "definition"}


def test_satisfies_the_seam() -> None:
    members = [n for n, v in vars(ContextEngine).items() if callable(v) and not n.startswith("_")]
    assert "context" in members
    for name in members:
        expected = list(inspect.signature(getattr(ContextEngine, name)).parameters)
        assert list(inspect.signature(getattr(WorkspaceContext, name)).parameters) == expected, name


def test_definition_from_another_file_resolved_through_imports(
    engine: WorkspaceContext, project: Path
) -> None:
    text = CART.replace("        discounted = apply_discount(subtotal, 10)\n", "        discounted = \n")
    offset = text.index("discounted = ") + len("discounted = ")
    uri = _uri(project, "shop/cart.py")
    engine.open_document(uri, text, "python", 1)
    pieces = engine.context(uri, text, offset, 2048, "completion")
    found = _definitions(pieces)
    assert ("shop/pricing.py", 4) in found  # apply_discount, through the import
    assert ("legacy/discounts.py", 1) not in found  # same name, not imported
    assert ("shop/pricing.py", 9) in found  # TaxTable, with its method signature
    table = next(p for p in pieces if p.path == "shop/pricing.py" and p.start_line == 9)
    assert "def rate(self, region: str) -> float:" in table.text
    # The current file is already in the prompt: none of it comes back as context.
    assert all(p.path != "shop/cart.py" for p in pieces)


def test_budget_order_and_determinism(engine: WorkspaceContext, project: Path) -> None:
    uri = _uri(project, "shop/cart.py")
    engine.open_document(uri, CART, "python", 1)
    engine.open_document(_uri(project, "shop/pricing.py"), PRICING, "python", 1)
    offset = CART.index("return discounted")
    for budget in (0, 20, 60, 300, 2048):
        pieces = engine.context(uri, CART, offset, budget, "completion")
        assert sum(p.tokens for p in pieces) <= budget
    pieces = engine.context(uri, CART, offset, 2048, "refactor")
    assert pieces == engine.context(uri, CART, offset, 2048, "refactor")
    kinds = [p.kind for p in pieces]
    order = ["map", "import", "scope", "definition", "snippet"]
    assert kinds == sorted(kinds, key=order.index)
    assert "map" in kinds
    definitions = [(p.path, p.start_line) for p in pieces if p.kind == "definition"]
    assert definitions == sorted(definitions)


def test_snippets_come_from_recent_documents(engine: WorkspaceContext, project: Path) -> None:
    other = "def checkout(cart, region):\n    subtotal = sum(item.price for item in cart.items)\n"
    other += "    return subtotal\n"
    engine.open_document("untitled:Scratch-1", other, "python", 1)
    text = "def refund(order):\n    subtotal = sum(item.price for item in order.items)\n"
    uri = _uri(project, "shop/refunds.py")
    engine.open_document(uri, text, "python", 1)
    pieces = engine.context(uri, text, len(text), 1024, "completion")
    snippets = [p for p in pieces if p.kind == "snippet"]
    assert [p.path for p in snippets] == ["untitled:Scratch-1"]
    assert "checkout" in snippets[0].text


def test_scopes_and_imports_outside_the_window(engine: WorkspaceContext, project: Path) -> None:
    filler = "".join(f"        value_{i} = {i}\n" for i in range(1200))
    text = "import os\n\n\nclass Big:\n    def method(self, arg):\n" + filler + "        return "
    uri = _uri(project, "big.py")
    engine.open_document(uri, text, "python", 1)
    pieces = engine.context(uri, text, len(text), 512, "completion")
    by_kind = {p.kind: p for p in pieces}
    assert by_kind["import"].text == "import os"
    scopes = [p.text for p in pieces if p.kind == "scope"]
    assert scopes == ["class Big:", "    def method(self, arg):"]


def test_plain_text_file_still_gets_context(engine: WorkspaceContext, project: Path) -> None:
    text = "Remember: call apply_discount before TaxTable.rate\n"
    uri = _uri(project, "NOTES.txt")
    pieces = engine.context(uri, text, len(text), 1024, "completion")
    assert ("shop/pricing.py", 9) in _definitions(pieces)


def test_lookups(engine: WorkspaceContext, project: Path) -> None:
    (symbol,) = engine.find_symbols("TaxTable.rate")
    assert (symbol.path, symbol.start_line, symbol.end_line, symbol.kind) == (
        "shop/pricing.py",
        12,
        13,
        "method",
    )
    assert [s.name for s in engine.find_symbols("pricing.TaxTable.rate")] == []
    assert {s.path for s in engine.find_symbols("apply_discount")} == {
        "shop/pricing.py",
        "legacy/discounts.py",
    }
    assert [s.path for s in engine.find_symbols("apply_discount", "legacy/discounts.py")] == [
        "legacy/discounts.py"
    ]
    assert [s.name for s in engine.list_symbols("shop/pricing.py")] == [
        "apply_discount",
        "TaxTable",
        "TaxTable.rate",
    ]
    refs = engine.find_references("apply_discount")
    assert [(r.path, r.start_line) for r in refs] == [("shop/cart.py", 10)]
    assert "apply_discount(subtotal, 10)" in refs[0].text
    piece = engine.read_file("shop/pricing.py", 4, 6)
    assert piece is not None and piece.text.startswith("def apply_discount") and piece.end_line == 6
    assert engine.read_file("../outside.py") is None


# Documents above INLINE_CHARS are cut and tagged in a background thread.
@pytest.mark.parametrize("inline_chars", [65536, 16], ids=["on-the-loop", "in-the-background"])
async def test_background_start_progress_and_live_updates(
    project: Path, monkeypatch: pytest.MonkeyPatch, inline_chars: int
) -> None:
    monkeypatch.setattr(engine_module, "IDLE_REFRESH_S", 0.05)
    monkeypatch.setattr(engine_module, "INLINE_CHARS", inline_chars)
    messages: list[str | None] = []
    ctx = WorkspaceContext(IndexSettings())
    await ctx.start(str(project), lambda message, percent: messages.append(message))
    await ctx.wait_ready()
    assert messages[0] == "Indexing 0/4 files" and messages[-1] is None
    assert ctx.find_symbols("apply_discount")

    # An edit to an open document reaches the index once typing pauses.
    uri = _uri(project, "shop/pricing.py")
    ctx.open_document(uri, PRICING, "python", 1)
    change = types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(2, 0), types.Position(2, 0)),
        text="def shipping_cost():\n    return 5\n",
    )
    text_after = PRICING.replace("\n\n\ndef apply", "\n\ndef shipping_cost():\n    return 5\n\ndef apply", 1)
    ctx.change_document(uri, apply_changes(PRICING, [change], "utf-16"), 2)
    assert ctx.documents[uri].text == text_after
    for _ in range(100):
        if ctx.find_symbols("shipping_cost"):
            break
        await asyncio.sleep(0.02)
    assert [s.start_line for s in ctx.find_symbols("shipping_cost")] == [3]

    # Closing it unsaved: the file on disk is the truth again.
    ctx.close_document(uri)
    # A file changed on disk (didSave / didChangeWatchedFiles).
    (project / "shop" / "cart.py").write_text("def total_of(cart):\n    return 0\n")
    ctx.files_changed([str(project / "shop" / "cart.py")])
    for _ in range(100):
        if ctx.find_symbols("total_of") and not ctx.find_symbols("shipping_cost"):
            break
        await asyncio.sleep(0.02)
    assert ctx.find_symbols("total_of") and not ctx.find_symbols("shipping_cost")
    assert not ctx.find_symbols("Cart")
    await ctx.stop()


async def test_after_typing_pauses_the_index_update_brings_back_what_the_next_keystroke_reads(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "IDLE_REFRESH_S", 0.05)
    ctx = WorkspaceContext(IndexSettings())
    await ctx.start(str(project), lambda message, percent: None)
    await ctx.wait_ready()
    uri = _uri(project, "shop/cart.py")
    ctx.open_document(uri, CART, "python", 1)
    assert ctx.looked_ahead()
    index = ctx.index
    assert index is not None and index.by_name.in_memory("apply_discount")
    views = index.by_name
    change = types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(0, 0), types.Position(0, 0)), text="# a comment\n"
    )
    ctx.change_document(uri, apply_changes(CART, [change], "utf-16"), 2)
    for _ in range(200):  # the pause's update swaps the index's views, then looks ahead again
        if index.by_name is not views and index.by_name.in_memory("apply_discount"):
            break
        await asyncio.sleep(0.02)
    assert index.by_name is not views, "the update did not reach the index"
    # What the document uses is in memory again, without a completion having asked for it.
    assert ctx.looked_ahead() and index.by_name.in_memory("apply_discount")
    await ctx.stop()


async def test_no_workspace_and_missing_folder(tmp_path: Path) -> None:
    problems: list[str] = []
    ctx = WorkspaceContext(IndexSettings(), on_problem=problems.append)
    await ctx.start(None, lambda message, percent: None)
    ctx.open_document("untitled:1", "def helper():\n    pass\n", "python", 1)
    assert ctx.context("untitled:1", "x", 1, 512, "completion") == []
    await ctx.stop()

    missing = WorkspaceContext(IndexSettings(), on_problem=problems.append)
    await missing.start(str(tmp_path / "gone"), lambda message, percent: None)
    await missing.wait_ready()
    await asyncio.sleep(0)
    assert problems and "does not exist" in problems[0]
    await missing.stop()


async def test_disabled_index(project: Path) -> None:
    ctx = WorkspaceContext(IndexSettings(enable=False))
    await ctx.start(str(project), lambda message, percent: None)
    assert ctx.index is None and ctx.find_symbols("apply_discount") == []
    await ctx.stop()


def test_opening_a_file_brings_what_it_uses_into_memory(engine: WorkspaceContext, project: Path) -> None:
    index = engine.index
    assert index is not None
    index.views.forget_all()
    engine.open_document(_uri(project, "shop/cart.py"), CART, "python", 1)
    engine._warmer.submit(lambda: None).result(timeout=30)  # the look-ahead has run
    # Before any completion: the names the file uses and the module it imports are in memory.
    held = index.by_name.cache.get("apply_discount")
    assert held is not None and [d.path for d in held] == ["legacy/discounts.py", "shop/pricing.py"]
    assert index.by_path.cache.get("shop/pricing.py") is not None
    assert index.by_module.cache.get("shop.pricing") == ("shop/pricing.py",)

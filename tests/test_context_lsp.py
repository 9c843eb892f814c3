"""The context engine inside the running server: indexing progress over LSP, and a
definition from another file of the workspace reaching the model's prompt."""

from __future__ import annotations

from pathlib import Path

import pytest_lsp
from pytest_lsp import LanguageClient

from hermes_lsp.scripted_server import Reply, ScriptedServer
from tests.support.lsp import initialize, inline, open_document, server_config, until

PRICING = '''def apply_discount(price: float, percent: float) -> float:
    """The price after a percentage discount."""
    return price * (1 - percent / 100)
'''
CART = "from shop.pricing import apply_discount\n\n\ndef checkout(total):\n    return \n"


@pytest_lsp.fixture(scope="module", config=server_config())
async def client(lsp_client: LanguageClient, scripted_session: ScriptedServer, tmp_path_factory):
    root = tmp_path_factory.mktemp("workspace")
    (root / "shop").mkdir()
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "pricing.py").write_text(PRICING)
    (root / "shop" / "cart.py").write_text(CART)
    lsp_client.set_configuration({"hermes": {}})
    await initialize(lsp_client, {"endpoint": scripted_session.url}, root.as_uri())
    lsp_client.root = root  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


def _progress_messages(client: LanguageClient) -> list[str]:
    return [
        getattr(report, "message", None) or ""
        for reports in client.progress_reports.values()
        for report in reports
    ]


async def test_indexing_progress_is_reported(client: LanguageClient):
    assert await until(lambda: any(m.startswith("Indexing") for m in _progress_messages(client)))


async def test_prompt_holds_a_definition_from_another_file(client: LanguageClient, scripted: ScriptedServer):
    root: Path = client.root  # type: ignore[attr-defined]
    uri = (root / "shop" / "cart.py").as_uri()
    open_document(client, uri, CART)
    signature = "def apply_discount(price: float, percent: float) -> float:"

    prompts: list[str] = []
    scripted.script(Reply(text="apply_discount(total, 10)"))
    # The index builds in the background: keystrokes before it is ready go without context
    # (identical prompts after it are answered from the completion cache, not re-sent).
    for _ in range(50):
        await inline(client, uri, 4, 11)
        prompts.extend(request.prompt for request in scripted.model_requests())
        if any(signature in p for p in prompts):
            break
        scripted.reset()
        scripted.script(Reply(text="apply_discount(total, 10)"))
    with_context = [p for p in prompts if signature in p]
    assert with_context, prompts
    assert "shop/pricing.py" in with_context[0]
    # Context comes before the live lines at the cursor, which the prompt ends with.
    assert with_context[0].index(signature) < with_context[0].rindex("def checkout(total):")

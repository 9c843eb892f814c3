"""hermes.whyNoSuggestion over stdio: what became of a document's last completion request.
A server of its own: the model error below pops up a message, which would use up the
pop-up budget of a client shared with other tests."""

from __future__ import annotations

from lsprotocol import types
from pytest_lsp import LanguageClient

from hermes_lsp.config import LimitSettings
from hermes_lsp.scripted_server import Reply, ScriptedServer
from tests.support.lsp import inline, insert, open_document, push_settings, scripted_client

ROOT = "file:///tmp/hermes-why"


client = scripted_client(ROOT)


def doc(name: str) -> str:
    return f"{ROOT}/{name}"


async def why(client: LanguageClient, uri: str) -> dict[str, str]:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="hermes.whyNoSuggestion", arguments=[{"uri": uri}])
    )


async def test_why_no_suggestion_tells_what_became_of_the_last_request(
    client: LanguageClient, scripted: ScriptedServer
):
    uri = doc("why.py")
    open_document(client, uri, "def add(a, b):\n    \n")
    assert (await why(client, uri))["kind"] == "none"

    scripted.script(Reply(text="", times=1), Reply(status=500, times=1), Reply(text="return a + b"))
    assert not (await inline(client, uri, 1, 4)).items
    empty = await why(client, uri)
    assert empty == {
        "kind": "empty",
        "message": "The model answered, but with nothing to insert at the cursor.",
    }

    insert(client, uri, 2, 1, 4, "r")
    assert not (await inline(client, uri, 1, 5)).items
    failed = await why(client, uri)
    assert failed["kind"] == "model-error" and failed["message"].startswith(
        "The model server answered with an error"
    )

    insert(client, uri, 3, 1, 5, "e")
    shown = await inline(client, uri, 1, 6)
    assert shown.items
    assert (await why(client, uri))["kind"] == "shown"


async def test_an_answer_cut_short_by_the_deadline_is_named(client: LanguageClient, scripted: ScriptedServer):
    push_settings(client, {"limits": {"completionDeadlineMs": 500}})
    try:
        uri = doc("slow.py")
        open_document(client, uri, "def slow():\n    return \n")
        scripted.script(Reply(text="compute_the_answer()", chunk_size=1, chunk_delay=0.3))
        assert not (await inline(client, uri, 1, 11)).items
        answer = await why(client, uri)
        assert answer["kind"] == "cut-short"
        assert "limits.completionDeadlineMs" in answer["message"]
    finally:
        push_settings(client, {"limits": {"completionDeadlineMs": LimitSettings().completion_deadline_ms}})


async def test_a_prompt_the_model_cannot_take_is_named(client: LanguageClient, scripted: ScriptedServer):
    refusal = (
        "This model's maximum context length is 4096 tokens. However, you requested 4898 tokens "
        "(4770 in the messages, 128 in the completion). Please reduce the length of the messages."
    )
    scripted.script(Reply(status=400, body=refusal))  # refused, and refused again once shrunk
    uri = doc("long.py")
    open_document(client, uri, "def long():\n    return \n")
    assert not (await inline(client, uri, 1, 11)).items
    answer = await why(client, uri)
    assert answer["kind"] == "too-long"
    assert answer["message"].startswith("The prompt did not fit the model's context")

"""The Hermes tool-call parser on what models really write."""

from __future__ import annotations

import json

from hermes_lsp.model.tools import EDIT_TOOLS, READ_TOOLS, parse_reply, system_prompt, tool_response


def test_a_clean_call():
    reply = parse_reply(
        '<tool_call>\n{"name": "read_file", "arguments": {"path": "a.py", "start_line": 1, "end_line": 9}}\n'
        "</tool_call>"
    )
    assert [(c.name, c.arguments["path"]) for c in reply.calls] == [("read_file", "a.py")]
    assert reply.errors == [] and reply.text == ""


def test_no_newlines_several_calls_and_trailing_text():
    reply = parse_reply(
        'Let me look.<tool_call>{"name":"list_symbols","arguments":{"path":"a.py"}}</tool_call>'
        '<tool_call>{"name":"find_references","arguments":{"name":"f"}} trailing words</tool_call>'
        "I will wait for the results."
    )
    assert [c.name for c in reply.calls] == ["list_symbols", "find_references"]
    assert reply.text == "Let me look.I will wait for the results."


def test_calls_inside_thinking_are_ignored():
    reply = parse_reply(
        '<think>maybe <tool_call>{"name": "create_file", "arguments": {"path": "x", "content": ""}}'
        "</tool_call> no</think>"
        '<tool_call>{"name": "list_symbols", "arguments": {"path": "a.py"}}</tool_call>'
    )
    assert [c.name for c in reply.calls] == ["list_symbols"]
    assert "maybe" in reply.thinking


def test_thinking_closed_without_an_opening_tag():
    reply = parse_reply('drafting</think>\n<tool_call>{"name": "list_symbols", "arguments": {"path": "a"}}')
    assert [c.name for c in reply.calls] == ["list_symbols"] and reply.thinking == "drafting"


def test_missing_closing_tag_and_fenced_json():
    reply = parse_reply('<tool_call>\n```json\n{"name": "read_symbol", "arguments": {"name": "f"}}\n```')
    assert [c.name for c in reply.calls] == ["read_symbol"]


def test_arguments_as_a_json_string():
    reply = parse_reply(
        '<tool_call>{"name": "search_replace", "arguments": "{\\"path\\": \\"a.py\\", '
        '\\"search\\": \\"x\\", \\"replace\\": \\"y\\"}"}</tool_call>'
    )
    assert reply.calls[0].arguments == {"path": "a.py", "search": "x", "replace": "y"}


def test_broken_json_is_reported_not_guessed():
    reply = parse_reply(
        '<tool_call>{"name": "search_replace", "arguments": {"path": "a.py",}</tool_call>done'
    )
    assert reply.calls == []
    assert len(reply.errors) == 1 and reply.errors[0].startswith(
        "tool call 1 could not be read: invalid JSON"
    )
    assert reply.text == "done"


def test_call_without_a_name():
    reply = parse_reply('<tool_call>{"arguments": {}}</tool_call>')
    assert reply.errors == ['tool call 1 could not be read: expected {"name": ..., "arguments": {...}}']


def test_plain_answer_has_no_calls():
    reply = parse_reply("I renamed the variable and updated both callers.")
    assert reply.calls == [] and reply.text.startswith("I renamed")


def test_system_prompt_declares_every_tool_and_thinking_only_when_asked():
    quick = system_prompt("Be careful.", EDIT_TOOLS + READ_TOOLS, reasoning=False)
    deep = system_prompt("Be careful.", EDIT_TOOLS, reasoning=True)
    block = quick[quick.index("<tools>\n") + 8 : quick.index("\n</tools>")]
    names = {json.loads(line)["function"]["name"] for line in block.strip().splitlines()}
    assert names == {
        "replace_symbol", "search_replace", "insert_code", "create_file",
        "read_symbol", "find_references", "read_file", "list_symbols",
    }  # fmt: skip
    assert "<think>" not in quick and "<think>" in deep


def test_tool_response_round_trips_as_json():
    text = tool_response("read_file", {"text": 'say "hi"'})
    body = text.removeprefix("<tool_response>\n").removesuffix("\n</tool_response>")
    assert json.loads(body) == {"name": "read_file", "content": {"text": 'say "hi"'}}


def test_python_literal_dict_as_older_hermes_models_write_it():
    reply = parse_reply(
        "<tool_call>\n{'arguments': {'path': 'a.py', 'search': \"it's\", 'replace': 'it is'}, "
        "'name': 'search_replace'}\n</tool_call>"
    )
    assert reply.errors == []
    assert reply.calls[0].name == "search_replace"
    assert reply.calls[0].arguments == {"path": "a.py", "search": "it's", "replace": "it is"}


def test_several_objects_or_a_list_in_one_block():
    back_to_back = parse_reply(
        '<tool_call>{"name": "list_symbols", "arguments": {"path": "a.py"}}\n'
        '{"name": "list_symbols", "arguments": {"path": "b.py"}}</tool_call>'
    )
    listed = parse_reply(
        '<tool_call>[{"name": "read_symbol", "arguments": {"name": "f"}}, '
        '{"name": "find_references", "arguments": {"name": "f"}}]</tool_call>'
    )
    assert [c.arguments["path"] for c in back_to_back.calls] == ["a.py", "b.py"]
    assert [c.name for c in listed.calls] == ["read_symbol", "find_references"]


def test_braces_inside_code_arguments_do_not_confuse_the_parser():
    code = 'def f():\n    return {"a": [1, 2]}  # } ] {\n'
    reply = parse_reply(
        "<tool_call>"
        + json.dumps({"name": "replace_symbol", "arguments": {"path": "a.py", "symbol": "f", "code": code}})
        + " I replaced f.</tool_call>"
    )
    assert reply.errors == [] and reply.calls[0].arguments["code"] == code


def test_second_call_opened_before_the_first_is_closed():
    reply = parse_reply(
        '<tool_call>{"name": "read_symbol", "arguments": {"name": "f"}}\n'
        '<tool_call>{"name": "read_symbol", "arguments": {"name": "g"}}</tool_call>'
    )
    assert [c.arguments["name"] for c in reply.calls] == ["f", "g"]


def test_empty_arguments_string_means_no_arguments():
    reply = parse_reply('<tool_call>{"name": "list_symbols", "arguments": ""}</tool_call>')
    assert reply.calls[0].arguments == {}

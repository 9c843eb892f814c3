"""Function calling in the Hermes 4 format, parsed on the client side.

Tools are described as JSON schemas inside ``<tools>…</tools>`` in the system message;
the model answers with ``<tool_call>{"name": …, "arguments": …}</tool_call>`` blocks and we
send results back inside ``<tool_response>`` tags. The parser is tolerant of what models
really emit: calls without newlines, several calls in one turn (or in one block, or as a
list), a JSON object followed by chatter, arguments given as a JSON string, Python-literal
dicts (single quotes, as older Hermes models write them), a missing closing tag at the end. Calls
written while thinking (inside ``<think>``) are ignored: they are drafts, not actions.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

import attrs

from hermes_lsp.model.hermes import THINKING_DIRECTIVE


def _tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


_PATH = {"type": "string", "description": "File path relative to the workspace root."}

EDIT_TOOLS = [
    _tool(
        "replace_symbol",
        "Replace the whole definition of a function, method or class with new code. Give the "
        "complete new definition, including its signature and decorators.",
        {
            "path": _PATH,
            "symbol": {"type": "string", "description": "Name of the definition; Class.method for members."},
            "code": {"type": "string", "description": "The complete new definition."},
        },
        ["path", "symbol", "code"],
    ),
    _tool(
        "search_replace",
        "Replace one exact piece of a file. `search` must occur exactly once: copy it from the "
        "file, with enough surrounding lines to make it unique.",
        {
            "path": _PATH,
            "search": {"type": "string", "description": "Text to find, copied from the file."},
            "replace": {"type": "string", "description": "Text to put in its place."},
        },
        ["path", "search", "replace"],
    ),
    _tool(
        "insert_code",
        "Insert new code just before or just after the definition named `anchor`.",
        {
            "path": _PATH,
            "anchor": {"type": "string", "description": "Name of an existing definition (Class.method)."},
            "where": {"type": "string", "enum": ["before", "after"]},
            "code": {"type": "string", "description": "The code to insert."},
        },
        ["path", "anchor", "where", "code"],
    ),
    _tool(
        "create_file",
        "Create a new file with the given content. Fails if the file exists.",
        {"path": _PATH, "content": {"type": "string"}},
        ["path", "content"],
    ),
]

READ_TOOLS = [
    _tool(
        "read_symbol",
        "Show the full source of a definition.",
        {"name": {"type": "string", "description": "Definition name (Class.method)."}, "path": _PATH},
        ["name"],
    ),
    _tool(
        "find_references",
        "List the places in the workspace that use a name.",
        {"name": {"type": "string"}},
        ["name"],
    ),
    _tool(
        "read_file",
        "Show lines of a file (1-based, inclusive).",
        {"path": _PATH, "start_line": {"type": "integer"}, "end_line": {"type": "integer"}},
        ["path", "start_line", "end_line"],
    ),
    _tool("list_symbols", "List the definitions in a file.", {"path": _PATH}, ["path"]),
]

EDIT_TOOL_NAMES = frozenset(t["function"]["name"] for t in EDIT_TOOLS)
READ_TOOL_NAMES = frozenset(t["function"]["name"] for t in READ_TOOLS)


def tools_block(tools: list[dict[str, Any]]) -> str:
    """The system-prompt section that declares the tools, in Hermes' own format."""
    schemas = "\n".join(json.dumps(t, separators=(",", ":")) for t in tools)
    return (
        "You may call functions to read the workspace and to make edits. Their signatures are "
        f"inside <tools></tools> XML tags:\n<tools>\n{schemas}\n</tools>\n"
        "To call a function, write a JSON object with its name and arguments inside "
        "<tool_call></tool_call> tags, one object per call:\n"
        '<tool_call>\n{"name": "<function-name>", "arguments": {"<arg>": "<value>"}}\n</tool_call>\n'
        "Each result comes back inside <tool_response></tool_response> tags. Never use line "
        "numbers to edit; use the edit functions. When you are done, stop calling functions "
        "and answer in plain text: what you changed and why."
    )


def system_prompt(instructions: str, tools: list[dict[str, Any]], *, reasoning: bool) -> str:
    """The whole system message for an action: thinking directive (opt-in), role, tools."""
    parts = [THINKING_DIRECTIVE] if reasoning else []
    parts += [instructions, tools_block(tools)]
    return "\n\n".join(parts)


@attrs.frozen
class ToolCall:
    name: str
    arguments: dict[str, Any]


@attrs.frozen
class ParsedReply:
    """One model turn, taken apart."""

    calls: list[ToolCall]
    errors: list[str]
    """Calls that could not be read, described for the model."""
    text: str
    """What the model said outside tool calls and reasoning."""
    thinking: str


_THINK = re.compile(r"<think>(.*?)(?:</think>|$)", re.DOTALL)
_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|(?=<tool_call>)|$)", re.DOTALL)
_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")


def parse_reply(text: str) -> ParsedReply:
    """Split a model turn into tool calls, errors, plain answer text and reasoning."""
    thinking = "\n".join(m.group(1).strip() for m in _THINK.finditer(text))
    visible = _THINK.sub("", text)
    if "</think>" in visible:  # reasoning without an opening tag (the template added it)
        head, _, visible = visible.rpartition("</think>")
        thinking = (thinking + "\n" + head).strip()
    calls: list[ToolCall] = []
    errors: list[str] = []
    for index, match in enumerate(_CALL.finditer(visible), start=1):
        found, error = _read_calls(match.group(1))
        calls.extend(found)
        if error:
            errors.append(f"tool call {index} could not be read: {error}")
    answer = _CALL.sub("", visible).replace("</tool_call>", "").strip()
    return ParsedReply(calls, errors, answer, thinking)


def _read_calls(body: str) -> tuple[list[ToolCall], str]:
    """The calls in one ``<tool_call>`` block: usually one object, sometimes several or a list."""
    body = _FENCE.sub("", body.strip())
    start = body.find("{")
    if start == -1:
        return [], "no JSON object inside <tool_call>"
    objects: list[Any]
    try:
        if body.startswith("["):  # a JSON list of calls
            data, _ = _decode(body, 0)
            objects = data if isinstance(data, list) else [data]
        else:
            # Several objects back to back; raw_decode stops at the end of each, so
            # trailing chatter after the last one is ignored.
            objects, position = [], start
            while True:
                data, end = _decode(body, position)
                objects.append(data)
                rest = body[end:].lstrip(" \t\r\n,")
                if not rest.startswith("{"):
                    break
                position = len(body) - len(rest)
    except ValueError as exc:
        return [], str(exc)
    calls = []
    for data in objects:
        call, error = _to_call(data)
        if call is None:
            return calls, error
        calls.append(call)
    return calls, ""


def _decode(body: str, start: int) -> tuple[Any, int]:
    """One JSON value at ``start``; Python-literal dicts (single quotes, True/None) are accepted
    too, because Hermes models trained on that older format still write them."""
    try:
        return json.JSONDecoder().raw_decode(body, start)
    except json.JSONDecodeError as exc:
        error = f"invalid JSON ({exc.msg} at character {exc.pos - start})"
        end = _balanced_end(body, start)
        if end is not None:
            try:
                return ast.literal_eval(body[start:end]), end
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                pass
        raise ValueError(error) from exc


def _balanced_end(body: str, start: int) -> int | None:
    """End of the bracketed value at ``start``, skipping over quoted strings."""
    depth = 0
    quote = ""
    escaped = False
    for index in range(start, len(body)):
        char = body[index]
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return index + 1
    return None


def _to_call(data: Any) -> tuple[ToolCall | None, str]:
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return None, 'expected {"name": ..., "arguments": {...}}'
    arguments = data.get("arguments", data.get("parameters", {}))
    if isinstance(arguments, str):  # OpenAI style: arguments as a JSON string
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as exc:
            return None, f"arguments of {data['name']} are not valid JSON ({exc.msg})"
    if not isinstance(arguments, dict):
        return None, f"arguments of {data['name']} must be an object"
    return ToolCall(data["name"], arguments), ""


def tool_response(name: str, content: Any) -> str:
    """A tool result as the model expects it back."""
    payload = json.dumps({"name": name, "content": content}, ensure_ascii=False)
    return f"<tool_response>\n{payload}\n</tool_response>"

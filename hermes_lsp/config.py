"""Settings: the ``hermes`` section that editors send, as attrs classes.

Keys are camelCase on the wire (``completion.debounceMs``) and snake_case here; each
field's value is checked against its type and validator one by one (the lsprotocol
converter only structures types without a rule of their own), so each rejected value
gets its own message. Settings arrive from ``initializationOptions``,
``workspace/configuration`` and ``workspace/didChangeConfiguration``; environment
variables supply the defaults. A value that cannot be used is reported (naming the key)
and replaced by its default, so one typo never disables the whole section.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any, Literal, get_args

import attrs


@functools.cache
def _converter() -> Any:
    """lsprotocol's converter, for values whose type has no explicit rule in ``_convert``.

    Made on first use: lsprotocol takes a quarter of a second to import, and commands that
    never read settings from an editor (``hermes-lsp index``) do without it."""
    from lsprotocol.converters import get_converter

    return get_converter()


DEFAULT_ENDPOINT = "http://127.0.0.1:8000/v1"


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def _env_endpoint() -> str:
    # An unusable variable must not stop the server from starting; env_problems() reports it.
    value = _env("HERMES_LSP_ENDPOINT", DEFAULT_ENDPOINT)
    return value if value.startswith(("http://", "https://")) else DEFAULT_ENDPOINT


def env_problems() -> list[str]:
    """Environment variables whose values cannot be used (their defaults are used instead)."""
    value = os.environ.get("HERMES_LSP_ENDPOINT")
    if value is not None and not value.startswith(("http://", "https://")):
        return [f"HERMES_LSP_ENDPOINT must start with http:// or https:// (got {value!r})"]
    return []


def _non_negative(instance: object, attribute: attrs.Attribute, value: float) -> None:
    if value < 0:
        raise ValueError("must not be negative")


def _positive(instance: object, attribute: attrs.Attribute, value: float) -> None:
    if value <= 0:
        raise ValueError("must be greater than zero")


def _http_url(instance: object, attribute: attrs.Attribute, value: str) -> None:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")


def _empty_or_http_url(instance: object, attribute: attrs.Attribute, value: str) -> None:
    if value:
        _http_url(instance, attribute, value)


def _temperature(instance: object, attribute: attrs.Attribute, value: float) -> None:
    if not 0.0 <= value <= 2.0:
        raise ValueError("must be between 0 and 2")


MultilineMode = Literal["auto", "always", "never"]


@attrs.define
class CompletionSettings:
    """Inline completion (ghost text) and the ``textDocument/completion`` fallback."""

    enable: bool = True
    """Offer completions at all."""
    endpoint: str = attrs.field(default="", validator=_empty_or_http_url)
    """Model server for completions (a small, fast model); empty means the top-level ``endpoint``."""
    model: str = ""
    """Model id for completions; empty means the top-level ``model``."""
    context_length: int = attrs.field(default=0, validator=_non_negative)
    """Tokens the completion model accepts (prompt and answer); 0 learns it from the server,
    or from its answer when a prompt is too long."""
    debounce_ms: int = attrs.field(default=75, validator=_non_negative)
    """Wait this long after a keystroke before asking the model; a newer keystroke restarts the wait."""
    max_tokens: int = attrs.field(default=128, validator=_positive)
    """Longest completion, in tokens."""
    temperature: float = attrs.field(default=0.2, validator=_temperature)
    """Sampling temperature for completions; low keeps ghost text predictable."""
    multiline: MultilineMode = "auto"
    """``auto`` decides from the syntax at the cursor; ``always`` or ``never`` force it."""
    max_lines: int = attrs.field(default=16, validator=_positive)
    """Longest multi-line completion, in lines."""
    fallback: bool = True
    """Answer ``textDocument/completion`` for editors without inline completion."""
    context_budget: int = attrs.field(default=2048, validator=_non_negative)
    """Tokens of repository context added to the prompt (0 disables it)."""
    prefix_tokens: int = attrs.field(default=3000, validator=_positive)
    """Most tokens of the current file before the cursor put in the prompt."""
    suffix_tokens: int = attrs.field(default=1000, validator=_non_negative)
    """Most tokens of the current file after the cursor put in the prompt."""
    adaptive_debounce: bool = True
    """Stretch the debounce to the user's own typing rhythm (up to 350 ms), so that a pause
    in typing, not a slow keystroke, is what asks the model."""
    cache_size: int = attrs.field(default=256, validator=_non_negative)
    """How many recent completions are kept for reuse."""


@attrs.define
class ActionSettings:
    """Code actions (refactor, fix, debug, explain)."""

    endpoint: str = attrs.field(default="", validator=_empty_or_http_url)
    """Model server for code actions (a large model); empty means the top-level ``endpoint``."""
    model: str = ""
    """Model id for code actions; empty means the top-level ``model``."""
    context_length: int = attrs.field(default=0, validator=_non_negative)
    """Tokens the actions model accepts; 0 learns it from the server."""
    reasoning: bool = True
    """Let the model think (``<think>``) for debug and free-form refactors; quick actions never do."""
    max_steps: int = attrs.field(default=6, validator=_positive)
    """Most model turns in one action (each read-only tool call costs a turn)."""
    max_tokens: int = attrs.field(default=4096, validator=_positive)
    """Most tokens the model may write in one turn."""
    temperature: float = attrs.field(default=0.6, validator=_temperature)
    """Sampling temperature for actions (Hermes 4's recommendation)."""
    context_budget: int = attrs.field(default=6000, validator=_non_negative)
    """Tokens of repository context given with an action."""


@attrs.define
class IndexSettings:
    """The workspace index used for context."""

    enable: bool = True
    """Index the workspace (otherwise only open documents are used)."""
    max_file_kb: int = attrs.field(default=1024, validator=_positive)
    """Files larger than this are skipped."""
    exclude: list[str] = attrs.Factory(list)
    """Extra gitignore-style patterns to leave out, on top of .gitignore and .hermesignore."""


@attrs.define
class LimitSettings:
    """Bounds on everything whose size the user, the workspace or the model decides.

    Each limit keeps one large input from stalling the server or flooding the model; what
    is cut is cut visibly (a note in the prompt, the log, or a message), never silently.
    """

    max_document_kb: int = attrs.field(default=2048, validator=_positive)
    """Open documents larger than this are kept as plain text: no syntax tree, no tags, no
    snippets from them; completions still see the lines around the cursor."""
    max_answer_chars: int = attrs.field(default=65536, validator=_positive)
    """Most characters read from one model answer (a completion or one action turn); the
    stream is closed when it is reached."""
    completion_deadline_ms: int = attrs.field(default=10000, validator=_positive)
    """A completion still streaming after this long is abandoned: by then the user has moved on."""
    action_deadline_ms: int = attrs.field(default=300000, validator=_positive)
    """Longest time one code action may run, all model turns together."""
    max_tool_result_chars: int = attrs.field(default=32000, validator=_positive)
    """Most characters one read-only tool result sends back to the model."""


@attrs.define
class Settings:
    """The whole ``hermes`` settings section."""

    endpoint: str = attrs.field(factory=_env_endpoint, validator=_http_url)
    """Base URL of the OpenAI-compatible model server, ending in ``/v1``."""
    model: str = attrs.field(factory=lambda: _env("HERMES_LSP_MODEL"))
    """Model id; empty means the first model the server lists."""
    api_key: str = attrs.field(factory=lambda: _env("HERMES_LSP_API_KEY"), repr=False)
    """Bearer token for the model server (never logged)."""
    connect_timeout_ms: int = attrs.field(default=2000, validator=_positive)
    """How long to wait for a connection to the model server."""
    read_timeout_ms: int = attrs.field(default=30000, validator=_positive)
    """How long to wait for the next bytes of an answer."""
    retries: int = attrs.field(default=2, validator=_non_negative)
    """Retries after a connection error (never after the server answered)."""
    completion: CompletionSettings = attrs.Factory(CompletionSettings)
    """Inline completion settings."""
    actions: ActionSettings = attrs.Factory(ActionSettings)
    """Code action settings."""
    index: IndexSettings = attrs.Factory(IndexSettings)
    """Workspace index settings."""
    limits: LimitSettings = attrs.Factory(LimitSettings)
    """Size and time limits."""


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def merge_settings(
    raw: Mapping[str, Any] | None, base: Settings | None = None, prefix: str = "hermes"
) -> tuple[Settings, list[str]]:
    """Apply a (partial) camelCase settings mapping on top of ``base``.

    Returns the new settings and one message per rejected value. Unknown keys are
    reported too: a misspelt key silently ignored is a setting the user thinks they have.
    """
    base = base if base is not None else Settings()
    return _merge(type(base), raw or {}, base, prefix)


def _merge(cls: type, raw: Mapping[str, Any], base: Any, prefix: str) -> tuple[Any, list[str]]:
    if not isinstance(raw, Mapping):
        return base, [f"{prefix}: expected an object, got {_describe(raw)}; ignoring it"]
    errors: list[str] = []
    changes: dict[str, Any] = {}
    fields = {_camel(f.name): f for f in attrs.fields(cls)}
    for key, value in raw.items():
        field = fields.get(key)
        name = f"{prefix}.{key}"
        if field is None:
            errors.append(f"{name}: unknown setting; ignoring it")
            continue
        current = getattr(base, field.name)
        if attrs.has(field.type if isinstance(field.type, type) else type(current)):
            merged, sub_errors = _merge(type(current), value, current, name)
            changes[field.name] = merged
            errors.extend(sub_errors)
            continue
        try:
            converted = _convert(value, field, current)
            if field.validator is not None:
                field.validator(base, field, converted)
        except (ValueError, TypeError) as exc:
            if field.repr is False:  # a secret: never repeat it, even when it is unusable
                errors.append(f"{name}: {exc}; ignoring it")
            else:
                errors.append(f"{name}: {exc} (got {_describe(value)}); using {_describe(current)}")
            continue
        changes[field.name] = converted
    return attrs.evolve(base, **changes), errors


def _convert(value: Any, field: attrs.Attribute, current: Any) -> Any:
    target = type(current)
    if field.type in ("MultilineMode", MultilineMode):
        choices = get_args(MultilineMode)
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value
    if target is bool:
        if not isinstance(value, bool):
            raise TypeError("expected true or false")
        return value
    if target is int:
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            raise TypeError("expected a whole number")
        return int(value)
    if target is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError("expected a number")
        return float(value)
    if target is str:
        if not isinstance(value, str):
            raise TypeError("expected a string")
        return value
    if target is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise TypeError("expected a list of strings")
        return list(value)
    return _converter().structure(value, target)


def settings_to_json(settings: Settings) -> dict[str, Any]:
    """The settings as the camelCase JSON an editor would send, without the API key."""

    def camel(obj: Any) -> Any:
        if isinstance(obj, dict):
            return {_camel(k): camel(v) for k, v in obj.items() if k != "api_key"}
        return obj

    return camel(attrs.asdict(settings))

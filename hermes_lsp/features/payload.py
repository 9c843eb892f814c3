"""What a listed code action carries until it runs: the ``data`` of a code action and the
argument of ``hermes.runAction``.

The editor keeps this object and sends it back untouched, possibly much later or from an
older server version, so reading it never raises: anything that is not a payload this
server wrote (missing or unknown fields, wrong types) reads as None, and the user is told
that the action is no longer valid.
"""

from __future__ import annotations

from typing import Any

import attrs
import cattrs

_converter = cattrs.Converter(forbid_extra_keys=True)


def _exactly(kind: type) -> Any:
    # cattrs would turn "no" into True and "3" into 3: a payload we wrote has the real types.
    def structure(value: Any, _: type) -> Any:
        if type(value) is not kind:
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    return structure


for _kind in (bool, int, str):
    _converter.register_structure_hook(_kind, _exactly(_kind))


@attrs.frozen
class ActionPayload:
    """One action at one place, before any model call."""

    action: str
    """The id of the action's spec (``fix``, ``simplify``…)."""
    uri: str
    version: int | None = None
    """The document version the action was offered for (None: any)."""
    start: int = 1
    """First line of the target, 1-based."""
    end: int = 1
    """Last line of the target, 1-based and inclusive."""
    selection: bool = False
    """The target is the user's selection (rather than the definition around the cursor)."""
    diagnostic: str | None = None
    """The diagnostic to fix, as the model reads it."""
    diagnostic_line: int | None = None
    instruction: str | None = None
    """A free-form instruction (``hermes.refactor``) that replaces the spec's task."""
    summary: str | None = None
    """Where the model's summary of a resolved edit waits for ``hermes.showSummary``, the
    command editors run once they have applied the edit."""


def to_data(payload: ActionPayload) -> dict[str, Any]:
    """The payload as JSON-ready data for the editor (fields left at None are omitted)."""
    data: dict[str, Any] = _converter.unstructure(payload)
    return {key: value for key, value in data.items() if value is not None}


def from_data(data: Any) -> ActionPayload | None:
    """The payload in ``data``, or None when it is not one this server wrote."""
    if not isinstance(data, dict):
        return None
    try:
        payload = _converter.structure(data, ActionPayload)
    except (cattrs.BaseValidationError, TypeError, ValueError):
        return None
    return payload if payload.start >= 1 and payload.end >= payload.start else None

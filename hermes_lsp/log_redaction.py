"""Keeping API keys out of the logs.

pygls logs whole LSP messages at debug level (``initializationOptions`` and
``workspace/configuration`` answers included), httpx may log request headers, and an
exception message can quote a setting. Rather than trust every source to leave keys out,
:class:`RedactingFilter` sits on the log handlers and rewrites each record on its way out:
every key value the server has ever been given is replaced, and so is anything that looks
like one (an ``apiKey``/``api_key`` field, an ``Authorization`` header, a bearer token).
"""

from __future__ import annotations

import logging
import re
import threading

MARKER = "[redacted]"
MIN_SECRET_LENGTH = 4
"""Shorter values are not replaced by value (they would blank out ordinary words); the
field patterns still hide them where they appear as a key."""

# ``"apiKey": "v"``, ``'api_key': 'v'``, ``api-key=v``, ``"Authorization": "Bearer v"``:
# the name, the separator and the quotes are kept, the value goes.
_FIELD = re.compile(
    r"""(?P<head>["']?(?:api[_-]?key|x-api-key|authorization)["']?\s*[:=]\s*)"""
    r"""(?:(?P<quote>["'])(?:\\.|(?!(?P=quote)).)*(?P=quote)|(?:bearer\s+)?[^\s,;}\]'"]+)""",
    re.IGNORECASE,
)
# A bearer token anywhere (a header printed on its own line, in a tuple, in a traceback).
_BEARER = re.compile(r"(?P<head>\bbearer\s+)(?P<value>[A-Za-z0-9._~+/=-]+)", re.IGNORECASE)


class SecretRegistry:
    """The key values the server has been given, for replacement wherever they appear."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def remember(self, value: object) -> None:
        """Add a key value (settings, environment); empty and very short values are ignored."""
        if not isinstance(value, str) or len(value.strip()) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            if value in self._secrets:
                return
            self._secrets.add(value)
            # Longest first, so a key that contains another is replaced whole.
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def redact(self, text: str) -> str:
        """``text`` with every known key and key-looking field replaced by :data:`MARKER`."""
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(MARKER, text)
        text = _FIELD.sub(_hide_field, text)
        return _BEARER.sub(lambda m: m.group("head") + MARKER, text)


def _hide_field(match: re.Match[str]) -> str:
    quote = match.group("quote") or ""
    return match.group("head") + quote + MARKER + quote


SECRETS = SecretRegistry()
"""The process's registry: logging is process-wide, and so is what it must not show."""


def remember_secret(value: object) -> None:
    SECRETS.remember(value)


def redact(text: str) -> str:
    return SECRETS.redact(text)


class RedactingFilter(logging.Filter):
    """A handler filter that rewrites each record's message, traceback and stack."""

    def __init__(self, registry: SecretRegistry = SECRETS) -> None:
        super().__init__()
        self.registry = registry

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: show it raw rather than lose the line
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = self.registry.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.registry.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.registry.redact(record.stack_info)
        return True

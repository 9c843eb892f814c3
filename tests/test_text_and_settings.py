"""Positions and encodings; settings merging and validation."""

from __future__ import annotations

import pytest

from hermes_lsp.config import Settings, merge_settings, settings_to_json
from hermes_lsp.text import code_units, offset_at, position_at

TEXT = 'a = "😀漢"\r\nsecond line\nlast'


@pytest.mark.parametrize(
    ("encoding", "character", "expected_offset"),
    [("utf-16", 7, 6), ("utf-8", 9, 6), ("utf-32", 6, 6)],
)
def test_offset_at_counts_code_units_of_the_encoding(encoding: str, character: int, expected_offset: int):
    # 'a = "' is 5 code points; the emoji is 1 code point, 2 UTF-16 units, 4 UTF-8 bytes.
    located = offset_at(TEXT, 0, character, encoding)
    assert located.offset == expected_offset and not located.clamped


def test_position_inside_a_surrogate_pair_snaps_back():
    located = offset_at(TEXT, 0, 6, "utf-16")
    assert located.offset == 5 and located.clamped


def test_positions_round_trip_through_every_encoding():
    for encoding in ("utf-8", "utf-16", "utf-32"):
        for offset in range(len(TEXT) + 1):
            if TEXT[offset - 1 : offset + 1] == "\r\n":
                continue  # between \r and \n is not a position
            line, character = position_at(TEXT, offset, encoding)
            assert offset_at(TEXT, line, character, encoding).offset == offset


def test_positions_past_the_end_are_clamped_and_flagged():
    end_of_first = offset_at(TEXT, 0, 500)
    assert end_of_first.clamped and TEXT[end_of_first.offset : end_of_first.offset + 2] == "\r\n"
    past_last_line = offset_at(TEXT, 99, 0)
    assert past_last_line.clamped and past_last_line.offset == len(TEXT)
    assert offset_at(TEXT, -1, 0).clamped


def test_code_units():
    assert (
        code_units("😀", "utf-16") == 2 and code_units("😀", "utf-8") == 4 and code_units("😀", "utf-32") == 1
    )


def test_environment_supplies_defaults(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HERMES_LSP_ENDPOINT", "http://gpu-box:9000/v1")
    monkeypatch.setenv("HERMES_LSP_MODEL", "hermes-4-70b")
    monkeypatch.setenv("HERMES_LSP_API_KEY", "sk-secret")
    settings = Settings()
    assert (settings.endpoint, settings.model, settings.api_key) == (
        "http://gpu-box:9000/v1",
        "hermes-4-70b",
        "sk-secret",
    )
    assert "sk-secret" not in repr(settings)
    assert "sk-secret" not in str(settings_to_json(settings))


def test_partial_settings_merge_and_bad_values_keep_defaults():
    settings, errors = merge_settings(
        {
            "model": "hermes-4-14b",
            "completion": {"debounceMs": -5, "maxLines": 4, "multiline": "sometimes"},
            "actions": "not an object",
            "typo": 1,
        }
    )
    assert settings.model == "hermes-4-14b" and settings.completion.max_lines == 4
    assert settings.completion.debounce_ms == 75 and settings.completion.multiline == "auto"
    assert len(errors) == 4
    assert any(e.startswith("hermes.completion.debounceMs: must not be negative") for e in errors)
    assert any(e.startswith("hermes.completion.multiline: must be one of") for e in errors)
    assert any(e.startswith("hermes.actions: expected an object") for e in errors)
    assert any(e.startswith("hermes.typo: unknown setting") for e in errors)


def test_merge_is_on_top_of_current_values():
    first, _ = merge_settings({"completion": {"maxTokens": 64}})
    second, errors = merge_settings({"completion": {"temperature": 0.1}}, first)
    assert not errors
    assert second.completion.max_tokens == 64 and second.completion.temperature == 0.1


def test_settings_json_uses_camel_case_keys():
    data = settings_to_json(Settings())
    assert data["completion"]["debounceMs"] == 75 and "apiKey" not in data

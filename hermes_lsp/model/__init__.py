"""Talking to OpenAI-compatible model servers, in the Hermes 4 format."""
